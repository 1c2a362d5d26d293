import NIOCore

/// Incremental RESP2/RESP3 parser.
///
/// `parse` either consumes exactly one complete value from the front of the buffer or, when
/// the value is not complete yet, consumes nothing and returns nil so the caller can retry
/// after more bytes arrive. Malformed input and values beyond the limits throw
/// `RedisError.protocolError`; nesting is bounded, so recursion depth is bounded too.
struct RESPParser: Sendable {
    /// Simple strings, errors and headers longer than this are rejected instead of buffered forever.
    static let maximumLineLength = 1 << 20

    /// Maximum nesting of aggregates (arrays, maps, sets, pushes, attributes).
    var maximumDepth: Int
    /// Maximum length of one bulk string, and of the element count of one aggregate.
    var maximumBulkSize: Int

    init(maximumDepth: Int = 32, maximumBulkSize: Int = 512 * 1024 * 1024) {
        self.maximumDepth = maximumDepth
        self.maximumBulkSize = maximumBulkSize
    }

    func parse(_ buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        // Parse from a copy so an incomplete value leaves `buffer` untouched.
        var cursor = buffer
        guard let value = try self.parseValue(&cursor, depth: 0) else { return nil }
        buffer.moveReaderIndex(to: cursor.readerIndex)
        return value
    }

    private func parseValue(_ buffer: inout ByteBuffer, depth: Int) throws(RedisError) -> RESPValue? {
        // A loop rather than recursion so any number of attributes in front of a value is skipped
        // in constant stack space.
        while true {
            guard let marker = buffer.readInteger(as: UInt8.self) else { return nil }
            switch marker {
            case UInt8(ascii: "+"):
                guard let line = try self.readLine(&buffer) else { return nil }
                return .simpleString(String(buffer: line))
            case UInt8(ascii: "-"):
                guard let line = try self.readLine(&buffer) else { return nil }
                return .error(String(buffer: line))
            case UInt8(ascii: ":"):
                guard let line = try self.readLine(&buffer) else { return nil }
                return .integer(try Self.parseInteger(line))
            case UInt8(ascii: "$"):
                guard let length = try self.readLength(&buffer, allowNil: true) else { return nil }
                if length == -1 { return .bulkString(nil) }
                guard let bytes = try self.readBlob(&buffer, length: length) else { return nil }
                return .bulkString(bytes)
            case UInt8(ascii: "*"):
                guard let count = try self.readLength(&buffer, allowNil: true) else { return nil }
                if count == -1 { return .array(nil) }
                guard let values = try self.parseElements(&buffer, count: count, depth: depth) else { return nil }
                return .array(values)
            case UInt8(ascii: "_"):
                guard let line = try self.readLine(&buffer) else { return nil }
                guard line.readableBytes == 0 else { throw .protocolError("null must have an empty line") }
                return .null
            case UInt8(ascii: ","):
                guard let line = try self.readLine(&buffer) else { return nil }
                guard let value = Double(String(buffer: line)) else {
                    throw .protocolError("invalid double '\(String(buffer: line))'")
                }
                return .double(value)
            case UInt8(ascii: "#"):
                guard let line = try self.readLine(&buffer) else { return nil }
                switch String(buffer: line) {
                case "t": return .boolean(true)
                case "f": return .boolean(false)
                default: throw .protocolError("invalid boolean '\(String(buffer: line))'")
                }
            case UInt8(ascii: "!"):
                guard let length = try self.readLength(&buffer, allowNil: false) else { return nil }
                guard let bytes = try self.readBlob(&buffer, length: length) else { return nil }
                return .error(String(buffer: bytes))
            case UInt8(ascii: "="):
                guard let length = try self.readLength(&buffer, allowNil: false) else { return nil }
                guard var bytes = try self.readBlob(&buffer, length: length) else { return nil }
                guard let format = bytes.readString(length: 3), bytes.readInteger(as: UInt8.self) == UInt8(ascii: ":") else {
                    throw .protocolError("verbatim string must start with a three-letter format and ':'")
                }
                return .verbatimString(format: format, text: bytes)
            case UInt8(ascii: "("):
                guard let line = try self.readLine(&buffer) else { return nil }
                return .bigNumber(try Self.parseBigNumber(line))
            case UInt8(ascii: "%"):
                guard let count = try self.readLength(&buffer, allowNil: false) else { return nil }
                guard let entries = try self.parseMap(&buffer, count: count, depth: depth) else { return nil }
                return .map(entries)
            case UInt8(ascii: "~"):
                guard let count = try self.readLength(&buffer, allowNil: false) else { return nil }
                guard let values = try self.parseElements(&buffer, count: count, depth: depth) else { return nil }
                return .set(values)
            case UInt8(ascii: ">"):
                guard let count = try self.readLength(&buffer, allowNil: false) else { return nil }
                guard let values = try self.parseElements(&buffer, count: count, depth: depth) else { return nil }
                return .push(values)
            case UInt8(ascii: "|"):
                // Attributes are metadata about the next value; read and drop them, then go on.
                guard let count = try self.readLength(&buffer, allowNil: false) else { return nil }
                guard try self.parseMap(&buffer, count: count, depth: depth) != nil else { return nil }
                continue
            default:
                throw .protocolError("unknown type byte 0x\(String(marker, radix: 16))")
            }
        }
    }

    private func parseElements(_ buffer: inout ByteBuffer, count: Int, depth: Int) throws(RedisError) -> [RESPValue]? {
        try self.checkAggregate(count: count, depth: depth)
        var values: [RESPValue] = []
        // Never trust the announced count for allocation: each element takes at least 3 bytes.
        values.reserveCapacity(min(count, buffer.readableBytes / 3))
        for _ in 0..<count {
            guard let value = try self.parseValue(&buffer, depth: depth + 1) else { return nil }
            values.append(value)
        }
        return values
    }

    private func parseMap(_ buffer: inout ByteBuffer, count: Int, depth: Int) throws(RedisError) -> [RESPValue: RESPValue]? {
        try self.checkAggregate(count: count, depth: depth)
        var entries: [RESPValue: RESPValue] = [:]
        entries.reserveCapacity(min(count, buffer.readableBytes / 6))
        for _ in 0..<count {
            guard let key = try self.parseValue(&buffer, depth: depth + 1),
                  let value = try self.parseValue(&buffer, depth: depth + 1)
            else { return nil }
            entries[key] = value
        }
        return entries
    }

    private func checkAggregate(count: Int, depth: Int) throws(RedisError) {
        guard depth < self.maximumDepth else {
            throw .protocolError("nesting deeper than \(self.maximumDepth) levels")
        }
        guard count <= self.maximumBulkSize else {
            throw .protocolError("aggregate of \(count) elements exceeds the limit of \(self.maximumBulkSize)")
        }
    }

    /// Reads `<length>\r\n`; -1 is accepted only where RESP2 uses it for nil.
    private func readLength(_ buffer: inout ByteBuffer, allowNil: Bool) throws(RedisError) -> Int? {
        guard let line = try self.readLine(&buffer) else { return nil }
        let length = try Self.parseInteger(line)
        if length == -1 && allowNil { return -1 }
        guard length >= 0 else { throw .protocolError("invalid length \(length)") }
        return length
    }

    /// Reads `length` bytes followed by CRLF.
    private func readBlob(_ buffer: inout ByteBuffer, length: Int) throws(RedisError) -> ByteBuffer? {
        guard length <= self.maximumBulkSize else {
            throw .protocolError("bulk string of \(length) bytes exceeds the limit of \(self.maximumBulkSize)")
        }
        guard buffer.readableBytes >= length + 2 else { return nil }
        guard let bytes = buffer.readSlice(length: length) else { return nil }
        guard buffer.readInteger(as: UInt16.self) == Self.crlf else {
            throw .protocolError("bulk string not terminated by CRLF")
        }
        return bytes
    }

    /// Reads up to CRLF and returns the bytes before it.
    private func readLine(_ buffer: inout ByteBuffer) throws(RedisError) -> ByteBuffer? {
        let offset = buffer.readableBytesView.withContiguousStorageIfAvailable { bytes in
            bytes.firstIndex(of: UInt8(ascii: "\r"))
        } ?? buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\r")).map { $0 - buffer.readerIndex }
        guard let length = offset else {
            guard buffer.readableBytes <= Self.maximumLineLength else {
                throw .protocolError("line longer than \(Self.maximumLineLength) bytes")
            }
            return nil
        }
        guard length <= Self.maximumLineLength else {
            throw .protocolError("line longer than \(Self.maximumLineLength) bytes")
        }
        guard buffer.readableBytes >= length + 2 else { return nil }
        guard let line = buffer.readSlice(length: length) else { return nil }
        guard buffer.readInteger(as: UInt16.self) == Self.crlf else {
            throw .protocolError("CR not followed by LF")
        }
        return line
    }

    private static let crlf = UInt16(UInt8(ascii: "\r")) << 8 | UInt16(UInt8(ascii: "\n"))

    static func parseInteger(_ line: ByteBuffer) throws(RedisError) -> Int {
        let bytes = line.readableBytesView
        var index = bytes.startIndex
        var negative = false
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index = bytes.index(after: index)
        }
        guard index < bytes.endIndex else { throw .protocolError("invalid integer '\(String(buffer: line))'") }
        var value = 0
        while index < bytes.endIndex {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw .protocolError("invalid integer '\(String(buffer: line))'")
            }
            let digit = Int(byte - UInt8(ascii: "0"))
            // Accumulate towards the sign so Int.min parses without overflowing.
            let (scaled, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? scaled.subtractingReportingOverflow(digit) : scaled.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw .protocolError("integer out of range '\(String(buffer: line))'") }
            value = next
            index = bytes.index(after: index)
        }
        return value
    }

    private static func parseBigNumber(_ line: ByteBuffer) throws(RedisError) -> String {
        let text = String(buffer: line)
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .protocolError("invalid big number '\(text)'")
        }
        return text
    }
}
