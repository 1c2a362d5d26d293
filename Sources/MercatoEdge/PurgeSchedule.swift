/// The edge purges still to send: retries of sends that failed, and second sends of purges that went out.
/// Pure state with time passed in, so each rule is tested without waiting.
///
/// - At most one retry per node: a new failure joins the pending one, keeping its earlier due time and
///   the smaller attempt number (new keys get their full attempts).
/// - Second sends due within `coalescing` of each other go out as one.
/// - At most `limit` keys wait; beyond it, second sends go first (they are insurance), then the retries
///   with the most attempts. Dropped keys are returned for counting: their objects expire with their TTL.
public struct PurgeSchedule: Sendable {
    public typealias Instant = ContinuousClock.Instant

    /// One send of a purge to one node.
    public struct Send: Sendable, Equatable {
        public var node: Int
        public var purge: Purge
        /// 1 for a first send (a second send starts again at 1), 2 and up for retries.
        public var attempt: Int
    }

    struct Retry: Equatable {
        var purge: Purge
        var attempt: Int
        var due: Instant
    }

    struct Repeat: Equatable {
        var purge: Purge
        var due: Instant
    }

    let options: EdgePurgeOptions
    let coalescing: Duration
    private(set) var retries: [Int: Retry] = [:]
    private(set) var repeats: [Repeat] = []

    public init(options: EdgePurgeOptions, coalescing: Duration = .milliseconds(50)) {
        self.options = options
        self.coalescing = coalescing
    }

    /// Keys waiting, over every node and second send.
    public var pendingKeys: Int {
        retries.values.reduce(0) { $0 + $1.purge.keyCount } + repeats.reduce(0) { $0 + $1.purge.keyCount }
    }

    /// When the next send is due (nil: nothing waits).
    public var nextDue: Instant? {
        (retries.values.map(\.due) + repeats.map(\.due)).min()
    }

    /// Sending `purge` to `node` failed on `attempt`: the next attempt is scheduled after its backoff, or
    /// the keys are given up when the attempts are spent. Returns the number of keys dropped.
    public mutating func failed(node: Int, purge: Purge, attempt: Int, now: Instant) -> Int {
        let next = attempt + 1
        guard next <= options.maxAttempts else { return purge.keyCount }
        let due = now + options.delay(beforeAttempt: next)
        if let pending = retries[node] {
            retries[node] = Retry(purge: pending.purge.merged(with: purge), attempt: min(pending.attempt, next), due: min(pending.due, due))
        } else {
            retries[node] = Retry(purge: purge, attempt: next, due: due)
        }
        return enforceLimit()
    }

    /// `purge` went out to every node at `now`: schedule its second send (unless the delay is zero).
    /// Returns the number of keys dropped to stay within the limit.
    public mutating func sent(_ purge: Purge, now: Instant) -> Int {
        guard options.repurgeDelay > .zero else { return 0 }
        let due = now + options.repurgeDelay
        // Joining a later-due repeat is safe (a second send may come late, never early).
        if let last = repeats.indices.last, due - repeats[last].due <= coalescing, due >= repeats[last].due {
            repeats[last] = Repeat(purge: repeats[last].purge.merged(with: purge), due: due)
        } else {
            repeats.append(Repeat(purge: purge, due: due))
        }
        return enforceLimit()
    }

    /// Removes and returns what is due at `now`: per node at most one send, its retry merged with every
    /// second send that is due. Second sends go to every one of `nodes` nodes.
    public mutating func takeDue(now: Instant, nodes: Int) -> [Send] {
        let dueRepeats = repeats.filter { $0.due <= now }
        repeats.removeAll { $0.due <= now }
        let repeated = dueRepeats.reduce(Purge()) { $0.merged(with: $1.purge) }
        var sends: [Send] = []
        for node in 0..<nodes {
            var purge = repeated
            var attempt = 1
            if let retry = retries[node], retry.due <= now {
                retries[node] = nil
                purge = purge.merged(with: retry.purge)
                attempt = retry.attempt
            }
            if !purge.isEmpty { sends.append(Send(node: node, purge: purge, attempt: attempt)) }
        }
        return sends
    }

    private mutating func enforceLimit() -> Int {
        var dropped = 0
        while pendingKeys > options.queueLimit {
            if !repeats.isEmpty {
                dropped += repeats.removeFirst().purge.keyCount
            } else if let (node, retry) = retries.max(by: { ($0.value.attempt, $1.key) < ($1.value.attempt, $0.key) }) {
                retries[node] = nil
                dropped += retry.purge.keyCount
            } else {
                break
            }
        }
        return dropped
    }
}
