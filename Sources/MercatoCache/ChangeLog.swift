import Synchronization

/// A write's effect on one sort dimension (e.g. a product's cheapest EUR price): the value it had and
/// the value it has now (nil: none, as when a price in that currency is created or removed).
public struct SortMove: Sendable, Hashable, Codable {
    public var dimension: String
    public var from: Int64?
    public var to: Int64?
    /// The product that moved (lower-case id), when known: a page holding it can then be checked for a
    /// change of order instead of dropped.
    public var product: String?

    public init(dimension: String, from: Int64?, to: Int64?, product: String? = nil) {
        self.dimension = dimension
        self.from = from
        self.to = to
        self.product = product
    }

    /// Whether the move starts or ends inside `[low, high]` (nil bounds are open ends).
    public func touches(low: Int64?, high: Int64?) -> Bool {
        func inside(_ value: Int64?) -> Bool {
            guard let value else { return false }
            return (low.map { value >= $0 } ?? true) && (high.map { value <= $0 } ?? true)
        }
        return inside(from) || inside(to)
    }
}

/// The recent generations of namespaces whose writes describe what they moved, so a cached value can
/// be checked instead of dropped: a price-sorted page stays valid when no price moved into or out of the
/// range it shows.
///
/// Invariant: `moves(of:after:upTo:)` answers only when it holds an entry for every generation in
/// `(after, upTo]`; any gap (a bump that described nothing, a lost message, a forgotten entry) is nil,
/// and the caller must treat the value as invalid.
public final class ChangeLog: Sendable {
    private let entries = Mutex<[String: [(generation: UInt64, moves: [SortMove])]]>([:])
    /// Generations kept per namespace.
    let depth: Int

    public init(depth: Int = 256) { self.depth = depth }

    public func record(_ namespace: String, generation: UInt64, moves: [SortMove]) {
        entries.withLock { entries in
            var list = entries[namespace] ?? []
            list.append((generation, moves))
            if list.count > depth { list.removeFirst(list.count - depth) }
            entries[namespace] = list
        }
    }

    /// Every move in generations `after + 1 … upTo`, or nil when one of them is not held.
    public func moves(of namespace: String, after: UInt64, upTo: UInt64) -> [SortMove]? {
        guard upTo > after else { return upTo == after ? [] : nil }
        return entries.withLock { entries -> [SortMove]? in
            let list = entries[namespace] ?? []
            var byGeneration: [UInt64: [SortMove]] = [:]
            for entry in list where entry.generation > after && entry.generation <= upTo { byGeneration[entry.generation] = entry.moves }
            guard byGeneration.count == Int(upTo - after) else { return nil }
            // In generation order: a product that moved twice is replayed in the order it moved.
            return byGeneration.sorted { $0.key < $1.key }.flatMap(\.value)
        }
    }

    public func removeAll() { entries.withLock { $0.removeAll() } }
}
