import Logging
import NIOCore
import NIOPosix

/// The main entry point: a pooled, concurrency-safe Redis client.
///
/// Each `send` leases a connection for one round trip; `pipeline` writes all its commands
/// back-to-back on one connection. Call `close()` when done.
public struct RedisClient: Sendable {
    let pool: RedisConnectionPool

    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisClient")
    ) {
        self.pool = RedisConnectionPool(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Creates a client for `redis://[user:password@]host:port[/db]` with default settings.
    public init(url: String) throws {
        try self.init(configuration: RedisConfiguration(url: url))
    }

    /// Sends any command; an error reply throws `RedisError.server`.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        let reply = try await self.pool.withConnection { connection in
            try await connection.sendRaw(command).get()
        }
        if case .error(let message) = reply { throw RedisError.server(message) }
        return reply
    }

    /// Sends the commands back-to-back on one connection and returns the replies in order.
    /// After all replies arrived, the first error reply, if any, is thrown.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        try await self.pool.withConnection { connection in
            try await connection.pipeline(commands)
        }
    }

    /// Closes idle connections now and busy ones when their command completes; later calls throw
    /// `RedisError.clientClosed`.
    public func close() async {
        await self.pool.close()
    }
}
