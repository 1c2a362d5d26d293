import Synchronization

/// Why a lookup had to load.
public enum MissCause: String, Sendable, CaseIterable {
    /// The first fill of that response on this instance.
    case cold
    /// An earlier fill of the same response existed under older generations: a write invalidated it.
    case invalidated
    /// It was filled under these very generations and is gone: evicted for space, or expired.
    case evicted
}

/// Tells the causes of misses apart. A response's *family* is its key without the generations (same
/// request, any version); the ledger remembers the last key filled per family.
///
/// Bounded: past `limit` families it starts over, and misses of forgotten families count as cold
/// (so the invalidated and evicted counts are never overstated).
final class MissLedger: Sendable {
    private let filled = Mutex<[String: String]>([:])
    let limit: Int

    init(limit: Int = 200_000) { self.limit = limit }

    func cause(family: String, key: String) -> MissCause {
        guard let last = filled.withLock({ $0[family] }) else { return .cold }
        return last == key ? .evicted : .invalidated
    }

    /// Records `key` as the family's latest fill; returns the key it replaces, if another.
    @discardableResult
    func record(family: String, key: String) -> String? {
        filled.withLock { filled in
            if filled.count >= limit, filled[family] == nil { filled.removeAll(keepingCapacity: true) }
            let previous = filled.updateValue(key, forKey: family)
            return previous == key ? nil : previous
        }
    }
}
