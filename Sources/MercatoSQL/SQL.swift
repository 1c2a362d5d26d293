import Foundation
import MercatoCore
import MercatoFences

/// A value bound to or read from a SQL statement, common to PostgreSQL and SQLite.
public enum SQLValue: Sendable, Hashable {
    case null
    case int(Int64)
    case text(String)
    case uuid(UUID)
    case bool(Bool)
}

/// A statement with `$1`-style placeholders and its bound values.
public struct SQL: Sendable {
    public var text: String
    public var binds: [SQLValue]
    /// Hot-path statements are prepared once per connection on PostgreSQL (planning is not free).
    public var prepared: Bool
    /// A read that a replica may answer (when the caller's `ReadRouting.replicaFence` allows one). Only
    /// statements marked so ever leave the primary: a write inside a replica-routed task still goes to it.
    public var replicaReadable: Bool = false

    public init(_ text: String, _ binds: [SQLValue] = [], prepared: Bool = false) {
        self.text = text
        self.binds = binds
        self.prepared = prepared
    }

    /// This statement, marked as a read a replica may answer.
    public var onReplica: SQL {
        var sql = self
        sql.replicaReadable = true
        return sql
    }
}

/// The SQL flavour an executor speaks; statements differ only in a few places (types, DDL).
public enum SQLDialect: Sendable {
    case postgres
    case sqlite
}

/// One result row; columns are read by position with typed accessors.
public struct ResultRow: Sendable {
    public var values: [SQLValue]

    public init(values: [SQLValue]) { self.values = values }

    /// Column `index` as an integer (SQLite booleans are integers too).
    public func int(_ index: Int) throws -> Int64 {
        switch values[index] {
        case .int(let v): return v
        case .bool(let b): return b ? 1 : 0
        case .text(let s): if let v = Int64(s) { return v }
        default: break
        }
        throw StorageError.decoding("column \(index) is not an integer: \(values[index])")
    }

    /// Column `index` as an optional integer.
    public func optionalInt(_ index: Int) throws -> Int64? {
        if case .null = values[index] { return nil }
        return try int(index)
    }

    public func text(_ index: Int) throws -> String {
        switch values[index] {
        case .text(let s): return s
        case .uuid(let u): return u.uuidString.lowercased()
        case .int(let v): return String(v)
        default: throw StorageError.decoding("column \(index) is not text: \(values[index])")
        }
    }

    public func optionalText(_ index: Int) throws -> String? {
        if case .null = values[index] { return nil }
        return try text(index)
    }

    public func bool(_ index: Int) throws -> Bool {
        switch values[index] {
        case .bool(let b): return b
        case .int(let v): return v != 0
        default: throw StorageError.decoding("column \(index) is not a boolean: \(values[index])")
        }
    }
}

/// Errors from the storage layer itself (not domain errors).
public enum StorageError: Error, Sendable, CustomStringConvertible {
    case decoding(String)
    case configuration(String)
    case uniqueViolation(String)
    /// The server could not be reached or ended the connection (refused, closed, shutting down, crashed):
    /// the statement may succeed on another server or later.
    case unavailable(String)
    /// A serialization failure or deadlock, or on a hot standby a query cancelled by a conflict with WAL
    /// replay: running the statement again (or on the primary) may succeed.
    case transient(String)
    case database(String)

    /// True when the server, not the statement, failed.
    public var isUnavailable: Bool {
        if case .unavailable = self { true } else { false }
    }

    public var description: String {
        switch self {
        case .decoding(let m): "decoding: \(m)"
        case .configuration(let m): "configuration: \(m)"
        case .uniqueViolation(let m): "unique violation: \(m)"
        case .unavailable(let m): "database unavailable: \(m)"
        case .transient(let m): "transient: \(m)"
        case .database(let m): "database: \(m)"
        }
    }
}

/// Something that runs SQL statements: a pool, a connection, or a transaction.
public protocol SQLExecutor: Sendable {
    var dialect: SQLDialect { get }
    /// Runs a statement and returns all its rows.
    func query(_ sql: SQL) async throws -> [ResultRow]
}

extension SQLExecutor {
    /// Runs a statement, discarding rows.
    public func execute(_ sql: SQL) async throws {
        _ = try await query(sql)
    }

    /// Runs a statement with placeholders, for brevity at call sites.
    public func query(_ text: String, _ binds: SQLValue...) async throws -> [ResultRow] {
        try await query(SQL(text, binds))
    }

    public func execute(_ text: String, _ binds: SQLValue...) async throws {
        _ = try await query(SQL(text, binds))
    }
}

/// A database: an executor that can also run a transaction on one connection.
public protocol DatabaseClient: SQLExecutor {
    /// Runs `body` in one transaction; commits on return, rolls back on throw.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T
    /// Releases connections.
    func close() async
}
