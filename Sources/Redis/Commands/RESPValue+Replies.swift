import NIOCore

/// Conversions used by the typed helpers; each names the command in its error.
extension RESPValue {
    func integerReply(for command: String) throws(RedisError) -> Int {
        guard case .integer(let value) = self else { throw .unexpectedReply(command: command, reply: "\(self)") }
        return value
    }

    func optionalBufferReply(for command: String) throws(RedisError) -> ByteBuffer? {
        if self.isNull { return nil }
        guard let buffer = self.buffer else { throw .unexpectedReply(command: command, reply: "\(self)") }
        return buffer
    }

    func optionalBufferArrayReply(for command: String) throws(RedisError) -> [ByteBuffer?] {
        guard let values = self.array else { throw .unexpectedReply(command: command, reply: "\(self)") }
        var result: [ByteBuffer?] = []
        result.reserveCapacity(values.count)
        for value in values {
            result.append(try value.optionalBufferReply(for: command))
        }
        return result
    }

    func stringReply(for command: String) throws(RedisError) -> String {
        guard let text = self.string else { throw .unexpectedReply(command: command, reply: "\(self)") }
        return text
    }

    /// RESP3 answers with a map, RESP2 with a flat array of alternating keys and values.
    func hashReply(for command: String) throws(RedisError) -> [String: ByteBuffer] {
        var result: [String: ByteBuffer] = [:]
        switch self {
        case .map(let entries):
            for (key, value) in entries {
                guard let field = key.string, let bytes = value.buffer else {
                    throw .unexpectedReply(command: command, reply: "\(self)")
                }
                result[field] = bytes
            }
        case .array(let values?):
            guard values.count.isMultiple(of: 2) else { throw .unexpectedReply(command: command, reply: "\(self)") }
            var index = 0
            while index < values.count {
                guard let field = values[index].string, let bytes = values[index + 1].buffer else {
                    throw .unexpectedReply(command: command, reply: "\(self)")
                }
                result[field] = bytes
                index += 2
            }
        default:
            throw .unexpectedReply(command: command, reply: "\(self)")
        }
        return result
    }
}
