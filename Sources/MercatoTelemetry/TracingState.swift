import Tracing

/// Whether an OpenTelemetry tracer is bootstrapped (`OTEL_EXPORTER_OTLP_ENDPOINT`). Read once, on first
/// use, which comes after the bootstrap at startup. With the no-op tracer, span code is skipped
/// entirely: span middleware alone cost a third of a cached response's throughput.
public enum TracingState {
    public static let active = !(InstrumentationSystem.tracer is NoOpTracer)

    /// Runs `body` in a span when tracing is on, directly otherwise.
    public static func span<T>(
        _ name: String, ofKind kind: SpanKind = .internal, _ body: (any Span) async throws -> T
    ) async throws -> T {
        guard active else { return try await body(NoOpTracer.NoOpSpan(context: .topLevel)) }
        return try await withSpan(name, ofKind: kind) { span in try await body(span) }
    }
}
