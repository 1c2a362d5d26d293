import MercatoTelemetry
import Metrics
import Logging
import MercatoCore
import ServiceLifecycle
import Synchronization
import MercatoFences

/// One read replica and what the monitor last learned about it.
public final class Replica: Sendable {
    public let database: any DatabaseClient
    public let name: String
    let state = Mutex<State>(State())

    struct State {
        var healthy = false
        var replayed: WALPosition = .zero
        /// How far behind the primary the replica was at the last poll, in time.
        var lag: Duration = .zero
        /// After a wait for a fence expired, reads do not wait for this replica again until then.
        var waitsSuspendedUntil: ContinuousClock.Instant?
    }

    public init(database: any DatabaseClient, name: String) {
        self.database = database
        self.name = name
    }

    public var isHealthy: Bool { state.withLock { $0.healthy } }
    public var replayed: WALPosition { state.withLock { $0.replayed } }
    /// How far behind the primary the replica was at the last poll, in time.
    public var lag: Duration { state.withLock { $0.lag } }
}

/// Where reads went, recorded through swift-metrics (names as `/metrics` exports them, see the README).
struct ReadMetrics: Sendable {
    let primary: Counter
    let replica: Counter
    /// Replica-eligible reads the primary answered (fence not replayed, lag, or no healthy replica).
    let fallbacks: Counter
    /// Replica reads that failed and were retried on the primary.
    let replicaErrors: Counter
    /// Reads that waited for a replica to replay their fence: it did in time, or the wait expired.
    let fenceWaitsReplayed: Counter
    let fenceWaitsExpired: Counter

    init(factory: any MetricsFactory) {
        primary = Counter(label: "mercato_db_reads_total", dimensions: [("target", "primary")], factory: factory)
        replica = Counter(label: "mercato_db_reads_total", dimensions: [("target", "replica")], factory: factory)
        fallbacks = Counter(label: "mercato_db_replica_fallbacks_total", factory: factory)
        replicaErrors = Counter(label: "mercato_db_replica_errors_total", factory: factory)
        fenceWaitsReplayed = Counter(label: "mercato_db_replica_fence_waits_total", dimensions: [("outcome", "replayed")], factory: factory)
        fenceWaitsExpired = Counter(label: "mercato_db_replica_fence_waits_total", dimensions: [("outcome", "expired")], factory: factory)
    }
}

/// How far behind a replica may be and still serve reads, and how long a read after a write waits for one
/// to replay it. The defaults are the documented ones (`MERCATO_REPLICA_*`).
public struct ReplicaLimits: Sendable, Equatable {
    /// Skip a replica more than this far behind the primary in time...
    public var maxLag: Duration
    /// ...or in bytes of WAL.
    public var maxLagBytes: UInt64
    /// Longest a read after a write waits for a replica before using the primary (zero: never wait).
    public var fenceWait: Duration

    public init(maxLag: Duration = .seconds(1), maxLagBytes: UInt64 = 16 << 20, fenceWait: Duration = .milliseconds(20)) {
        self.maxLag = maxLag
        self.maxLagBytes = maxLagBytes
        self.fenceWait = fenceWait
    }
}

/// The primary plus read replicas. Writes, transactions and every read outside a `ReadRouting` scope go
/// to the primary. A read inside one goes to the healthy replica that has replayed the most WAL, if it
/// lags the primary by at most `maxLag` and `maxLagBytes` and has replayed the scope's fence (waiting up to
/// `fenceWait` for it); otherwise, or if the replica fails, to the primary.
public final class ReplicatedDatabase: DatabaseClient, Sendable {
    public let primary: any DatabaseClient
    public let replicas: [Replica]
    let maxLag: Duration
    let maxLagBytes: UInt64
    let fenceWait: Duration
    /// How long reads stop waiting on a replica after a wait for it expired.
    let waitSuspension: Duration
    let history: Mutex<WALHistory>
    let logger: Logger
    let metrics: ReadMetrics

    /// Longest a replica may take to answer the monitor's probe.
    let probeTimeout: Duration
    /// Longest a catalog read may wait for a replica before it is retried on the primary.
    let readTimeout: Duration

    /// Reads are counted by target into `metricsFactory` (the server passes its Prometheus one; by default nothing is kept).
    public init(
        primary: any DatabaseClient, replicas: [Replica], limits: ReplicaLimits = ReplicaLimits(), waitSuspension: Duration = .seconds(1), probeTimeout: Duration = .seconds(1),
        readTimeout: Duration = .seconds(1), logger: Logger, metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        self.metrics = ReadMetrics(factory: metricsFactory)
        self.waitSuspension = waitSuspension
        self.probeTimeout = probeTimeout
        self.readTimeout = readTimeout
        self.primary = primary
        self.replicas = replicas
        self.maxLag = limits.maxLag
        self.maxLagBytes = limits.maxLagBytes
        self.fenceWait = limits.fenceWait
        // Remember twice the limit, so a replica past it is reported past it.
        self.history = Mutex(WALHistory(span: max(limits.maxLag, .seconds(1)) * 2))
        self.logger = logger
    }

    public var dialect: SQLDialect { primary.dialect }

    public func query(_ sql: SQL) async throws -> [ResultRow] {
        if sql.replicaReadable, let fence = ReadRouting.replicaFence, let replica = await replica(replayed: fence) {
            do {
                // A replica that stops answering must not stall reads: after `readTimeout` the read is
                // retried on the primary and the replica marked down until a probe succeeds.
                let database = replica.database
                let rows = try await Self.withTimeout(readTimeout) { try await database.query(sql) }
                metrics.replica.increment()
                return rows
            } catch StorageError.transient(let message) {
                // A hot standby cancels a query that conflicts with replay; the primary has no such conflict.
                metrics.replicaErrors.increment()
                logger.debug("replica read cancelled; reading from the primary", metadata: ["replica": "\(replica.name)", "error": "\(message)"])
            } catch let error as StorageError where !error.isUnavailable {
                // The statement reached the replica and failed there: the same statement fails on the primary.
                throw error
            } catch {
                replica.state.withLock { $0.healthy = false }
                metrics.replicaErrors.increment()
                logger.warning("replica read failed; marked unhealthy, reading from the primary", metadata: ["replica": "\(replica.name)", "error": "\(error)"])
            }
        }
        if sql.replicaReadable, ReadRouting.replicaFence != nil { metrics.fallbacks.increment() }
        metrics.primary.increment()
        return try await primary.query(sql)
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await primary.transaction(body)
    }

    public func close() async {
        await primary.close()
        for replica in replicas { await replica.database.close() }
    }

    /// The replica to read from, if one has replayed `fence`: the healthy one within the lag limits that has
    /// replayed the most. When that one is just short of the fence (a write moments ago), it is asked again
    /// for up to `fenceWait`, since replay usually takes a millisecond or two. When a wait expires, reads do not
    /// wait for `waitSuspension` (a second): where replay lags commits (e.g. `synchronous_commit = off` sends WAL in
    /// batches every `wal_writer_delay`), waiting would only add `fenceWait` to every read after a write.
    func replica(replayed fence: WALPosition) async -> Replica? {
        guard let best = candidate() else { return nil }
        if best.replayed >= fence { return best }
        guard fenceWait > .zero else { return nil }
        let now = ContinuousClock.now
        if let suspended = best.state.withLock({ $0.waitsSuspendedUntil }), now < suspended { return nil }
        let deadline = now + fenceWait
        let database = best.database
        while true {
            let answer = try? await Self.withTimeout(fenceWait) { try await Self.replayPosition(of: database) }
            guard let replayed = answer else { break }
            best.state.withLock { $0.replayed = max($0.replayed, replayed) }
            if replayed >= fence {
                metrics.fenceWaitsReplayed.increment()
                return best
            }
            guard ContinuousClock.now + .milliseconds(4) < deadline else { break }
            try? await Task.sleep(for: .milliseconds(4))
        }
        metrics.fenceWaitsExpired.increment()
        best.state.withLock { $0.waitsSuspendedUntil = ContinuousClock.now + waitSuspension }
        return nil
    }

    /// The healthy replica within the lag limits that has replayed the most WAL.
    func candidate() -> Replica? {
        let history = history.withLock { $0 }
        return replicas
            .filter { replica in
                let state = replica.state.withLock { $0 }
                return state.healthy && state.lag <= maxLag && history.lagBytes(of: state.replayed) <= maxLagBytes
            }
            .max { $0.replayed < $1.replayed }
    }

    /// How many bytes of WAL `replica` is behind the primary, as of the last poll.
    public func lagBytes(of replica: Replica) -> UInt64 {
        history.withLock { $0.lagBytes(of: replica.replayed) }
    }

    /// The primary's current WAL position: every transaction committed before this call is at or below it.
    ///
    /// The insert position, not `pg_current_wal_lsn()` (the write position): with `synchronous_commit = off`
    /// a commit returns while its record may still sit in the WAL buffers, past the write position. A fence
    /// taken there let a replica that had not replayed the commit serve the old row, which was then cached
    /// under the write's new generation (found by the fault suite on a cluster with asynchronous commits).
    public func currentPosition() async throws -> WALPosition {
        guard let text = try await primary.query("SELECT pg_current_wal_insert_lsn()::text").first?.text(0), let position = WALPosition(text) else {
            throw StorageError.decoding("pg_current_wal_insert_lsn")
        }
        history.withLock { $0.record(position, at: .now) }
        return position
    }

    /// Asks every replica how far it has replayed; one that does not answer is unhealthy until it does.
    public func refresh() async {
        _ = try? await currentPosition()
        for replica in replicas {
            do {
                // A replica that does not answer in time counts as down (its pool may be retrying a dead host).
                let database = replica.database
                let position = try await Self.withTimeout(probeTimeout) { try await Self.replayPosition(of: database) }
                let lag = history.withLock { $0.lag(of: position, at: .now) }
                let recovered = replica.state.withLock { state -> Bool in
                    let was = state.healthy
                    state.healthy = true
                    state.replayed = position
                    state.lag = lag
                    return !was
                }
                if recovered { logger.info("replica healthy", metadata: ["replica": "\(replica.name)", "replayed": "\(position)"]) }
            } catch {
                let lost = replica.state.withLock { state -> Bool in
                    let was = state.healthy
                    state.healthy = false
                    return was
                }
                if lost { logger.warning("replica unreachable; reads go to the primary", metadata: ["replica": "\(replica.name)", "error": "\(error)"]) }
            }
        }
    }

    /// How far `database` (a replica) has replayed the primary's WAL.
    static func replayPosition(of database: any DatabaseClient) async throws -> WALPosition {
        let answer = try await database.query("SELECT pg_last_wal_replay_lsn()::text").first?.optionalText(0)
        guard let text = answer, let position = WALPosition(text) else { throw StorageError.decoding("pg_last_wal_replay_lsn: not a replica") }
        return position
    }
}

extension ReplicatedDatabase {
    struct ProbeTimeout: Error {}

    /// `body`'s result, or `ProbeTimeout` after `limit` (the slower child is cancelled).
    static func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw ProbeTimeout()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

/// Polls the replicas' replay positions (every 100 ms by default; the interval is not configurable yet).
public struct ReplicaMonitor: Service {
    let database: ReplicatedDatabase
    let interval: Duration
    let statements: BackgroundStatements

    /// The probes' statements are counted in `statements` as `probe`.
    public init(database: ReplicatedDatabase, interval: Duration = .milliseconds(100), statements: BackgroundStatements = .uncounted) {
        self.statements = statements
        self.database = database
        self.interval = interval
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await statements.run(.probe) { await database.refresh() }
                try await Task.sleep(for: interval)
            }
        }
    }
}
