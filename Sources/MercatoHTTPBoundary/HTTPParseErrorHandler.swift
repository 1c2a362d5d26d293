import HTTPTypes
import Hummingbird
import HummingbirdCore
import MercatoCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request that is not valid HTTP/1.1 with an RFC 9457 problem, then closes the connection.
///
/// Hummingbird answers parser errors (raw UTF-8 in a path, an oversized request line or header
/// block, `Content-Length` together with chunked encoding, …) with a bare 400 and no body, so a
/// client cannot tell what was wrong. This handler sits after the HTTP codec and writes the problem
/// itself when no response is in flight; an error in the middle of a request's body is left to the
/// application, which may already be answering.
public final class HTTPParseErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    private var requestsStarted = 0
    private var responsesFinished = 0
    private var answered = false

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { requestsStarted += 1 }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { responsesFinished += 1 }
        context.write(data, promise: promise)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        // The decoder may report more errors for the bytes after the first; one answer is enough.
        guard !answered else { return }
        guard requestsStarted == responsesFinished else { return context.fireErrorCaught(error) }
        answered = true
        let (head, body) = Self.response(for: parserError)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    /// The status and problem body for a parser error (pure, for tests).
    public static func response(for error: HTTPParserError) -> (HTTPResponse, [UInt8]) {
        let status: HTTPResponse.Status
        let detail: String
        switch error {
        case .headerOverflow:
            status = .requestHeaderFieldsTooLarge
            detail = "the request line or header block is larger than the server accepts"
        case .unexpectedContentLength:
            status = .badRequest
            detail = "the request is not valid HTTP/1.1: Content-Length is not allowed here (for example together with chunked transfer encoding)"
        default:
            status = .badRequest
            detail = "the request is not valid HTTP/1.1: \(error)"
        }
        let body = Problem(status: status, type: Problem.slug(status.reasonPhrase), title: status.reasonPhrase, detail: detail).json
        let head = HTTPResponse(status: status, headerFields: [
            .contentType: "application/problem+json", .contentLength: String(body.count), .connection: "close", .cacheControl: "no-store",
        ])
        return (head, body)
    }
}

