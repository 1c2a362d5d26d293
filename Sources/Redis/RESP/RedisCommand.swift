import NIOCore

/// A command to send: its arguments, the first one being the command name.
///
/// `RedisCommand(["SET", "key", value, "EX", 10])` accepts any mix of String, ByteBuffer,
/// [UInt8] and Int arguments.
public struct RedisCommand: Sendable {
    /// Kept as given and encoded straight into the outgoing buffer when sent, so a pipeline
    /// of many commands costs one buffer rather than one per command.
    let arguments: [any RedisArgumentConvertible]

    /// Creates a command from its arguments, the first one being the command name.
    public init(_ arguments: [any RedisArgumentConvertible]) {
        self.arguments = arguments
    }

    /// The command name (first argument), used in error messages.
    public var name: String {
        guard let first = self.arguments.first, case .string(let text) = first.redisArgument.storage else { return "command" }
        return text
    }

    func encode(into buffer: inout ByteBuffer) {
        RESPEncoder.writeCommand(self.arguments, into: &buffer)
    }

    /// The RESP encoding of this command alone.
    var bytes: ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        self.encode(into: &buffer)
        return buffer
    }
}
