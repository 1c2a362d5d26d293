import MercatoTelemetry
import ServiceLifecycle
import Synchronization

/// Runs work outside the request that asked for it, so the request can answer at once: cache refreshes
/// (stale-while-revalidate, early refresh) and the release of a reservation whose outcome is unknown.
/// A Service: jobs are child tasks of its `run`, bounded in number, and one per key at a time.
public final class RefreshQueue: Service, Sendable {
    struct Job: Sendable {
        let key: String
        let kind: BackgroundWork
        let work: @Sendable () async -> Void
    }

    private let stream: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation
    private let pending = Mutex<Set<String>>([])
    private let maxConcurrent: Int
    private let statements: BackgroundStatements

    /// `maxQueued`: refreshes waiting to start; beyond it the oldest waiting one is dropped. Jobs' SQL
    /// statements are counted in `statements`, under each job's kind.
    public init(maxConcurrent: Int = 8, maxQueued: Int = 1024, statements: BackgroundStatements = .uncounted) {
        self.statements = statements
        (stream, continuation) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .bufferingNewest(maxQueued))
        self.maxConcurrent = maxConcurrent
    }

    /// Asks for `work` to run soon unless a job of `key` is already queued or running; its statements
    /// count as `kind`.
    public func schedule(key: String, kind: BackgroundWork = .refresh, _ work: @escaping @Sendable () async -> Void) {
        let isNew = pending.withLock { $0.insert(key).inserted }
        guard isNew else { return }
        // A full buffer drops its oldest job, not this one: un-mark that job's key, or it could never be
        // scheduled again.
        if case .dropped(let oldest) = continuation.yield(Job(key: key, kind: kind, work: work)) {
            _ = pending.withLock { $0.remove(oldest.key) }
        }
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            await withGracefulShutdownHandler {
                for await job in stream {
                    if running >= maxConcurrent {
                        await group.next()
                        running -= 1
                    }
                    running += 1
                    group.addTask {
                        await self.statements.run(job.kind) { await job.work() }
                        _ = self.pending.withLock { $0.remove(job.key) }
                    }
                }
            } onGracefulShutdown: {
                self.continuation.finish()
            }
        }
    }
}
