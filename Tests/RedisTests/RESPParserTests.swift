import NIOCore
import Testing

@testable import Redis
@Suite("RESP parser")
struct RESPParserTests {
    private func parseOne(_ text: String, parser: RESPParser = RESPParser()) throws -> RESPValue? {
        var buffer = ByteBuffer(string: text)
        let value = try parser.parse(&buffer)
        if value != nil {
            #expect(buffer.readableBytes == 0, "parser left bytes behind for \(text.debugDescription)")
        }
        return value
    }

    @Test(arguments: [
        ("+OK\r\n", RESPValue.simpleString("OK")),
        ("-ERR unknown command\r\n", .error("ERR unknown command")),
        (":1000\r\n", .integer(1000)),
        (":-9223372036854775808\r\n", .integer(Int.min)),
        (":+7\r\n", .integer(7)),
        ("$5\r\nhello\r\n", .bulkString(ByteBuffer(string: "hello"))),
        ("$0\r\n\r\n", .bulkString(ByteBuffer())),
        ("$-1\r\n", .bulkString(nil)),
        ("*-1\r\n", .array(nil)),
        ("*0\r\n", .array([])),
        ("*2\r\n$3\r\nfoo\r\n:1\r\n", .array([.bulkString(ByteBuffer(string: "foo")), .integer(1)])),
        ("*2\r\n*1\r\n+a\r\n*0\r\n", .array([.array([.simpleString("a")]), .array([])])),
        ("_\r\n", .null),
        (",1.5\r\n", .double(1.5)),
        (",-inf\r\n", .double(-.infinity)),
        (",10\r\n", .double(10)),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
        ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: ByteBuffer(string: "Some string"))),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", .map([.simpleString("first"): .integer(1), .simpleString("second"): .integer(2)])),
        ("~2\r\n+a\r\n+b\r\n", .set([.simpleString("a"), .simpleString("b")])),
        (">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhey\r\n", .push([
            .bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "ch")), .bulkString(ByteBuffer(string: "hey")),
        ])),
        // Attributes are skipped, at the top level and inside aggregates.
        ("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2039123\r\n", .array([.integer(2039123)])),
        ("*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n", .array([.integer(1), .integer(2)])),
    ])
    func decodesEveryType(input: String, expected: RESPValue) throws {
        #expect(try self.parseOne(input) == expected)
    }

    @Test func decodesNaN() throws {
        guard case .double(let value) = try self.parseOne(",nan\r\n") else {
            Issue.record("expected a double")
            return
        }
        #expect(value.isNaN)
    }

    @Test func bulkStringsAreBinarySafe() throws {
        var buffer = ByteBuffer(string: "$6\r\n")
        buffer.writeBytes([0, 13, 10, 0, 255, 10])
        buffer.writeString("\r\n")
        let value = try RESPParser().parse(&buffer)
        #expect(value == .bulkString(ByteBuffer(bytes: [0, 13, 10, 0, 255, 10])))
    }

    @Test func partialFramesFedByteByByteYieldNothingUntilComplete() throws {
        let frame = "*3\r\n$3\r\nfoo\r\n%1\r\n+k\r\n,2.5\r\n>2\r\n+a\r\n_\r\n"
        let parser = RESPParser()
        var buffer = ByteBuffer()
        let bytes = Array(frame.utf8)
        for (index, byte) in bytes.enumerated() {
            buffer.writeInteger(byte)
            let value = try parser.parse(&buffer)
            if index < bytes.count - 1 {
                #expect(value == nil, "complete value reported after \(index + 1) of \(bytes.count) bytes")
                #expect(buffer.readerIndex == 0, "an incomplete parse must not consume bytes")
            } else {
                #expect(value == .array([
                    .bulkString(ByteBuffer(string: "foo")),
                    .map([.simpleString("k"): .double(2.5)]),
                    .push([.simpleString("a"), .null]),
                ]))
            }
        }
    }

    @Test func pipelinedFramesInOneBufferComeOutInOrder() throws {
        var buffer = ByteBuffer(string: "+OK\r\n:1\r\n$3\r\nbar\r\n$-1\r\n*1\r\n+x\r\n:2")
        let parser = RESPParser()
        var values: [RESPValue] = []
        while let value = try parser.parse(&buffer) {
            values.append(value)
        }
        #expect(values == [.simpleString("OK"), .integer(1), .bulkString(ByteBuffer(string: "bar")), .bulkString(nil), .array([.simpleString("x")])])
        #expect(String(buffer: buffer) == ":2", "the incomplete tail stays in the buffer")
    }

    @Test(arguments: [
        "?what\r\n",              // unknown type byte
        ":12a\r\n",               // not a number
        ":\r\n",                  // empty integer
        ":99999999999999999999\r\n",  // overflow
        "$3\r\nfoobar\r\n",       // bulk longer than announced
        "$-2\r\n",                // negative length
        "*-5\r\n",                // negative count
        "%-1\r\n",                // maps have no nil form
        "+OK\rX",                 // CR not followed by LF
        "#x\r\n",                 // invalid boolean
        ",abc\r\n",               // invalid double
        "_x\r\n",                 // null with payload
        "(12x\r\n",               // invalid big number
        "=3\r\ntxt\r\n",          // verbatim without ':'
    ])
    func malformedInputThrows(input: String) {
        #expect(throws: RedisError.self) {
            _ = try self.parseOne(input)
        }
    }

    @Test func nestingBeyondTheLimitThrows() throws {
        let parser = RESPParser(maximumDepth: 4)
        #expect(try self.parseOne(String(repeating: "*1\r\n", count: 4) + ":1\r\n", parser: parser) != nil)
        #expect(throws: RedisError.protocolError("nesting deeper than 4 levels")) {
            _ = try self.parseOne(String(repeating: "*1\r\n", count: 5) + ":1\r\n", parser: parser)
        }
        // A hostile server cannot exhaust the stack with deep nesting either.
        #expect(throws: RedisError.self) {
            _ = try self.parseOne(String(repeating: "*1\r\n", count: 100_000))
        }
    }

    @Test func bulkStringBeyondTheLimitThrowsBeforeBuffering() {
        let parser = RESPParser(maximumBulkSize: 10)
        #expect(throws: RedisError.protocolError("bulk string of 11 bytes exceeds the limit of 10")) {
            _ = try self.parseOne("$11\r\n", parser: parser)
        }
        #expect(throws: RedisError.self) {
            _ = try self.parseOne("*11\r\n", parser: parser)
        }
    }

    @Test func endlessLineWithoutCRLFThrows() {
        var buffer = ByteBuffer(string: "+")
        buffer.writeRepeatingByte(UInt8(ascii: "a"), count: RESPParser.maximumLineLength + 1)
        #expect(throws: RedisError.self) {
            _ = try RESPParser().parse(&buffer)
        }
    }

    @Test func hugeAnnouncedCountDoesNotPreallocate() throws {
        // Would try to reserve billions of slots if the count were trusted.
        #expect(try self.parseOne("*400000000\r\n:1\r\n") == nil)
    }

    @Test func decoderAccumulatesAcrossReads() throws {
        var decoder = RESPDecoder()
        decoder.append(ByteBuffer(string: "+OK\r\n$5\r\nhel"))
        #expect(try decoder.next() == .simpleString("OK"))
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedBytes == 7)
        decoder.append(ByteBuffer(string: "lo\r\n:"))
        #expect(try decoder.next() == .bulkString(ByteBuffer(string: "hello")))
        #expect(try decoder.next() == nil)
        decoder.append(ByteBuffer(string: "3\r\n"))
        #expect(try decoder.next() == .integer(3))
        #expect(decoder.bufferedBytes == 0)
    }
}
