import Synchronization

/// A PostgreSQL WAL position (`16/B374D848`), ordered.
public struct WALPosition: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64

    public init(value: UInt64) { self.value = value }

    /// Parses PostgreSQL's `pg_lsn` text form.
    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16), high <= 0xFFFF_FFFF, low <= 0xFFFF_FFFF
        else { return nil }
        value = high << 32 | low
    }

    public static let zero = WALPosition(value: 0)
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
    public var description: String { String(value >> 32, radix: 16, uppercase: true) + "/" + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true) }
}

/// Read-your-writes for replica reads: the primary's WAL position after each merchant's latest write
/// (this instance's own writes, and other instances' through their invalidation events). A read for a
/// merchant may use a replica only if that replica has replayed the merchant's fence.
public final class WriteFences: Sendable {
    private let state = Mutex<(byMerchant: [String: WALPosition], floor: WALPosition)>(([:], .zero))
    /// Reads the primary's current position (for `raiseToCurrent`); nil: never known.
    private let currentPosition: (@Sendable () async -> WALPosition?)?

    /// Fences over a primary whose current position `currentPosition` reads.
    public init(currentPosition: (@Sendable () async -> WALPosition?)? = nil) {
        self.currentPosition = currentPosition
    }

    /// Records a write of `merchant` that committed at or before `position`.
    public func record(merchant: String, at position: WALPosition) {
        state.withLock { state in
            if position > state.byMerchant[merchant, default: .zero] { state.byMerchant[merchant] = position }
        }
    }

    /// Raises the fence of every merchant (after invalidation messages may have been lost).
    public func raiseAll(to position: WALPosition) {
        state.withLock { state in state.floor = max(state.floor, position) }
    }

    /// Raises every fence to the primary's current position; until that is known, to "never".
    public func raiseToCurrent() async {
        raiseAll(to: WALPosition(value: .max))
        guard let currentPosition, let position = await currentPosition() else { return }
        // Replaces the "never" floor by the real position now that it is known.
        state.withLock { $0.floor = position }
    }

    /// The position a replica must have replayed to serve `merchant`.
    public func fence(for merchant: String) -> WALPosition {
        state.withLock { max($0.floor, $0.byMerchant[merchant, default: .zero]) }
    }

    /// The merchant an invalidation namespace belongs to (`slug`, `slug#product:…`, `slug#listings`).
    public static func merchant(ofNamespace namespace: String) -> String {
        namespace.split(separator: "#", maxSplits: 1).first.map(String.init) ?? namespace
    }
}

/// Where a read may run (task local): nil means the primary only; a position means any replica that
/// has replayed it (the storefront read path sets it from `WriteFences`).
public enum ReadRouting {
    @TaskLocal public static var replicaFence: WALPosition?
    /// A client's own token (`X-Mercato-Read-After` from an earlier write's response): reads must be at least that fresh.
    @TaskLocal public static var clientFence: WALPosition?
}

/// Collects the fence of the writes a request made (task local), for its `X-Mercato-Read-After` header.
public final class FenceReport: Sendable {
    private let position = Mutex<WALPosition?>(nil)

    public init() {}

    @TaskLocal public static var current: FenceReport?

    public func note(_ value: WALPosition) {
        position.withLock { $0 = max($0 ?? .zero, value) }
    }

    public var value: WALPosition? { position.withLock { $0 } }
}
