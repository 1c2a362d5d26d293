import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Up to `maximumConnections` connections, leased one command (or pipeline) at a time.
///
/// Dead connections are dropped when returned or found idle, and replaced on demand. After a
/// failed connect, further attempts wait out an exponential backoff; meanwhile leases fail
/// fast with the last error instead of hammering a server that is down.
final class RedisConnectionPool: Sendable {
    private let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state: Mutex<PoolState>

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.state = Mutex(PoolState(maximumConnections: max(configuration.maximumConnections, 1)))
    }

    /// Connections open or being opened; never above `maximumConnections`.
    var connectionCount: Int {
        self.state.withLock { $0.connectionCount }
    }

    func withConnection<Result>(_ body: (RedisConnection) async throws -> Result) async throws -> Result {
        let connection = try await self.lease()
        defer { self.release(connection) }
        return try await body(connection)
    }

    func lease() async throws -> RedisConnection {
        let deadline = NIODeadline.now() + TimeAmount(self.configuration.connectionWaitTimeout)
        while true {
            switch self.state.withLock({ $0.nextLeaseAction(now: .now()) }) {
            case .use(let connection):
                return connection
            case .connect:
                return try await self.openConnection()
            case .fail(let error):
                throw error
            case .wait:
                if let connection = try await self.waitForConnection(until: deadline) {
                    return connection
                }
                // Woken without a connection: a slot freed up or a connect failed; decide again.
            }
        }
    }

    func release(_ connection: RedisConnection) {
        let action = self.state.withLock { $0.release(connection, isAlive: !connection.isClosed) }
        switch action {
        case .none:
            break
        case .close:
            connection.closeNow()
        case .handOver(let waiter):
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: connection)
        case .wake(let waiter):
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: nil)
        }
    }

    func close() async {
        let (idle, waiters) = self.state.withLock { $0.close() }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: RedisError.clientClosed)
        }
        for connection in idle {
            await connection.close()
        }
    }

    // MARK: Private

    private func openConnection() async throws -> RedisConnection {
        do {
            let connection = try await RedisConnection.connect(
                configuration: self.configuration,
                eventLoopGroup: self.eventLoopGroup,
                logger: self.logger
            )
            let wasRecovering = self.state.withLock { $0.connectSucceeded() }
            if wasRecovering {
                self.logger.info("Redis reconnected", metadata: ["redis.address": "\(self.configuration.host):\(self.configuration.port)"])
            }
            guard !self.state.withLock({ $0.isClosed }) else {
                await connection.close()
                self.state.withLock { $0.connectionCount -= 1 }
                throw RedisError.clientClosed
            }
            return connection
        } catch {
            let redisError = error as? RedisError ?? .connectionFailed("\(error)")
            let waiters = self.state.withLock { state in
                state.connectFailed(error: redisError, now: .now(), configuration: self.configuration)
            }
            self.logger.warning("Redis connect failed", metadata: ["error": "\(redisError)"])
            // Waiters re-check: they now see the backoff and fail fast rather than sit out their timeout.
            for waiter in waiters {
                waiter.timer?.cancel()
                waiter.continuation.resume(returning: nil)
            }
            throw redisError
        }
    }

    private func waitForConnection(until deadline: NIODeadline) async throws -> RedisConnection? {
        let id = self.state.withLock { $0.makeWaiterID() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RedisConnection?, any Error>) in
                let enqueued = self.state.withLock { $0.enqueue(PoolWaiter(id: id, continuation: continuation)) }
                guard enqueued else {
                    continuation.resume(throwing: RedisError.clientClosed)
                    return
                }
                let timeout = self.configuration.connectionWaitTimeout
                let timer = self.eventLoopGroup.any().scheduleTask(deadline: deadline) {
                    self.removeWaiter(id, error: RedisError.poolTimeout(timeout))
                }
                let stillWaiting = self.state.withLock { $0.attach(timer, toWaiter: id) }
                if !stillWaiting {
                    timer.cancel()
                } else if Task.isCancelled {
                    // The cancellation handler may have run before the waiter was enqueued.
                    self.removeWaiter(id, error: CancellationError())
                }
            }
        } onCancel: {
            self.removeWaiter(id, error: CancellationError())
        }
    }

    private func removeWaiter(_ id: UInt64, error: any Error) {
        guard let waiter = self.state.withLock({ $0.removeWaiter(id) }) else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(throwing: error)
    }
}
