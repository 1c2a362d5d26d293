import HTTPTypes
import Hummingbird
import MercatoCore

/// Continues (or starts) the request's W3C trace: the context is task local for outgoing calls, and
/// every log line of the request carries `trace_id`.
public struct TraceContextMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let trace = TraceContext.continuing(request.headers[.traceparent])
        var context = context
        context.logger[metadataKey: "trace_id"] = "\(trace.traceID)"
        context.logger[metadataKey: "span_id"] = "\(trace.spanID)"
        return try await TraceContext.$current.withValue(trace) { try await next(request, context) }
    }
}

extension HTTPField.Name {
    /// W3C Trace Context.
    public static let traceparent = HTTPField.Name("traceparent")!
}

/// One log line per request for the small services: route, status, duration (trace id from the logger).
public struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Problem.from(error).response()
        }
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        context.logger.info("request", metadata: [
            "http.route": "\(context.endpointPath ?? "unmatched")", "http.method": "\(request.method.rawValue)",
            "http.status": "\(response.status.code)", "duration_ms": "\(Double(seconds) * 1000 + Double(attoseconds) / 1e15)",
        ])
        return response
    }
}
