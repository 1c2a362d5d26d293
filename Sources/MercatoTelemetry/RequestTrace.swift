import Logging
import W3CTraceContext

/// The W3C trace a request belongs to (`traceparent`), carried across processes so that one checkout's log
/// lines in the API server and in the inventory and tax services share a trace id. Parsing, validation
/// and random ids are W3CTraceContext's; this adds the request being served (task local) and whether an
/// OpenTelemetry tracer owns the context.
public struct RequestTrace: Sendable {
    public var context: TraceContext
    /// True when an OpenTelemetry tracer owns this context (it also propagates it on outgoing calls).
    public var fromTracer: Bool

    public init(context: TraceContext, fromTracer: Bool = false) {
        self.context = context
        self.fromTracer = fromTracer
    }

    /// The trace of the request being served, if any.
    @TaskLocal public static var current: RequestTrace?

    /// 32 lowercase hex digits.
    public var traceID: String { context.traceID.description }
    /// 16 lowercase hex digits: this hop's span.
    public var spanID: String { context.spanID.description }
    public var sampled: Bool { context.flags.contains(.sampled) }
    /// The header for a call made from this span.
    public var traceparent: String { context.traceParentHeaderValue }

    /// Continues the trace of an incoming `traceparent` with a new span of its own, or starts a new trace
    /// when the header is absent or malformed (W3C's rules: version 00, non-zero ids, lowercase hex).
    public static func continuing(_ traceparent: String?) -> RequestTrace {
        if let header = traceparent, let incoming = try? TraceContext(traceParentHeaderValue: header) {
            return RequestTrace(context: TraceContext(traceID: incoming.traceID, spanID: .random(), flags: incoming.flags, state: TraceState()))
        }
        return RequestTrace(context: TraceContext(traceID: .random(), spanID: .random(), flags: .sampled, state: TraceState()))
    }

    /// The context a tracer is about to send (its `traceparent`), as its own: nil when the header is malformed.
    public static func ownedByTracer(_ traceparent: String) -> RequestTrace? {
        (try? TraceContext(traceParentHeaderValue: traceparent)).map { RequestTrace(context: $0, fromTracer: true) }
    }
}

extension RequestTrace {
    /// Adds `trace_id` and `span_id` of the request being served to every log line written while serving it.
    ///
    /// A provider rather than logger metadata set per request: the ids are formatted only when a line is
    /// written, and setting metadata on swift-log's `StreamLogHandler` re-renders all of it on every set. The
    /// storefront's hits log nothing; the two sets per request were about 4 % of a cached listing's CPU in a
    /// profile, and the listing's CPU per request fell 9 % without them (docs/benchmarks.md).
    public static let logMetadata = Logger.MetadataProvider {
        guard let trace = RequestTrace.current else { return [:] }
        return ["trace_id": .stringConvertible(trace.context.traceID), "span_id": .stringConvertible(trace.context.spanID)]
    }
}
