import Logging
import NIOCore
import NIOPosix

/// One TCP connection to Redis; many tasks may send on it at once and replies are pipelined.
public final class RedisConnection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<RedisChannelHandler>
    private let closedFlag: ClosedFlag
    /// True when the server accepted `HELLO 3`.
    public let isRESP3: Bool

    private init(channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>, closedFlag: ClosedFlag, isRESP3: Bool) {
        self.channel = channel
        self.handler = handler
        self.closedFlag = closedFlag
        self.isRESP3 = isRESP3
    }

    /// Opens a connection and performs the handshake (HELLO/AUTH/SETNAME/SELECT).
    public static func connect(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisClient")
    ) async throws -> RedisConnection {
        let parser = RESPParser(maximumBulkSize: configuration.maximumBulkSize)
        let commandTimeout = configuration.commandTimeout
        let keepAliveInterval = configuration.keepAliveInterval
        let channel: any Channel
        let handler: NIOLoopBound<RedisChannelHandler>
        let closedFlag: ClosedFlag
        do {
            channel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            RedisChannelHandler(commandTimeout: commandTimeout, keepAliveInterval: keepAliveInterval, parser: parser)
                        )
                    }
                }
                .connect(host: configuration.host, port: configuration.port)
                .get()
            // The handler is created on the event loop; fetch a loop-bound reference to it there.
            (handler, closedFlag) = try await channel.eventLoop.submit {
                let handler = try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self)
                return (NIOLoopBound(handler, eventLoop: channel.eventLoop), handler.closedFlag)
            }.get()
        } catch {
            throw RedisError.connectionFailed("\(configuration.host):\(configuration.port): \(error)")
        }

        let bootstrapping = RedisConnection(channel: channel, handler: handler, closedFlag: closedFlag, isRESP3: false)
        do {
            let isRESP3 = try await bootstrapping.handshake(configuration)
            logger.debug("Redis connection open", metadata: ["redis.address": "\(configuration.host):\(configuration.port)", "redis.resp3": "\(isRESP3)"])
            return RedisConnection(channel: channel, handler: handler, closedFlag: closedFlag, isRESP3: isRESP3)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Sends one command and returns its reply; an error reply throws `RedisError.server`.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        let reply = try await self.sendRaw(command).get()
        if case .error(let message) = reply { throw RedisError.server(message) }
        return reply
    }

    /// Writes all commands at once and returns their replies in order.
    ///
    /// Every reply is awaited before anything throws, so the connection stays in sync; then the
    /// first error reply, if any, is thrown as `RedisError.server`.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        let replies = try await self.sendRaw(commands).get()
        for reply in replies {
            if case .error(let message) = reply { throw RedisError.server(message) }
        }
        return replies
    }

    /// Closes the connection; commands still waiting fail with `RedisError.connectionClosed`.
    public func close() async {
        try? await self.channel.close()
    }

    /// True once the connection is closed, by either side.
    public var isClosed: Bool {
        self.closedFlag.isSet || !self.channel.isActive
    }

    // MARK: Internal

    var closeFuture: EventLoopFuture<Void> {
        self.channel.closeFuture
    }

    func sendRaw(_ command: RedisCommand) -> EventLoopFuture<RESPValue> {
        let eventLoop = self.channel.eventLoop
        let promise = eventLoop.makePromise(of: RESPValue.self)
        let bytes = command.bytes
        let name = command.name
        let handler = self.handler
        if eventLoop.inEventLoop {
            handler.value.send(bytes, name: name, promise: promise)
        } else {
            eventLoop.execute {
                handler.value.send(bytes, name: name, promise: promise)
            }
        }
        return promise.futureResult
    }

    /// Writes the commands as one buffer; the future holds all replies, error replies included.
    func sendRaw(_ commands: [RedisCommand]) -> EventLoopFuture<[RESPValue]> {
        let eventLoop = self.channel.eventLoop
        guard let first = commands.first else { return eventLoop.makeSucceededFuture([]) }
        let promise = eventLoop.makePromise(of: [RESPValue].self)
        var bytes = ByteBufferAllocator().buffer(capacity: 64 * commands.count)
        for command in commands {
            command.encode(into: &bytes)
        }
        let name = first.name
        let handler = self.handler
        let count = commands.count
        if eventLoop.inEventLoop {
            handler.value.send(bytes, count: count, name: name, promise: promise)
        } else {
            eventLoop.execute { [bytes] in
                handler.value.send(bytes, count: count, name: name, promise: promise)
            }
        }
        return promise.futureResult
    }

    /// Writes a command whose replies arrive as subscriber messages rather than as a reply.
    func write(_ command: RedisCommand) {
        let handler = self.handler
        self.channel.eventLoop.execute {
            handler.value.write(command.bytes)
        }
    }

    /// From now on every inbound value goes to `handler` (SUBSCRIBE confirmations, messages, errors).
    func enterSubscriberMode(_ pushHandler: @escaping @Sendable (RESPValue) -> Void) {
        let handler = self.handler
        self.channel.eventLoop.execute {
            handler.value.enterSubscriberMode(pushHandler)
        }
    }

    func closeNow() {
        self.channel.close(promise: nil)
    }
}
