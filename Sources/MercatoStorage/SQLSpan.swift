import MercatoCore
import Tracing

/// A client span per SQL statement (a no-op unless a tracer is bootstrapped): the operation and the
/// statement's first line, never its bound values.
enum SQLSpan {
    static func run<T>(_ sql: SQL, system: String, _ body: () async throws -> T) async throws -> T {
        // The no-op tracer (tracing off) must cost next to nothing: names and attributes only when recording.
        guard TracingState.active else { return try await body() }
        let operation = sql.text.prefix { !$0.isWhitespace }.uppercased()
        return try await withSpan("db \(operation)", ofKind: .client) { span in
            if span.isRecording {
                span.attributes["db.system"] = system
                span.attributes["db.operation"] = operation
                span.attributes["db.statement"] = String(sql.text.prefix(200))
            }
            return try await body()
        }
    }
}
