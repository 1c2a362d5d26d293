import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Receives pub/sub messages on a dedicated connection that it keeps alive across disconnects.
///
/// ```swift
/// let subscriber = RedisSubscriber(configuration: config, channels: ["invalidate"])
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await subscriber.run() }
///     for await event in subscriber.events { ... }
/// }
/// ```
/// `run()` connects, subscribes, and after a drop reconnects with capped exponential backoff,
/// subscribes again and yields `.reconnected`. It returns when its task is cancelled, and then
/// finishes `events`.
public final class RedisSubscriber: Sendable {
    /// Subscription lifecycle events and messages, in the order they were received. Buffered
    /// without limit, since dropping invalidation messages silently would be worse than memory.
    public let events: AsyncStream<RedisSubscriberEvent>

    private let continuation: AsyncStream<RedisSubscriberEvent>.Continuation
    private let configuration: RedisConfiguration
    private let channels: [String]
    private let patterns: [String]
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let hasStarted = Mutex(false)

    /// - Parameters:
    ///   - channels: exact channel names (`SUBSCRIBE`).
    ///   - patterns: glob patterns (`PSUBSCRIBE`).
    public init(
        configuration: RedisConfiguration,
        channels: [String],
        patterns: [String] = [],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisClient.Subscriber")
    ) {
        (self.events, self.continuation) = AsyncStream.makeStream(of: RedisSubscriberEvent.self)
        self.configuration = configuration
        self.channels = channels
        self.patterns = patterns
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Keeps the subscription alive until the task is cancelled. Call it once.
    public func run() async throws {
        let alreadyStarted = self.hasStarted.withLock { started in
            defer { started = true }
            return started
        }
        guard !alreadyStarted else { throw RedisError.invalidArgument("RedisSubscriber.run() may only be called once") }
        defer { self.continuation.finish() }
        guard !self.channels.isEmpty || !self.patterns.isEmpty else {
            throw RedisError.invalidArgument("RedisSubscriber needs at least one channel or pattern")
        }

        var hasSubscribed = false
        var attempt = 0
        while !Task.isCancelled {
            do {
                let confirmed = try await self.runSession(readyEvent: hasSubscribed ? .reconnected : .subscribed)
                if confirmed {
                    hasSubscribed = true
                    attempt = 0
                }
                if !Task.isCancelled {
                    if confirmed { self.continuation.yield(.disconnected) }
                    self.logger.warning("Redis subscriber connection lost; reconnecting")
                }
            } catch {
                self.logger.warning("Redis subscriber could not subscribe", metadata: ["error": "\(error)"])
            }
            attempt += 1
            do {
                try await Task.sleep(for: self.configuration.reconnectDelay(attempt: attempt))
            } catch {
                return
            }
        }
    }

    /// One connection's lifetime. Returns whether all subscriptions were confirmed on it.
    private func runSession(readyEvent: RedisSubscriberEvent) async throws -> Bool {
        let connection = try await RedisConnection.connect(
            configuration: self.configuration,
            eventLoopGroup: self.eventLoopGroup,
            logger: self.logger
        )
        let eventLoop = connection.channel.eventLoop
        let session = SubscriptionSession(
            expectedConfirmations: self.channels.count + self.patterns.count,
            readyEvent: readyEvent,
            continuation: self.continuation,
            confirmed: eventLoop.makePromise(of: Void.self),
            onFailure: { connection.closeNow() }
        )
        // Without confirmations in time, the connection is unusable; closing it leads to a retry.
        let confirmationTimeout = eventLoop.scheduleTask(in: TimeAmount(self.configuration.commandTimeout)) {
            session.confirmed.fail(RedisError.commandTimeout(command: "SUBSCRIBE", timeout: self.configuration.commandTimeout))
            connection.closeNow()
        }
        connection.closeFuture.whenComplete { _ in
            confirmationTimeout.cancel()
            session.confirmed.fail(RedisError.connectionClosed)
        }

        connection.enterSubscriberMode { value in session.handle(value) }
        if !self.channels.isEmpty {
            connection.write(RedisCommand(["SUBSCRIBE"] + self.channels))
        }
        if !self.patterns.isEmpty {
            connection.write(RedisCommand(["PSUBSCRIBE"] + self.patterns))
        }

        return await withTaskCancellationHandler {
            let confirmed = (try? await session.confirmed.futureResult.get()) != nil
            confirmationTimeout.cancel()
            // Stay here for the connection's lifetime; cancellation closes it.
            try? await connection.closeFuture.get()
            return confirmed
        } onCancel: {
            connection.closeNow()
        }
    }
}
