/// Where and how to connect, plus the limits and timeouts of connections, pool and subscriber.
public struct RedisConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// ACL user name; `nil` authenticates as `default` when a password is set.
    public var username: String?
    public var password: String?
    /// Database selected with `SELECT` after connecting (0 is the server default and is not sent).
    public var database: Int
    /// Name sent with `SETNAME`, visible in `CLIENT LIST`.
    public var clientName: String?
    /// Speak RESP3 (`HELLO 3`), falling back to RESP2 when the server rejects it.
    public var useRESP3: Bool
    public var connectTimeout: Duration
    /// How long one command may wait for its reply before the connection is closed.
    public var commandTimeout: Duration
    /// Idle connections send PING this often, so dead ones are found and closed before a
    /// command needs them; nil disables it.
    public var keepAliveInterval: Duration?
    /// Largest bulk string (and aggregate element count) accepted from the server.
    public var maximumBulkSize: Int
    /// Maximum open connections of a `RedisClient`.
    public var maximumConnections: Int
    /// How long a command waits for a free connection when all are busy.
    public var connectionWaitTimeout: Duration
    /// First delay before reconnecting after a failure; it doubles per failure up to `reconnectMaximumDelay`.
    public var reconnectInitialDelay: Duration
    public var reconnectMaximumDelay: Duration

    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        clientName: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.clientName = clientName
        self.useRESP3 = true
        self.connectTimeout = .seconds(5)
        self.commandTimeout = .seconds(5)
        self.keepAliveInterval = .seconds(30)
        self.maximumBulkSize = 512 * 1024 * 1024
        self.maximumConnections = 8
        self.connectionWaitTimeout = .seconds(5)
        self.reconnectInitialDelay = .milliseconds(50)
        self.reconnectMaximumDelay = .seconds(2)
    }

    /// The delay before the `attempt`-th reconnection (1-based): exponential, capped.
    func reconnectDelay(attempt: Int) -> Duration {
        var delay = self.reconnectInitialDelay
        for _ in 1..<max(attempt, 1) where delay < self.reconnectMaximumDelay {
            delay *= 2
        }
        return min(delay, self.reconnectMaximumDelay)
    }
}
