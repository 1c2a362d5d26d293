import HTTPTypes
import Hummingbird
import Instrumentation
import Tracing
import MercatoCore
import MercatoTelemetry
import ServiceContextModule

/// Continues (or starts) the request's W3C trace: the context is task local for outgoing calls, and
/// every log line of the request carries `trace_id` (through `RequestTrace.logMetadata`).
public struct TraceContextMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // With an OpenTelemetry tracer (its middleware runs first) the log ids are the span's own;
        // without one, the incoming header is continued by hand.
        let trace = (TracingState.active ? Self.fromTracer() : nil) ?? RequestTrace.continuing(request.headers[.traceparent])
        // The log lines' ids come from `RequestTrace.logMetadata`, the loggers' metadata provider.
        return try await RequestTrace.$current.withValue(trace) { try await next(request, context) }
    }

    /// The current span's W3C context, as the bootstrapped instrument would send it; nil with the no-op tracer.
    static func fromTracer() -> RequestTrace? {
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(ServiceContext.current ?? .topLevel, into: &carrier, using: DictionaryInjector())
        return carrier["traceparent"].flatMap(RequestTrace.ownedByTracer)
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key.lowercased()] = value
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
        // Errors have become problems already: `ProblemMiddleware`, the boundary, runs inside this one.
        let response = try await next(request, context)
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        context.logger.info("request", metadata: [
            "http.route": "\(context.endpointPath ?? "unmatched")", "http.method": "\(request.method.rawValue)",
            "http.status": "\(response.status.code)", "duration_ms": "\(Double(seconds) * 1000 + Double(attoseconds) / 1e15)",
        ])
        return response
    }
}

extension Router {
    /// Adds Hummingbird's span-per-request middleware when a tracer is bootstrapped.
    public func addTracingIfActive() {
        if TracingState.active { add(middleware: TracingMiddleware()) }
    }
}
