import Foundation
import MercatoCore
import Synchronization

/// How load is offered.
public enum LoadModel: Sendable, Codable, Equatable {
    /// Open loop: operations start at a constant rate whatever the server does; latency counts from the
    /// scheduled start, so a stall shows up in the percentiles instead of slowing the load down.
    case openLoop(rate: Double)
    /// Closed loop: `connections` workers, each starting its next operation when the last one ended.
    case closedLoop(connections: Int)
}

/// One benchmark run's settings.
public struct RunSettings: Sendable, Encodable {
    public var target: String
    public var store: String
    public var load: LoadModel
    /// Run time in seconds; ignored when `operations` is set.
    public var duration: Double
    /// Exact number of operations (a deterministic run with one closed-loop connection).
    public var operations: Int?
    public var connections: Int
    public var mix: WorkloadMix
    public var zipf: Double
    public var seed: UInt64
    public var adminToken: String?
    /// Products the run reads details of (the first N in catalog order); nil reads the whole catalog.
    public var maxProducts: Int?
    /// Also measure `/health` (closed loop, same connections, `healthSeconds`) as this machine's ceiling.
    public var healthSeconds: Double
    public var progress: Bool
    /// Seconds of the same workload (another sample of it) run first and left out of every figure, so
    /// the figures describe a steady state rather than a cold start.
    public var warmup: Double = 0
    /// An edge cache (Varnish with `deploy/varnish/mercato.vcl`) in front of `target`: storefront reads go
    /// through it, everything else straight to `target`.
    public var edge: String?

    public init(
        target: String, store: String = "demo", load: LoadModel = .openLoop(rate: 200), duration: Double = 20, operations: Int? = nil,
        connections: Int = 32, mix: WorkloadMix = WorkloadMix(), zipf: Double = 0.99, seed: UInt64 = 42, adminToken: String? = nil,
        maxProducts: Int? = nil, healthSeconds: Double = 3, progress: Bool = true, warmup: Double = 0, edge: String? = nil
    ) {
        self.warmup = warmup
        self.edge = edge
        self.target = target
        self.store = store
        self.load = load
        self.duration = duration
        self.operations = operations
        self.connections = connections
        self.mix = mix
        self.zipf = zipf
        self.seed = seed
        self.adminToken = adminToken
        self.maxProducts = maxProducts
        self.healthSeconds = healthSeconds
        self.progress = progress
    }

    enum CodingKeys: String, CodingKey { case target, store, load, duration, operations, connections, mix, zipf, seed, maxProducts, healthSeconds, warmup, edge }
}

/// Runs a workload against a target and reports what it measured.
public enum BenchRunner {
    public static func run(_ settings: RunSettings) async throws -> BenchReport {
        let client = BenchClient(base: settings.target, connections: settings.connections)
        let edge = settings.edge.map { BenchClient(base: $0, connections: settings.connections) }
        do {
            let report = try await run(settings, client: client, edge: edge)
            await client.shutdown()
            await edge?.shutdown()
            return report
        } catch {
            await client.shutdown()
            await edge?.shutdown()
            throw error
        }
    }

    static func run(_ settings: RunSettings, client: BenchClient, edge: BenchClient? = nil) async throws -> BenchReport {
        if let edge, await edge.send(.GET, "/v1/stores/\(settings.store)/categories").counters.edge == nil {
            throw BenchError.target("\(edge.base) does not answer like an edge with deploy/varnish/mercato.vcl (no X-Edge header)")
        }
        let health = await client.send(.GET, "/health")
        guard health.status == 200 else { throw BenchError.target("\(settings.target)/health answered \(health.status == 0 ? "nothing" : String(health.status))") }
        let catalog = try await BenchCatalog.discover(client: client, store: settings.store, maxProducts: settings.maxProducts, hotProducts: 50, adminToken: settings.adminToken)
        let source = OperationSource(catalog: catalog, settings: settings)
        // One state for the warm-up and the measured window: ETags seen and stock counted down carry over.
        let state = RunState(catalog: catalog)
        if settings.warmup > 0 {
            var warm = settings
            warm.duration = settings.warmup
            warm.operations = nil
            warm.seed = settings.seed &+ 0x5EED
            // The progress line reads the recorder the warm-up's executor writes to (a fresh one would print 0 done).
            let discardedRecorder = Recorder()
            let discarded = OperationExecutor(
                client: client, reads: edge ?? client, catalog: catalog, adminToken: settings.adminToken, recorder: discardedRecorder, state: state)
            if settings.progress { FileHandle.standardError.write(Data("[bench] warm-up: \(settings.warmup) s, not measured\n".utf8)) }
            switch settings.load {
            case .openLoop(let rate):
                try await openLoop(rate: rate, settings: warm, source: source, executor: discarded, recorder: discardedRecorder)
            case .closedLoop(let connections):
                await closedLoop(connections: connections, settings: warm, source: source, executor: discarded, recorder: discardedRecorder)
            }
            if settings.progress { FileHandle.standardError.write(Data("\n".utf8)) }
        }
        let recorder = Recorder()
        let executor = OperationExecutor(
            client: client, reads: edge ?? client, catalog: catalog, adminToken: settings.adminToken, recorder: recorder, state: state)
        let restocksBefore = state.restocks

        let before = await client.scrape()
        let started = ContinuousClock.now
        switch settings.load {
        case .openLoop(let rate):
            try await openLoop(rate: rate, settings: settings, source: source, executor: executor, recorder: recorder)
        case .closedLoop(let connections):
            await closedLoop(connections: connections, settings: settings, source: source, executor: executor, recorder: recorder)
        }
        let elapsed = ContinuousClock.now - started
        let after = await client.scrape()

        var ceiling: (Double, KindStats)?
        if settings.healthSeconds > 0 {
            ceiling = await healthCeiling(client: client, connections: settings.connections, seconds: settings.healthSeconds)
        }
        var report = BenchReport(settings: settings, catalog: catalog, stats: recorder.snapshot, elapsed: elapsed, health: ceiling, restocks: state.restocks - restocksBefore)
        if let before, let after { report.server = ServerFigures(after.delta(since: before)) }
        return report
    }

    static func openLoop(rate: Double, settings: RunSettings, source: OperationSource, executor: OperationExecutor, recorder: Recorder) async throws {
        guard rate > 0 else { throw BenchError.usage("--rate must be positive") }
        let total = settings.operations ?? Int(rate * settings.duration)
        let interval = Duration.seconds(1 / rate)
        // More in flight than this means the server cannot keep up: further operations are counted as dropped.
        let limit = max(settings.connections * 8, 64)
        let inFlight = SharedCount()
        var rng = SeededGenerator(seed: settings.seed)
        let start = ContinuousClock.now + .milliseconds(50)
        var nextProgress = start + .seconds(1)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<total {
                let operation = source.next(using: &rng)
                let scheduled = start + interval * index
                try? await Task.sleep(until: scheduled, clock: .continuous)
                if settings.progress, ContinuousClock.now >= nextProgress {
                    progress(recorder, sent: index, total: total, since: start)
                    nextProgress = nextProgress + .seconds(1)
                }
                if inFlight.value >= limit {
                    recorder.dropped(operation.firstRequest)
                    continue
                }
                inFlight.add(1)
                group.addTask {
                    await executor.run(operation, scheduled: scheduled)
                    inFlight.add(-1)
                }
            }
        }
        if settings.progress { progress(recorder, sent: total, total: total, since: start) }
    }

    static func closedLoop(connections: Int, settings: RunSettings, source: OperationSource, executor: OperationExecutor, recorder: Recorder) async {
        let deadline = ContinuousClock.now + .seconds(settings.duration)
        let issued = SharedCount()
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<max(1, connections) {
                group.addTask {
                    var rng = closedLoopGenerator(seed: settings.seed, worker: worker)
                    var nextProgress = ContinuousClock.now + .seconds(1)
                    while true {
                        if let operations = settings.operations {
                            guard issued.add(1) <= operations else { return }
                        } else if ContinuousClock.now >= deadline {
                            return
                        }
                        let operation = source.next(using: &rng)
                        await executor.run(operation, scheduled: .now)
                        if worker == 0, settings.progress, ContinuousClock.now >= nextProgress {
                            progress(recorder, sent: recorder.completed, total: settings.operations, since: start)
                            nextProgress = nextProgress + .seconds(1)
                        }
                    }
                }
            }
        }
    }

    /// Each closed-loop worker has its own stream; with one worker and a fixed count the run is deterministic.
    static func closedLoopGenerator(seed: UInt64, worker: Int) -> SeededGenerator {
        SeededGenerator(seed: seed &+ UInt64(worker) &* 0x9E37_79B9)
    }

    /// Closed-loop `/health` at the same concurrency: the most this server can answer on this machine.
    static func healthCeiling(client: BenchClient, connections: Int, seconds: Double) async -> (Double, KindStats) {
        let recorder = Recorder()
        let deadline = ContinuousClock.now + .seconds(seconds)
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, connections) {
                group.addTask {
                    while ContinuousClock.now < deadline {
                        let begin = ContinuousClock.now
                        let answer = await client.send(.GET, "/health")
                        recorder.record(.health, micros: OperationExecutor.micros(ContinuousClock.now - begin), status: answer.status, counters: answer.counters)
                    }
                }
            }
        }
        let stats = recorder.snapshot[.health] ?? KindStats()
        return (Double(stats.ok) / (ContinuousClock.now - started).seconds, stats)
    }

    static func progress(_ recorder: Recorder, sent: Int, total: Int?, since start: ContinuousClock.Instant) {
        let elapsed = (ContinuousClock.now - start).seconds
        let line = String(format: "\r[bench] %5.1f s  sent %d%@  done %d  errors %d   ", elapsed, sent, total.map { "/\($0)" } ?? "", recorder.completed, recorder.failed)
        FileHandle.standardError.write(Data(line.utf8))
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// A counter shared by concurrent tasks.
final class SharedCount: Sendable {
    private let count = Atomic<Int>(0)

    /// Adds `delta` and returns the new value.
    @discardableResult
    func add(_ delta: Int) -> Int { count.add(delta, ordering: .relaxed).newValue }

    var value: Int { count.load(ordering: .relaxed) }
}
