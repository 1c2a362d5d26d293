import ServiceLifecycle

/// Work that must happen but need not hold up the request that caused it, e.g. giving back a reservation
/// whose outcome is unknown after the buyer has been answered (the release can be as slow as the call that
/// failed, and the reservation's TTL returns the units anyway if it fails too). A Service: each job is a
/// child task of its `run`, at most `maxConcurrent` at once; jobs still queued at shutdown are dropped.
public final class BackgroundWork: Service, Sendable {
    private let stream: AsyncStream<@Sendable () async -> Void>
    private let continuation: AsyncStream<@Sendable () async -> Void>.Continuation
    private let maxConcurrent: Int

    /// `maxQueued`: jobs waiting to start; beyond it the oldest waiting one is dropped.
    public init(maxConcurrent: Int = 4, maxQueued: Int = 10_000) {
        (stream, continuation) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self, bufferingPolicy: .bufferingNewest(maxQueued))
        self.maxConcurrent = maxConcurrent
    }

    /// Queues `job` to run soon.
    public func submit(_ job: @escaping @Sendable () async -> Void) {
        continuation.yield(job)
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
                    group.addTask { await job() }
                    running += 1
                }
            } onGracefulShutdown: {
                self.continuation.finish()
            }
        }
    }
}
