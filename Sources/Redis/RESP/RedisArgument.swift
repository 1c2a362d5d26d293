import NIOCore

/// One command argument, sent as a binary-safe bulk string.
public struct RedisArgument: Sendable, Hashable {
    enum Storage: Sendable, Hashable {
        case string(String)
        case buffer(ByteBuffer)
        case bytes([UInt8])
        case integer(Int)
    }

    let storage: Storage

    /// UTF-8 text.
    public init(_ string: String) { self.storage = .string(string) }
    /// Raw bytes; only the readable part is sent.
    public init(_ buffer: ByteBuffer) { self.storage = .buffer(buffer) }
    /// Raw bytes.
    public init(_ bytes: [UInt8]) { self.storage = .bytes(bytes) }
    /// An integer in decimal, as Redis expects for counts, TTLs and the like.
    public init(_ integer: Int) { self.storage = .integer(integer) }
}

/// A type that can be sent as a command argument: String, Substring, ByteBuffer, [UInt8], Int.
public protocol RedisArgumentConvertible: Sendable {
    /// The argument Redis receives for this value.
    var redisArgument: RedisArgument { get }
}

extension RedisArgument: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { self }
}

extension RedisArgument: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.init(value) }
}

extension RedisArgument: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self.init(value) }
}

extension String: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}

extension Substring: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { RedisArgument(String(self)) }
}

extension ByteBuffer: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}

extension Array: RedisArgumentConvertible where Element == UInt8 {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}

extension Int: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}
