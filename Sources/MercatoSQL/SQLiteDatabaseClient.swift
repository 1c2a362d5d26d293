import MercatoCore
import MercatoTelemetry
import Foundation
import Logging
import SQLiteNIO
import Synchronization

/// The embedded store: one SQLite file in WAL mode, one writer connection and a few reader connections.
public final class SQLiteDatabaseClient: DatabaseClient {
    private let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    private let writeLock = AsyncLock()
    private let nextReader = Atomic<Int>(0)
    public var dialect: SQLDialect { .sqlite }

    private init(writer: SQLiteConnection, readers: [SQLiteConnection]) {
        self.writer = writer
        self.readers = readers
    }

    /// Opens (creating if needed) the database file at `path`.
    public static func open(path: String, readers: Int = 4, logger: Logger) async throws -> SQLiteDatabaseClient {
        let writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000"] {
            _ = try await writer.query(pragma)
        }
        var readerConnections: [SQLiteConnection] = []
        for _ in 0..<max(1, readers) {
            let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            _ = try await reader.query("PRAGMA busy_timeout=5000")
            _ = try await reader.query("PRAGMA query_only=ON")
            readerConnections.append(reader)
        }
        return SQLiteDatabaseClient(writer: writer, readers: readerConnections)
    }

    /// Reads go to a reader connection; anything that writes goes through the writer lock.
    public func query(_ sql: SQL) async throws -> [ResultRow] {
        if Self.isRead(sql.text) {
            let index = nextReader.wrappingAdd(1, ordering: .relaxed).oldValue % readers.count
            return try await Self.run(sql, on: readers[index])
        }
        return try await writeLock.withLock { try await Self.run(sql, on: writer) }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await writeLock.withLock {
            _ = try await Self.run(SQL("BEGIN IMMEDIATE"), on: writer)
            do {
                let result = try await body(SQLiteTransactionExecutor(connection: writer))
                _ = try await Self.run(SQL("COMMIT"), on: writer)
                return result
            } catch {
                _ = try? await Self.run(SQL("ROLLBACK"), on: writer)
                throw error
            }
        }
    }

    public func close() async {
        for connection in readers + [writer] {
            try? await connection.close()
        }
    }

    private static func isRead(_ text: String) -> Bool {
        let head = text.drop(while: { $0 == " " || $0 == "\n" }).prefix(6).uppercased()
        return head == "SELECT" || head.hasPrefix("WITH")
    }

    static func run(_ sql: SQL, on connection: SQLiteConnection) async throws -> [ResultRow] {
        StatementCounter.record()
        let binds: [SQLiteData] = sql.binds.map { value in
            switch value {
            case .null: .null
            case .int(let v): .integer(SQLiteInt64(v))
            case .text(let s): .text(s)
            case .uuid(let u): .text(u.uuidString.lowercased())
            case .bool(let b): .integer(b ? 1 : 0)
            }
        }
        do {
            return try await SQLSpan.run(sql, system: "sqlite") {
                let rows = try await RequestTimings.measure(.database) { try await connection.query(translate(sql.text), binds) }
                return rows.map { row in
                    ResultRow(values: row.columns.map { column in
                        switch column.data {
                        case .integer(let v): .int(Int64(v))
                        case .float(let d): .int(Int64(d))
                        case .text(let s): .text(s)
                        case .blob(let b): .text(String(buffer: b))
                        case .null: .null
                        }
                    })
                }
            }
        } catch let error as SQLiteError {
            if error.reason == .constraintUniqueFailed || error.reason == .constraintPrimaryKeyFailed {
                throw StorageError.uniqueViolation(error.message)
            }
            throw StorageError.database("sqlite: \(error.message)")
        }
    }

    /// PostgreSQL's `$1` placeholders become SQLite's numbered `?1`.
    static func translate(_ text: String) -> String {
        guard text.contains("$") else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            out.append(ch == "$" ? "?" : ch)
        }
        return out
    }
}

/// The writer connection while a transaction holds the write lock.
struct SQLiteTransactionExecutor: SQLExecutor {
    let connection: SQLiteConnection
    var dialect: SQLDialect { .sqlite }

    func query(_ sql: SQL) async throws -> [ResultRow] {
        try await SQLiteDatabaseClient.run(sql, on: connection)
    }
}
