import MercatoCache
import MercatoCore
import Foundation
import NIOCore

extension CatalogResponse {
    /// Binary form for the Redis tier: a small header (ETag, flags, surrogate keys), then the body bytes.
    public static let codec = ValueCodec<CatalogResponse>(
        encode: { response in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(response.body.readableBytes + 128)
            buffer.writeInteger(UInt8(4))  // format version (2: live templates; 3: sorted pages hold their items; 4: listing members)
            buffer.writeInteger(UInt16(response.etag.utf8.count))
            buffer.writeString(response.etag)
            let kind = response.categoryKind.map { CategoryKind.allCases.firstIndex(of: $0)! + 1 } ?? 0
            buffer.writeInteger(UInt8(kind))
            buffer.writeInteger(UInt8(response.personalised ? 1 : 0))
            buffer.writeInteger(UInt16(response.surrogateKeys.count))
            for key in response.surrogateKeys {
                buffer.writeInteger(UInt16(key.utf8.count))
                buffer.writeString(key)
            }
            if let template = response.template {
                buffer.writeInteger(UInt8(1))
                buffer.writeInteger(UInt16(template.currency.utf8.count))
                buffer.writeString(template.currency)
                buffer.writeInteger(UInt32(template.holes.count))
                for (hole, value) in zip(template.holes, template.rendered) {
                    switch hole {
                    case .inStock(let id): buffer.writeInteger(UInt8(1)); buffer.writeIdentifierBytes(id.uuid)
                    case .price(let id): buffer.writeInteger(UInt8(2)); buffer.writeIdentifierBytes(id.uuid)
                    case .detailInStock: buffer.writeInteger(UInt8(3))
                    case .stock(let id): buffer.writeInteger(UInt8(4)); buffer.writeIdentifierBytes(id.uuid)
                    }
                    buffer.writeInteger(value)
                }
                for segment in template.segments {
                    var segment = segment
                    buffer.writeInteger(UInt32(segment.readableBytes))
                    buffer.writeBuffer(&segment)
                }
            } else {
                buffer.writeInteger(UInt8(0))
            }
            buffer.writeOrderStamp(response.order)
            buffer.writeOrderStamp(response.members)
            var body = response.body
            buffer.writeBuffer(&body)
            return buffer
        },
        decode: { bytes in
            var buffer = bytes
            guard buffer.readInteger(as: UInt8.self) == 4,
                  let etagLength = buffer.readInteger(as: UInt16.self), let etag = buffer.readString(length: Int(etagLength)),
                  let kind = buffer.readInteger(as: UInt8.self), let personalised = buffer.readInteger(as: UInt8.self),
                  let keyCount = buffer.readInteger(as: UInt16.self)
            else { return nil }
            var keys: [String] = []
            for _ in 0..<keyCount {
                guard let length = buffer.readInteger(as: UInt16.self), let key = buffer.readString(length: Int(length)) else { return nil }
                keys.append(key)
            }
            var template: LiveTemplate?
            guard let hasTemplate = buffer.readInteger(as: UInt8.self) else { return nil }
            if hasTemplate == 1 {
                guard let currencyLength = buffer.readInteger(as: UInt16.self), let currency = buffer.readString(length: Int(currencyLength)),
                      let holeCount = buffer.readInteger(as: UInt32.self), holeCount < 100_000
                else { return nil }
                var holes: [LiveHole] = []
                var rendered: [Int64] = []
                for _ in 0..<holeCount {
                    guard let tag = buffer.readInteger(as: UInt8.self) else { return nil }
                    let hole: LiveHole
                    switch tag {
                    case 1: guard let uuid = buffer.readIdentifierBytes() else { return nil }; hole = .inStock(ProductID(uuid))
                    case 2: guard let uuid = buffer.readIdentifierBytes() else { return nil }; hole = .price(ProductID(uuid))
                    case 3: hole = .detailInStock
                    case 4: guard let uuid = buffer.readIdentifierBytes() else { return nil }; hole = .stock(VariantID(uuid))
                    default: return nil
                    }
                    guard let value = buffer.readInteger(as: Int64.self) else { return nil }
                    holes.append(hole)
                    rendered.append(value)
                }
                var segments: [ByteBuffer] = []
                for _ in 0...holeCount {
                    guard let length = buffer.readInteger(as: UInt32.self), let segment = buffer.readSlice(length: Int(length)) else { return nil }
                    segments.append(segment)
                }
                template = LiveTemplate(segments: segments, holes: holes, rendered: rendered, currency: currency)
            }
            var order: CatalogResponse.OrderStamp?, members: CatalogResponse.OrderStamp?
            guard buffer.readOrderStamp(into: &order), buffer.readOrderStamp(into: &members) else { return nil }
            let categoryKind = kind == 0 ? nil : CategoryKind.allCases.indices.contains(Int(kind) - 1) ? CategoryKind.allCases[Int(kind) - 1] : nil
            var response = CatalogResponse(
                body: buffer, etag: etag, categoryKind: categoryKind, personalised: personalised == 1, surrogateKeys: keys, template: template)
            response.order = order
            response.members = members
            return response
        })
}

extension ByteBuffer {
    /// A sorted page and its generation, or a zero flag byte for none.
    fileprivate mutating func writeOrderStamp(_ stamp: CatalogResponse.OrderStamp?) {
        guard let stamp else { writeInteger(UInt8(0)); return }
        let page = stamp.page
        writeInteger(UInt8((page.low == nil ? 0 : 1) | (page.high == nil ? 0 : 2) | 4 | (page.descending ? 8 : 0) | (page.hasNext ? 16 : 0)))
        writeInteger(page.low ?? 0)
        writeInteger(page.high ?? 0)
        writeInteger(UInt16(stamp.generation.utf8.count))
        writeString(stamp.generation)
        writeInteger(UInt16(page.items.count))
        for item in page.items {
            writeInteger(UInt8(item.product.utf8.count))
            writeString(item.product)
            writeInteger(item.key)
        }
    }

    /// Reads what `writeOrderStamp` wrote into `stamp` (nil for none); false when the bytes are malformed.
    fileprivate mutating func readOrderStamp(into stamp: inout CatalogResponse.OrderStamp?) -> Bool {
        guard let flags = readInteger(as: UInt8.self) else { return false }
        guard flags & 4 != 0 else { stamp = nil; return true }
        guard let low = readInteger(as: Int64.self), let high = readInteger(as: Int64.self),
              let length = readInteger(as: UInt16.self), let generation = readString(length: Int(length)),
              let count = readInteger(as: UInt16.self)
        else { return false }
        var items: [SortedPage.Item] = []
        for _ in 0..<count {
            guard let length = readInteger(as: UInt8.self), let product = readString(length: Int(length)), let key = readInteger(as: Int64.self)
            else { return false }
            items.append(SortedPage.Item(product: product, key: key))
        }
        let page = SortedPage(
            low: flags & 1 != 0 ? low : nil, high: flags & 2 != 0 ? high : nil, descending: flags & 8 != 0, items: items, hasNext: flags & 16 != 0)
        stamp = CatalogResponse.OrderStamp(page: page, generation: generation)
        return true
    }

    /// A UUID as its 16 bytes.
    fileprivate mutating func writeIdentifierBytes(_ uuid: UUID) {
        withUnsafeBytes(of: uuid.uuid) { _ = writeBytes($0) }
    }

    fileprivate mutating func readIdentifierBytes() -> UUID? {
        guard let bytes = readBytes(length: 16) else { return nil }
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
