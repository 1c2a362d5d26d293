import MercatoCore
import MercatoJSON
import NIOCore
import Synchronization

/// A place in cached response bytes that is filled from `LiveAvailability` when the response is served.
public enum LiveHole: Sendable, Hashable {
    /// A listing item's `in_stock`.
    case inStock(ProductID)
    /// A listing item's `price` object, in the template's currency.
    case price(ProductID)
    /// A detail's `in_stock`: whether one of its variants is in stock.
    case detailInStock
    /// A detail variant's `stock`.
    case stock(VariantID)
}

/// Response bytes with holes for the facts that change with every sale (stock, `in_stock`) and the
/// listing prices, so the bytes stay cached while those facts are pushed to each instance.
///
/// `segments.count == holes.count + 1`; the response is `segments[0] hole[0] segments[1] … segments[n]`.
/// Each hole also keeps the value it had when the template was rendered, used only when the live fact
/// cannot be had at all.
public struct LiveTemplate: Sendable {
    public var segments: [ByteBuffer]
    public var holes: [LiveHole]
    /// The value each hole had at render time (amount, stock, or 0/1).
    public var rendered: [Int64]
    /// Currency code of price holes.
    public var currency: String
    /// Products whose listing facts the holes need, in order of first appearance (computed once: read
    /// on every request).
    public let listedProducts: [ProductID]

    public init(segments: [ByteBuffer], holes: [LiveHole], rendered: [Int64], currency: String) {
        self.segments = segments
        self.holes = holes
        self.rendered = rendered
        self.currency = currency
        var seen = Set<ProductID>()
        var listed: [ProductID] = []
        for hole in holes {
            if case .inStock(let id) = hole, seen.insert(id).inserted { listed.append(id) }
            if case .price(let id) = hole, seen.insert(id).inserted { listed.append(id) }
        }
        listedProducts = listed
    }

    public var byteCount: Int { segments.reduce(0) { $0 + $1.readableBytes } + holes.count * 24 }

    /// Variants whose stock the holes need.
    public var stockedVariants: [VariantID] {
        holes.compactMap { if case .stock(let id) = $0 { id } else { nil } }
    }

    /// The response with every hole filled by `value` (nil: the rendered value).
    public func fill(_ value: (Int, LiveHole) -> Int64?) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: byteCount)
        for (index, hole) in holes.enumerated() {
            var segment = segments[index]
            buffer.writeBuffer(&segment)
            let filled = value(index, hole) ?? rendered[index]
            switch hole {
            case .inStock, .detailInStock:
                buffer.writeStaticString(filled != 0 ? "true" : "false")
            case .stock:
                buffer.writeString(String(filled))
            case .price:
                buffer.writeStaticString("{\"currency\":\"")
                buffer.writeString(currency)
                buffer.writeStaticString("\",\"amount\":")
                buffer.writeString(String(filled))
                buffer.writeStaticString("}")
            }
        }
        var last = segments[holes.count]
        buffer.writeBuffer(&last)
        return buffer
    }
}

/// The last fill of one cached template, reused while neither the live facts nor any generation has moved
/// since (both sources count their changes): a hot page is then served without any lookup.
public final class FillMemo: Sendable {
    struct Fill {
        var live: UInt64
        var generations: UInt64
        var merchantGeneration: String
        var body: ByteBuffer
        var etag: String
    }

    private let last = Mutex<Fill?>(nil)

    public init() {}

    /// The remembered fill, if it was made at exactly these revisions.
    func fill(live: UInt64, generations: UInt64, merchantGeneration: String) -> (body: ByteBuffer, etag: String)? {
        last.withLock { last in
            guard let fill = last, fill.live == live, fill.generations == generations, fill.merchantGeneration == merchantGeneration else { return nil }
            return (fill.body, fill.etag)
        }
    }

    /// Remembers a fill made from what was held at these revisions (read before the fill began).
    func remember(live: UInt64, generations: UInt64, merchantGeneration: String, body: ByteBuffer, etag: String) {
        last.withLock { $0 = Fill(live: live, generations: generations, merchantGeneration: merchantGeneration, body: body, etag: etag) }
    }
}

/// Writes JSON into a `LiveTemplate`: like `JSONWriter`, plus holes.
struct TemplateWriter {
    var json: JSONWriter
    private var segments: [ByteBuffer] = []
    private var holes: [LiveHole] = []
    private var rendered: [Int64] = []
    private var segmentStart = 0

    init(capacity: Int) { json = JSONWriter(capacity: capacity) }

    /// Ends the current segment at a hole that shows `value` now.
    mutating func hole(_ hole: LiveHole, value: Int64) {
        segments.append(ByteBuffer(bytes: json.bytes[segmentStart...]))
        segmentStart = json.bytes.count
        holes.append(hole)
        rendered.append(value)
    }

    func template(currency: String) -> LiveTemplate {
        LiveTemplate(segments: segments + [ByteBuffer(bytes: json.bytes[segmentStart...])], holes: holes, rendered: rendered, currency: currency)
    }
}
