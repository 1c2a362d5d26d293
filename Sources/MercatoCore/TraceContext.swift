/// A W3C Trace Context (`traceparent`): the trace a request belongs to, carried across processes so
/// one checkout's log lines in the API server and in the inventory and tax services share a trace id.
public struct TraceContext: Sendable, Equatable {
    /// 32 lowercase hex digits.
    public var traceID: String
    /// 16 lowercase hex digits: this hop's span.
    public var spanID: String
    public var sampled: Bool
    /// True when an OpenTelemetry tracer owns this context (it also propagates it on outgoing calls).
    public var fromTracer = false

    public init(traceID: String, spanID: String, sampled: Bool, fromTracer: Bool = false) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
        self.fromTracer = fromTracer
    }

    /// The context of the request being served, if any.
    @TaskLocal public static var current: TraceContext?

    /// Continues the trace of an incoming `traceparent`, or starts a new one when it is absent or malformed.
    public static func continuing(_ traceparent: String?) -> TraceContext {
        var generator = SystemRandomNumberGenerator()
        if let header = traceparent, let parsed = parse(header) {
            return TraceContext(traceID: parsed.traceID, spanID: hex(generator.next(), digits: 16), sampled: parsed.sampled)
        }
        return TraceContext(
            traceID: hex(generator.next(), digits: 16) + hex(generator.next(), digits: 16), spanID: hex(generator.next(), digits: 16), sampled: true)
    }

    /// The header for a call made from this span.
    public var traceparent: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }

    /// The trace of a `traceparent` header, or nil when it is malformed.
    public static func parse(_ header: String) -> (traceID: String, sampled: Bool)? {
        let parts = header.split(separator: "-")
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
              parts[1].allSatisfy(\.isHexDigit), parts[2].allSatisfy(\.isHexDigit), parts[3].allSatisfy(\.isHexDigit),
              parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" })
        else { return nil }
        return (parts[1].lowercased(), (UInt8(parts[3], radix: 16) ?? 0) & 1 == 1)
    }

    static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
