import NIOCore
import Testing

@testable import Redis
@Suite("RESP encoder")
struct RESPEncoderTests {
    @Test func encodesSetWithExpiration() {
        let command = RedisCommand(["SET", "k", "v", "EX", 10])
        #expect(String(buffer: command.bytes) == "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nEX\r\n$2\r\n10\r\n")
        #expect(command.name == "SET")
    }

    @Test func encodesBinaryArgumentsVerbatim() {
        let value: [UInt8] = [0, 13, 10, 255]
        let command = RedisCommand(["SET", ByteBuffer(string: "k\r\n"), value])
        var expected = ByteBuffer(string: "*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$4\r\n")
        expected.writeBytes(value)
        expected.writeString("\r\n")
        #expect(command.bytes == expected)
    }

    @Test func encodesMultiByteUTF8ByByteLength() {
        let command = RedisCommand(["GET", "clé"])
        #expect(String(buffer: command.bytes) == "*2\r\n$3\r\nGET\r\n$4\r\nclé\r\n")
    }

    @Test func encodesNegativeIntegersAndEmptyStrings() {
        let command = RedisCommand(["INCRBY", "", -42])
        #expect(String(buffer: command.bytes) == "*3\r\n$6\r\nINCRBY\r\n$0\r\n\r\n$3\r\n-42\r\n")
    }

    @Test func sendsOnlyTheReadablePartOfAByteBuffer() {
        var buffer = ByteBuffer(string: "xxpayload")
        buffer.moveReaderIndex(forwardBy: 2)
        let command = RedisCommand(["ECHO", buffer])
        #expect(String(buffer: command.bytes) == "*2\r\n$4\r\nECHO\r\n$7\r\npayload\r\n")
    }

    @Test func encodesExtremeIntegersAndLargePayloads() {
        let large = [UInt8](repeating: 7, count: 100_000)
        let command = RedisCommand([Int.min, Int.max, 0, large])
        var expected = ByteBuffer(string: "*4\r\n$20\r\n-9223372036854775808\r\n$19\r\n9223372036854775807\r\n$1\r\n0\r\n$100000\r\n")
        expected.writeBytes(large)
        expected.writeString("\r\n")
        #expect(command.bytes == expected)
    }

    @Test func pipelinedCommandsShareOneBuffer() {
        var buffer = ByteBuffer()
        RedisCommand(["PING"]).encode(into: &buffer)
        RedisCommand(["GET", "k"]).encode(into: &buffer)
        #expect(String(buffer: buffer) == "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
    }
}
