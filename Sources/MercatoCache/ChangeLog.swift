import Synchronization

/// A write's effect on one sort dimension (e.g. a product's cheapest EUR price): the value it had and
/// the value it has now (nil: none, as when a price in that currency is created or removed).
public struct SortMove: Sendable, Hashable, Codable {
    public var dimension: String
    public var from: Int64?
    public var to: Int64?

    public init(dimension: String, from: Int64?, to: Int64?) {
        self.dimension = dimension
        self.from = from
        self.to = to
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
            return byGeneration.values.flatMap { $0 }
        }
    }

    public func removeAll() { entries.withLock { $0.removeAll() } }
}
