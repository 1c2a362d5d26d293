import MercatoCore
import MercatoTelemetry
import Synchronization
import Tracing

/// Around every SQL statement: counts statements in flight (for `/metrics`) and, when a tracer is
/// bootstrapped, records a client span with the operation, the statement text (never bound values)
/// and the rows returned.
enum SQLSpan {
    static func run(_ sql: SQL, system: String, _ body: () async throws -> [ResultRow]) async throws -> [ResultRow] {
        DatabaseActivity.inFlight.add(1, ordering: .relaxed)
        defer { DatabaseActivity.inFlight.subtract(1, ordering: .relaxed) }
        guard TracingState.active else { return try await body() }
        let operation = sql.text.prefix { !$0.isWhitespace }.uppercased()
        return try await withSpan("db \(operation)", ofKind: .client) { span in
            span.attributes["db.system"] = system
            span.attributes["db.operation"] = operation
            span.attributes["db.statement"] = String(sql.text.prefix(200))
            let rows = try await body()
            span.attributes["db.response.returned_rows"] = rows.count
            return rows
        }
    }
}

/// Process-wide database activity, read by `/metrics`.
public enum DatabaseActivity {
    /// Statements running right now (with PostgreSQL at most the pool size; more wait for a connection).
    public static let inFlight = Atomic<Int>(0)
}
