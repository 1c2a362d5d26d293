import NIOCore

/// Writes commands in the form Redis expects from clients: an array of bulk strings.
///
/// Each argument (header, payload and CRLF) is written with one buffer access: small
/// `ByteBuffer` writes each pay for capacity and uniqueness checks, which showed up in profiles.
enum RESPEncoder {
    static func writeCommand(_ arguments: [any RedisArgumentConvertible], into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 24) { output in
            writeHeader(UInt8(ascii: "*"), count: arguments.count, into: output)
        }
        for argument in arguments {
            writeBulkString(argument.redisArgument, into: &buffer)
        }
    }

    static func writeBulkString(_ argument: RedisArgument, into buffer: inout ByteBuffer) {
        switch argument.storage {
        case .string(let text):
            var text = text
            text.withUTF8 { writeBulkString(UnsafeRawBufferPointer($0), into: &buffer) }
        case .buffer(let bytes):
            bytes.withUnsafeReadableBytes { writeBulkString($0, into: &buffer) }
        case .bytes(let bytes):
            bytes.withUnsafeBytes { writeBulkString($0, into: &buffer) }
        case .integer(let value):
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
            withUnsafeMutableBytes(of: &digits) { scratch in
                let count = writeDecimal(value, into: scratch)
                writeBulkString(UnsafeRawBufferPointer(rebasing: scratch[..<count]), into: &buffer)
            }
        }
    }

    private static func writeBulkString(_ payload: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: payload.count + 26) { output in
            var index = writeHeader(UInt8(ascii: "$"), count: payload.count, into: output)
            UnsafeMutableRawBufferPointer(rebasing: output[index...]).copyMemory(from: payload)
            index += payload.count
            output[index] = UInt8(ascii: "\r")
            output[index + 1] = UInt8(ascii: "\n")
            return index + 2
        }
    }

    /// Writes `<marker><count>\r\n` and returns the number of bytes written (at most 23).
    private static func writeHeader(_ marker: UInt8, count: Int, into output: UnsafeMutableRawBufferPointer) -> Int {
        output[0] = marker
        var index = 1 + writeDecimal(count, into: UnsafeMutableRawBufferPointer(rebasing: output[1...]))
        output[index] = UInt8(ascii: "\r")
        output[index + 1] = UInt8(ascii: "\n")
        index += 2
        return index
    }

    /// Writes `value` in decimal and returns the number of bytes written (at most 20).
    private static func writeDecimal(_ value: Int, into output: UnsafeMutableRawBufferPointer) -> Int {
        var magnitude = value.magnitude
        var digitCount = 1
        var probe = magnitude
        while probe >= 10 {
            probe /= 10
            digitCount += 1
        }
        let signCount = value < 0 ? 1 : 0
        if signCount == 1 { output[0] = UInt8(ascii: "-") }
        var index = signCount + digitCount
        repeat {
            index -= 1
            output[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        return signCount + digitCount
    }
}
