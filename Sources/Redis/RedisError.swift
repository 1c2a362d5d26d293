/// Every error the client throws, each with a message that says what went wrong.
public enum RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server answered with an error reply, e.g. `WRONGTYPE ...` or `ERR unknown command`.
    case server(String)
    /// The bytes from the server are not valid RESP or exceed a configured limit.
    case protocolError(String)
    /// The connection closed (or was closed) before the reply arrived.
    case connectionClosed
    /// Opening a connection failed; the string carries the underlying reason.
    case connectionFailed(String)
    /// No reply within the command timeout; the connection was closed because later replies
    /// would otherwise be matched to the wrong commands.
    case commandTimeout(command: String, timeout: Duration)
    /// The pool had no free connection within the wait timeout.
    case poolTimeout(Duration)
    /// The client (or its pool) was closed.
    case clientClosed
    /// The configuration URL could not be parsed.
    case invalidURL(String)
    /// An argument was rejected before anything was sent.
    case invalidArgument(String)
    /// A typed helper received a reply of a type it does not understand.
    case unexpectedReply(command: String, reply: String)

    public var description: String {
        switch self {
        case .server(let message):
            return "Redis server error: \(message)"
        case .protocolError(let message):
            return "Redis protocol error: \(message)"
        case .connectionClosed:
            return "Redis connection closed before the reply arrived"
        case .connectionFailed(let reason):
            return "Could not connect to Redis: \(reason)"
        case .commandTimeout(let command, let timeout):
            return "Redis command \(command) timed out after \(timeout); the connection was closed"
        case .poolTimeout(let timeout):
            return "No Redis connection became available within \(timeout)"
        case .clientClosed:
            return "The Redis client is closed"
        case .invalidURL(let url):
            return "Invalid Redis URL: \(url)"
        case .invalidArgument(let message):
            return "Invalid argument: \(message)"
        case .unexpectedReply(let command, let reply):
            return "Unexpected reply to \(command): \(reply)"
        }
    }
}
