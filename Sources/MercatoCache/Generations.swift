import Synchronization

/// Per-namespace generation counters (a namespace is one merchant's catalog).
///
/// Why generations: every cache key embeds the generation read *before* its value was loaded.
/// An invalidation bumps the generation, so a value loaded before it can only be stored under the
/// old key, which no request builds any more: a slow fill can never resurrect stale data, and no
/// tier needs to enumerate the keys it holds for a merchant.
public final class GenerationMap: Sendable {
    private let counters = Mutex<[String: UInt64]>([:])
    private let bumpCount = Atomic<UInt64>(0)
    /// What the bumps that described their moves moved (see `ChangeLog`).
    public let changes = ChangeLog()

    public init() {}

    public func current(_ namespace: String) -> UInt64 {
        counters.withLock { $0[namespace] ?? 0 }
    }

    public func current(_ namespaces: [String]) -> [UInt64] {
        counters.withLock { counters in namespaces.map { counters[$0] ?? 0 } }
    }

    /// Moves the namespace to a new generation; returns it.
    @discardableResult
    public func bump(_ namespace: String) -> UInt64 {
        let next = counters.withLock { counters in
            let next = (counters[namespace] ?? 0) &+ 1
            counters[namespace] = next
            return next
        }
        bumpCount.add(1, ordering: .releasing)
        return next
    }

    /// How many bumps there have been (in any namespace).
    public var bumps: UInt64 { bumpCount.load(ordering: .acquiring) }
}
