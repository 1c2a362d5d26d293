import ServiceLifecycle
import Synchronization

/// Runs work outside the request that asked for it, so the request can answer at once: cache refreshes
/// (stale-while-revalidate, early refresh) and the release of a reservation whose outcome is unknown.
/// A Service: jobs are child tasks of its `run`, bounded in number, and one per key at a time.
public final class RefreshQueue: Service, Sendable {
    struct Job: Sendable {
        let key: String
        let work: @Sendable () async -> Void
    }

    private let stream: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation
    private let pending = Mutex<Set<String>>([])
    private let maxConcurrent: Int

    /// `maxQueued`: refreshes waiting to start; beyond it the oldest waiting one is dropped.
    public init(maxConcurrent: Int = 8, maxQueued: Int = 1024) {
        (stream, continuation) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .bufferingNewest(maxQueued))
        self.maxConcurrent = maxConcurrent
    }

    /// Asks for `work` to run soon unless a refresh of `key` is already queued or running.
    public func schedule(key: String, _ work: @escaping @Sendable () async -> Void) {
        let isNew = pending.withLock { $0.insert(key).inserted }
        guard isNew else { return }
        // A full buffer drops its oldest job, not this one: un-mark that job's key, or it could never be
        // scheduled again.
        if case .dropped(let oldest) = continuation.yield(Job(key: key, work: work)) {
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
                        await job.work()
                        _ = self.pending.withLock { $0.remove(job.key) }
                    }
                }
            } onGracefulShutdown: {
                self.continuation.finish()
            }
        }
    }
}
