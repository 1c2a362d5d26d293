import NIOCore

extension RESPValue {
    /// True for RESP3 null and RESP2 nil bulk strings and arrays.
    public var isNull: Bool {
        switch self {
        case .null, .bulkString(nil), .array(nil): return true
        default: return false
        }
    }

    /// The value as UTF-8 text when it is a string-like reply (simple, bulk, verbatim, big number).
    public var string: String? {
        switch self {
        case .simpleString(let text), .bigNumber(let text): return text
        case .bulkString(let buffer?): return String(buffer: buffer)
        case .verbatimString(_, let text): return String(buffer: text)
        default: return nil
        }
    }

    /// The raw bytes of a bulk, simple or verbatim string.
    public var buffer: ByteBuffer? {
        switch self {
        case .bulkString(let buffer?): return buffer
        case .verbatimString(_, let text): return text
        case .simpleString(let text): return ByteBuffer(string: text)
        default: return nil
        }
    }

    /// The value as an integer (integer replies, or strings holding digits).
    public var int: Int? {
        switch self {
        case .integer(let value): return value
        case .bulkString(let buffer?): return Int(String(buffer: buffer))
        case .simpleString(let text): return Int(text)
        default: return nil
        }
    }

    /// The elements of an array, set or push reply.
    public var array: [RESPValue]? {
        switch self {
        case .array(let values?), .set(let values), .push(let values): return values
        default: return nil
        }
    }
}

extension RESPValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .simpleString(let text): return "+\(text)"
        case .error(let message): return "-\(message)"
        case .integer(let value): return ":\(value)"
        case .bulkString(let buffer?): return "\"\(String(decoding: buffer.readableBytesView, as: UTF8.self))\""
        case .bulkString(nil), .array(nil), .null: return "(nil)"
        case .array(let values?): return "[\(values.map(\.description).joined(separator: ", "))]"
        case .double(let value): return ",\(value)"
        case .boolean(let value): return value ? "#t" : "#f"
        case .map(let entries): return "{\(entries.map { "\($0.key): \($0.value)" }.joined(separator: ", "))}"
        case .set(let values): return "~[\(values.map(\.description).joined(separator: ", "))]"
        case .push(let values): return ">[\(values.map(\.description).joined(separator: ", "))]"
        case .bigNumber(let digits): return "(\(digits)"
        case .verbatimString(let format, let text): return "\(format):\(String(buffer: text))"
        }
    }
}
