import NIOCore
import NIOEmbedded
import Testing

@testable import Redis
/// Decoding and reply matching, driven byte by byte through an EmbeddedChannel.
@Suite("Channel handler")
struct RedisChannelHandlerTests {
    private func makeChannel(commandTimeout: Duration = .seconds(1), keepAlive: Duration? = nil) throws -> (EmbeddedChannel, RedisChannelHandler) {
        let handler = RedisChannelHandler(commandTimeout: commandTimeout, keepAliveInterval: keepAlive)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        return (channel, handler)
    }

    private func send(_ arguments: [any RedisArgumentConvertible], on channel: EmbeddedChannel, handler: RedisChannelHandler) -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let command = RedisCommand(arguments)
        handler.send(command.bytes, name: command.name, promise: promise)
        return promise.futureResult
    }

    @Test func writesCommandBytesAndMatchesPipelinedRepliesInOrder() throws {
        let (channel, handler) = try self.makeChannel()
        let first = self.send(["GET", "a"], on: channel, handler: handler)
        let second = self.send(["INCR", "n"], on: channel, handler: handler)
        let third = self.send(["GET", "missing"], on: channel, handler: handler)

        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "*2\r\n$3\r\nGET\r\n$1\r\na\r\n")
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n")
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil)

        // All three replies arrive in one read, the last one split across two reads.
        try channel.writeInbound(ByteBuffer(string: "$1\r\nx\r\n:5\r\n$-"))
        try channel.writeInbound(ByteBuffer(string: "1\r\n"))
        #expect(try first.wait() == .bulkString(ByteBuffer(string: "x")))
        #expect(try second.wait() == .integer(5))
        #expect(try third.wait() == .bulkString(nil))
        _ = try channel.finish()
    }

    @Test func repliesFedByteByByteResolveExactlyOnce() throws {
        let (channel, handler) = try self.makeChannel()
        let reply = self.send(["HGETALL", "h"], on: channel, handler: handler)
        var completed = false
        reply.assumeIsolated().whenComplete { _ in completed = true }
        let bytes = Array("%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n".utf8)
        for (index, byte) in bytes.enumerated() {
            #expect(!completed, "resolved early at byte \(index)")
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        #expect(try reply.wait() == .map([
            .bulkString(ByteBuffer(string: "a")): .bulkString(ByteBuffer(string: "1")),
            .bulkString(ByteBuffer(string: "b")): .bulkString(ByteBuffer(string: "2")),
        ]))
        _ = try channel.finish()
    }

    @Test func aPipelineBatchResolvesOnceAllItsRepliesArrived() throws {
        let (channel, handler) = try self.makeChannel()
        let before = self.send(["PING"], on: channel, handler: handler)
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        var bytes = ByteBuffer()
        RedisCommand(["SET", "a", 1]).encode(into: &bytes)
        RedisCommand(["GET", "a"]).encode(into: &bytes)
        RedisCommand(["GET", "b"]).encode(into: &bytes)
        handler.send(bytes, count: 3, name: "pipeline", promise: promise)
        let after = self.send(["PING"], on: channel, handler: handler)
        var batchDone = false
        promise.futureResult.assumeIsolated().whenComplete { _ in batchDone = true }

        try channel.writeInbound(ByteBuffer(string: "+PONG\r\n+OK\r\n$1\r\n1\r\n"))
        #expect(try before.wait() == .simpleString("PONG"))
        #expect(!batchDone)
        try channel.writeInbound(ByteBuffer(string: "-ERR x\r\n+PONG\r\n"))
        #expect(try promise.futureResult.wait() == [.simpleString("OK"), .bulkString(ByteBuffer(string: "1")), .error("ERR x")])
        #expect(try after.wait() == .simpleString("PONG"))
        _ = try channel.finish()
    }

    @Test func errorRepliesResolveAsErrorValues() throws {
        let (channel, handler) = try self.makeChannel()
        let reply = self.send(["LPUSH", "string-key", "x"], on: channel, handler: handler)
        try channel.writeInbound(ByteBuffer(string: "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"))
        #expect(try reply.wait() == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
        _ = try channel.finish()
    }

    @Test func pushFramesDoNotConsumeAPendingReply() throws {
        let (channel, handler) = try self.makeChannel()
        let reply = self.send(["GET", "a"], on: channel, handler: handler)
        try channel.writeInbound(ByteBuffer(string: ">2\r\n+invalidate\r\n*1\r\n+a\r\n+OK\r\n"))
        #expect(try reply.wait() == .simpleString("OK"))
        _ = try channel.finish()
    }

    @Test func malformedReplyFailsPendingCommandsAndClosesTheChannel() throws {
        let (channel, handler) = try self.makeChannel()
        let reply = self.send(["GET", "a"], on: channel, handler: handler)
        // The handler consumes the decode error (it closes the channel) rather than rethrowing it.
        try channel.writeInbound(ByteBuffer(string: "?garbage\r\n"))
        #expect(throws: RedisError.protocolError("unknown type byte 0x3f")) { try reply.wait() }
        #expect(!channel.isActive)
    }

    @Test func unexpectedReplyClosesTheChannel() throws {
        let (channel, _) = try self.makeChannel()
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n"))
        #expect(!channel.isActive)
    }

    @Test func timeoutFailsEveryPendingCommandAndCloses() throws {
        let (channel, handler) = try self.makeChannel(commandTimeout: .seconds(2))
        let first = self.send(["BLPOP", "q", 0], on: channel, handler: handler)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let second = self.send(["GET", "a"], on: channel, handler: handler)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(throws: RedisError.commandTimeout(command: "BLPOP", timeout: .seconds(2))) { try first.wait() }
        #expect(throws: RedisError.commandTimeout(command: "BLPOP", timeout: .seconds(2))) { try second.wait() }
        #expect(!channel.isActive)
    }

    @Test func aTimedOutPipelineIsNamedInTheError() throws {
        let (channel, handler) = try self.makeChannel(commandTimeout: .seconds(1))
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        handler.send(ByteBuffer(), count: 3, name: "SET", promise: promise)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(throws: RedisError.commandTimeout(command: "pipeline of 3 commands starting with SET", timeout: .seconds(1))) {
            try promise.futureResult.wait()
        }
    }

    @Test func timerReArmsForTheNextCommandAfterARepliedOne() throws {
        let (channel, handler) = try self.makeChannel(commandTimeout: .seconds(2))
        let first = self.send(["GET", "a"], on: channel, handler: handler)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let second = self.send(["GET", "b"], on: channel, handler: handler)
        try channel.writeInbound(ByteBuffer(string: "+1\r\n"))
        #expect(try first.wait() == .simpleString("1"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))  // first's deadline: second still has 1s
        #expect(channel.isActive)
        try channel.writeInbound(ByteBuffer(string: "+2\r\n"))
        #expect(try second.wait() == .simpleString("2"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func idleConnectionsSendKeepAlivePings() throws {
        let (channel, handler) = try self.makeChannel(commandTimeout: .seconds(1), keepAlive: .seconds(10))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "*1\r\n$4\r\nPING\r\n")
        try channel.writeInbound(ByteBuffer(string: "+PONG\r\n"))
        #expect(channel.isActive)

        // A write postpones the next PING by a full interval.
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        let reply = self.send(["GET", "a"], on: channel, handler: handler)
        _ = try channel.readOutbound(as: ByteBuffer.self)
        try channel.writeInbound(ByteBuffer(string: "$-1\r\n"))
        #expect(try reply.wait() == .bulkString(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil)

        // An unanswered PING times out and closes the connection, as any command would.
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    /// Regression: an idle subscriber never PINGs, and its keep-alive timer must not re-arm in the
    /// past (which spun the event loop at 100 % CPU and starved every other channel on it).
    @Test(.timeLimit(.minutes(1)))
    func idleSubscriberConnectionsDoNotSpinTheEventLoop() throws {
        let (channel, handler) = try self.makeChannel(commandTimeout: .seconds(1), keepAlive: .seconds(10))
        handler.enterSubscriberMode { _ in }
        for _ in 0..<10 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(channel.isActive)
    }

    /// While a command is in flight no PING is queued behind it, and the timer re-arms in the future.
    @Test(.timeLimit(.minutes(1)))
    func keepAliveWaitsWhileACommandIsPending() throws {
        let (channel, handler) = try self.makeChannel(commandTimeout: .seconds(100), keepAlive: .seconds(10))
        let reply = self.send(["BLPOP", "k", "0"], on: channel, handler: handler)
        _ = try channel.readOutbound(as: ByteBuffer.self)
        channel.embeddedEventLoop.advanceTime(by: .seconds(35))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        try channel.writeInbound(ByteBuffer(string: "*-1\r\n"))
        #expect(try reply.wait() == .array(nil))
    }

    @Test func closingFailsPendingAndLaterCommands() throws {
        let (channel, handler) = try self.makeChannel()
        let pending = self.send(["GET", "a"], on: channel, handler: handler)
        try channel.close().wait()
        #expect(throws: RedisError.connectionClosed) { try pending.wait() }
        let late = self.send(["GET", "b"], on: channel, handler: handler)
        #expect(throws: RedisError.connectionClosed) { try late.wait() }
    }

    @Test func subscriberModeRoutesEveryValueToThePushHandler() throws {
        let (channel, handler) = try self.makeChannel()
        let received = Recorder<RESPValue>()
        handler.enterSubscriberMode { value in received.append(value) }
        try channel.writeInbound(ByteBuffer(string: "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n>3\r\n+message\r\n+ch\r\n+hi\r\n"))
        #expect(received.all.count == 2)
        #expect(channel.isActive)
        _ = try channel.finish()
    }
}
