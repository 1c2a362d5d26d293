import NIOCore

/// Matches replies to commands in FIFO order and enforces the per-command timeout.
///
/// All methods run on the channel's event loop. Redis answers commands on one connection in
/// the order it received them, so a queue of waiting promises is all the bookkeeping
/// pipelining needs.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case open(ChannelHandlerContext)
        case closed
    }

    private let commandTimeout: TimeAmount
    private var decoder: RESPDecoder
    private var state: State = .closed
    private var pending = CircularBuffer<PendingReply>(initialCapacity: 16)
    private var timeoutTask: Scheduled<Void>?
    /// PING after this much time without writes, so dead idle connections are noticed
    /// (the PING times out) before a real command has to find out.
    private let keepAliveInterval: TimeAmount?
    private var keepAliveTask: Scheduled<Void>?
    private var lastWrite = NIODeadline.uptimeNanoseconds(0)
    /// Receives RESP3 pushes, and every value once the connection is in subscriber mode.
    private var pushHandler: (@Sendable (RESPValue) -> Void)?
    /// In RESP2 subscribe mode, messages are plain arrays that answer no command.
    private var isSubscriber = false

    let closedFlag = ClosedFlag()

    init(commandTimeout: Duration, keepAliveInterval: Duration? = nil, parser: RESPParser = RESPParser()) {
        self.commandTimeout = TimeAmount(commandTimeout)
        self.keepAliveInterval = keepAliveInterval.map(TimeAmount.init)
        self.decoder = RESPDecoder(parser: parser)
    }

    // MARK: Called by RedisConnection (on the event loop)

    /// Queues a promise for the reply to the command in `bytes`, then writes it.
    func send(_ bytes: ByteBuffer, name: String, promise: EventLoopPromise<RESPValue>) {
        guard case .open(let context) = self.state else {
            promise.fail(RedisError.connectionClosed)
            return
        }
        self.lastWrite = context.eventLoop.now
        let deadline = self.lastWrite + self.commandTimeout
        self.pending.append(PendingReply(kind: .single(promise), name: name, deadline: deadline))
        self.scheduleTimeout(context: context)
        context.writeAndFlush(self.wrapOutboundOut(bytes), promise: nil)
    }

    /// Queues one promise for the `count` replies to the commands in `bytes`, then writes them.
    /// One promise per batch rather than per command keeps deep pipelines cheap.
    func send(_ bytes: ByteBuffer, count: Int, name: String, promise: EventLoopPromise<[RESPValue]>) {
        guard case .open(let context) = self.state else {
            promise.fail(RedisError.connectionClosed)
            return
        }
        self.lastWrite = context.eventLoop.now
        let deadline = self.lastWrite + self.commandTimeout
        let batch = ReplyBatch(expected: count, promise: promise)
        self.pending.append(PendingReply(kind: .batch(batch), name: name, deadline: deadline))
        self.scheduleTimeout(context: context)
        context.writeAndFlush(self.wrapOutboundOut(bytes), promise: nil)
    }

    /// Writes bytes that expect no reply (SUBSCRIBE on a subscriber connection).
    func write(_ bytes: ByteBuffer) {
        guard case .open(let context) = self.state else { return }
        context.writeAndFlush(self.wrapOutboundOut(bytes), promise: nil)
    }

    func enterSubscriberMode(_ handler: @escaping @Sendable (RESPValue) -> Void) {
        self.isSubscriber = true
        self.pushHandler = handler
    }

    // MARK: ChannelHandler

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            self.open(context: context)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.open(context: context)
        context.fireChannelActive()
    }

    private func open(context: ChannelHandlerContext) {
        guard case .closed = self.state else { return }
        self.state = .open(context)
        self.lastWrite = context.eventLoop.now
        self.scheduleKeepAlive(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(.connectionClosed)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.failAll(.connectionClosed)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.failAll(error as? RedisError ?? .connectionClosed)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.decoder.append(self.unwrapInboundIn(data))
        do {
            while case .open = self.state, let value = try self.decoder.next() {
                self.dispatch(value, context: context)
            }
        } catch {
            self.failAll(error)
            context.close(promise: nil)
        }
    }

    private func dispatch(_ value: RESPValue, context: ChannelHandlerContext) {
        if case .push = value {
            self.pushHandler?(value)
            return
        }
        if self.isSubscriber {
            self.pushHandler?(value)
            return
        }
        guard let head = self.pending.first else {
            // A reply nobody asked for means we no longer know which reply belongs to which command.
            self.failAll(.protocolError("received a reply with no command waiting for it: \(value)"))
            context.close(promise: nil)
            return
        }
        switch head.kind {
        case .single(let promise):
            self.pending.removeFirst()
            promise.succeed(value)
        case .batch(let batch):
            if batch.append(value) {
                self.pending.removeFirst()
                batch.complete()
            }
        }
    }

    // MARK: Timeouts

    /// One timer for the oldest pending command. Deadlines grow along the FIFO, so when it fires
    /// it either finds the head expired or re-arms for the new head; no timer per command.
    private func scheduleTimeout(context: ChannelHandlerContext) {
        guard self.timeoutTask == nil, let head = self.pending.first else { return }
        self.timeoutTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: head.deadline) {
            self.timeoutTask = nil
            self.checkTimeout()
        }
    }

    private func checkTimeout() {
        guard case .open(let context) = self.state, let head = self.pending.first else { return }
        if head.deadline <= context.eventLoop.now {
            self.failAll(.commandTimeout(command: head.description, timeout: Duration(self.commandTimeout)))
            context.close(promise: nil)
        } else {
            self.scheduleTimeout(context: context)
        }
    }

    // MARK: Keep-alive

    private func scheduleKeepAlive(context: ChannelHandlerContext) {
        guard let interval = self.keepAliveInterval else { return }
        // Never a deadline in the past: when no PING was sent (subscriber, or commands in flight),
        // lastWrite stays old, and re-arming at lastWrite + interval would spin the event loop.
        let due = self.lastWrite + interval
        let deadline = due > context.eventLoop.now ? due : context.eventLoop.now + interval
        self.keepAliveTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.keepAliveTask = nil
            self.keepAlive()
        }
    }

    private func keepAlive() {
        guard case .open(let context) = self.state, let interval = self.keepAliveInterval else { return }
        // Subscriber replies go to the push handler, so a PING there would never be answered
        // through the queue; busy connections prove their liveness with real replies.
        if !self.isSubscriber, self.pending.isEmpty, context.eventLoop.now >= self.lastWrite + interval {
            let ping = RedisCommand(["PING"])
            self.send(ping.bytes, name: "PING (keep-alive)", promise: context.eventLoop.makePromise(of: RESPValue.self))
        }
        self.scheduleKeepAlive(context: context)
    }

    private func failAll(_ error: RedisError) {
        self.closedFlag.set()
        self.state = .closed
        self.timeoutTask?.cancel()
        self.timeoutTask = nil
        self.keepAliveTask?.cancel()
        self.keepAliveTask = nil
        let failed = self.pending
        self.pending.removeAll()
        for reply in failed {
            reply.fail(error)
        }
    }
}

/// What waits at one position of the reply FIFO.
private struct PendingReply {
    enum Kind {
        case single(EventLoopPromise<RESPValue>)
        case batch(ReplyBatch)
    }

    let kind: Kind
    /// Command name (the first one's, for a batch) for timeout errors.
    let name: String
    let deadline: NIODeadline

    /// Built only when needed: interpolating a string per pipeline was measurable.
    var description: String {
        switch self.kind {
        case .single: return self.name
        case .batch(let batch): return "pipeline of \(batch.expected) commands starting with \(self.name)"
        }
    }

    func fail(_ error: RedisError) {
        switch self.kind {
        case .single(let promise): promise.fail(error)
        case .batch(let batch): batch.promise.fail(error)
        }
    }
}

/// Collects the replies of one pipeline; lives on the event loop only.
private final class ReplyBatch {
    let promise: EventLoopPromise<[RESPValue]>
    let expected: Int
    private var replies: [RESPValue]

    init(expected: Int, promise: EventLoopPromise<[RESPValue]>) {
        self.expected = expected
        self.promise = promise
        self.replies = []
        self.replies.reserveCapacity(expected)
    }

    /// Returns true once the last expected reply arrived.
    func append(_ reply: RESPValue) -> Bool {
        self.replies.append(reply)
        return self.replies.count == self.expected
    }

    func complete() {
        self.promise.succeed(self.replies)
    }
}
