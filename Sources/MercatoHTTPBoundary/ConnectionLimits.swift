import HTTPTypes
import Hummingbird
import HummingbirdCore
import MercatoCore
import NIOCore
import NIOHTTPTypes
import Synchronization

/// How long and how many connections a server keeps, so slow or idle clients cannot exhaust it.
///
/// - `idleTimeout`: a connection with no request in progress is closed after this long. That reaps idle
///   keep-alive connections, and bounds how long a client may take to send a request's head: the timer
///   runs until the whole head is parsed, so trickling header bytes (slowloris) does not extend it.
/// - `bodyTimeout`: once its head has arrived, a request's whole body must arrive within this long.
/// - `maxConnections`: connections beyond this are answered `503` with `Retry-After` and closed.
public struct ConnectionLimits: Sendable, Equatable {
    public var idleTimeout: Duration
    public var bodyTimeout: Duration
    public var maxConnections: Int

    public init(idleTimeout: Duration = .seconds(20), bodyTimeout: Duration = .seconds(30), maxConnections: Int = 4096) {
        self.idleTimeout = idleTimeout
        self.bodyTimeout = bodyTimeout
        self.maxConnections = maxConnections
    }
}

/// The open connections of one server, against its limit.
public final class ConnectionGate: Sendable {
    public let limit: Int
    private let open = Atomic<Int>(0)

    public init(limit: Int) { self.limit = limit }

    /// Connections currently admitted.
    public var count: Int { open.load(ordering: .relaxed) }

    /// Admits one more connection if there is room.
    func enter() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = open.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func leave() { open.subtract(1, ordering: .acquiringAndReleasing) }
}

/// Counts a connection against its server's `ConnectionGate`; over the limit, answers the first request
/// with `503` and `Retry-After`, then closes. (Answering a request rather than dropping the connection tells
/// the client why; a refused connection holds no more than its socket until then.)
final class ConnectionLimitHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let gate: ConnectionGate
    private var admitted = false
    private var refused = false

    init(gate: ConnectionGate) { self.gate = gate }

    func handlerAdded(context: ChannelHandlerContext) {
        admitted = gate.enter()
        refused = !admitted
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if admitted { gate.leave() }
        admitted = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard refused else { return context.fireChannelRead(data) }
        guard case .head = unwrapInboundIn(data) else { return }
        refused = false  // one answer
        let body = Problem(
            status: .serviceUnavailable, type: "too-many-connections", title: "Service Unavailable",
            detail: "the server holds its maximum of \(gate.limit) connections; retry shortly").json
        let head = HTTPResponse(status: .serviceUnavailable, headerFields: [
            .contentType: "application/problem+json", .contentLength: String(body.count), .connection: "close",
            .retryAfter: "1", .cacheControl: "no-store",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}

/// Closes a connection whose request body has not fully arrived `timeout` after its head: the idle timeout
/// stops counting once a head is parsed, and a body trickled byte by byte would otherwise hold the
/// connection (and the task reading it) without end.
final class RequestBodyDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: Duration) { self.timeout = TimeAmount(timeout) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { loopBound.value.close(promise: nil) }
        case .end:
            deadline?.cancel()
            deadline = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 whose parser errors are answered as problems (see `HTTPParseErrorHandler`), with the
    /// timeouts and the connection limit of `limits`. `gate` counts this server's connections.
    public static func http1WithProblems(limits: ConnectionLimits, gate: ConnectionGate) -> HTTPServerBuilder {
        .http1(configuration: .init(
            additionalChannelHandlers: [
                ConnectionLimitHandler(gate: gate), HTTPParseErrorHandler(), RequestBodyDeadlineHandler(timeout: limits.bodyTimeout),
            ],
            idleTimeout: TimeAmount(limits.idleTimeout)))
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
