import MercatoCore
import MercatoFences

/// The primary's WAL position over the last seconds, to tell how long ago a replica's replay position was
/// the primary's: a replica that has not replayed what the primary wrote at time t is at least now − t behind.
struct WALHistory: Sendable {
    private(set) var head: WALPosition = .zero
    /// Ascending in time and position; only advances are recorded.
    private var samples: [(at: ContinuousClock.Instant, position: WALPosition)] = []
    /// How far back to remember: lags longer than this are reported as at least this long.
    let span: Duration

    init(span: Duration) {
        self.span = span
    }

    /// Notes that the primary was at `position` at `now`.
    mutating func record(_ position: WALPosition, at now: ContinuousClock.Instant) {
        guard position > head else { return }
        head = position
        samples.append((now, position))
        // Keep one sample older than the span: if the first sample past a replica's position is dropped,
        // that one is past it too and already reports a lag of at least `span`.
        while samples.count > 1, samples[1].at <= now - span || samples.count > 4096 { samples.removeFirst() }
    }

    /// How long ago the primary first passed `replayed`: zero for a replica at the head.
    func lag(of replayed: WALPosition, at now: ContinuousClock.Instant) -> Duration {
        guard replayed < head, let first = samples.first(where: { $0.position > replayed }) else { return .zero }
        return now - first.at
    }

    /// Bytes of WAL between `replayed` and the head.
    func lagBytes(of replayed: WALPosition) -> UInt64 {
        head.value &- min(head.value, replayed.value)
    }
}
