import MercatoCore
import MercatoTelemetry
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// A PostgreSQL pool's size and how long work waits for one of its connections. The defaults are the
/// documented ones (`MERCATO_DB_POOL_SIZE`, `MERCATO_DB_LEASE_TIMEOUT_MS`).
public struct PoolOptions: Sendable, Equatable {
    /// Connections per instance (and per replica).
    public var size: Int
    /// Longest a statement waits for a free connection before the database counts as unavailable.
    public var leaseTimeout: Duration

    public init(size: Int = 12, leaseTimeout: Duration = .seconds(3)) {
        self.size = size
        self.leaseTimeout = leaseTimeout
    }
}

/// PostgreSQL through PostgresNIO's pooled `PostgresClient`; run it as a Service.
public final class PostgresDatabaseClient: DatabaseClient, Service {
    public let client: PostgresClient
    private let logger: Logger
    /// How long a statement or transaction waits for a pooled connection (see `withLease`).
    let leaseTimeout: Duration
    public var dialect: SQLDialect { .postgres }

    /// Builds a client from a `postgres://user:pass@host:port/db` URL with an explicit pool size.
    /// `leaseTimeout`: how long work waits for a free connection before the database counts as unavailable.
    public init(url: String, maxConnections: Int, leaseTimeout: Duration = PoolOptions().leaseTimeout, logger: Logger) throws {
        guard let components = URLComponents(string: url),
              components.scheme == "postgres" || components.scheme == "postgresql",
              let host = components.host
        else { throw StorageError.configuration("DATABASE_URL must look like postgres://user:password@host:5432/database") }
        let database = components.path.split(separator: "/").first.map(String.init)
        var config = PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: components.user ?? "postgres",
            password: components.password,
            database: database,
            tls: .disable
        )
        config.options.maximumConnections = maxConnections
        config.options.minimumConnections = min(2, maxConnections)
        config.options.connectTimeout = .seconds(5)
        self.client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.logger = logger
        self.leaseTimeout = leaseTimeout
    }

    public func run() async {
        await client.run()
    }

    public func query(_ sql: SQL) async throws -> [ResultRow] {
        let logger = logger
        return try await Self.run(
            sql,
            unprepared: { query in try await withLease { try await Self.collect($0.query(query, logger: logger)) } },
            prepared: { statement in try await withLease { try await Self.collect($0.execute(statement, logger: logger)) } })
    }

    /// Runs `body` on a pooled connection, waiting at most `leaseTimeout` for one.
    ///
    /// While the server is down, PostgresNIO's pool keeps requests waiting until it is back (it has no lease
    /// timeout): writes and checkouts hung for the whole outage (19 s in the fault suite, longer than
    /// clients wait) and were applied after the client had given up. The deadline covers only the wait.
    /// Once `body` holds its connection it runs to the end, so nothing that may have reached the server is
    /// abandoned with an unknown outcome; a request that gave up never reaches it.
    func withLease<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let lease = LeaseRace()
        let (client, timeout) = (client, leaseTimeout)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    guard lease.begin() else { throw StorageError.unavailable("no PostgreSQL connection within \(timeout)") }
                    return try await body(connection)
                }
            }
            group.addTask {
                // Cancelled (and then harmless) when the work ends first.
                try? await Task.sleep(for: timeout)
                guard lease.expire() else { return nil }
                throw StorageError.unavailable("no PostgreSQL connection within \(timeout): the server is down or every connection is busy")
            }
            while let result = try await group.next() {
                if let result {
                    group.cancelAll()
                    return result
                }
            }
            throw StorageError.database("a connection lease ended without a result")
        }
    }

    /// One statement on the pool or a connection: counted, prepared when marked hot, errors translated.
    static func run(
        _ sql: SQL, unprepared: (PostgresQuery) async throws -> [ResultRow], prepared: (any SlotStatementProtocol) async throws -> [ResultRow]
    ) async throws -> [ResultRow] {
        StatementCounter.record()
        return try await SQLSpan.run(sql, system: "postgresql") { try await RequestTimings.measure(.database) {
            do {
                let query = postgresQuery(sql)
                if sql.prepared, let slot = PreparedStatements.slot(for: sql.text) {
                    return try await prepared(PreparedStatements.statement(slot: slot, bindings: query.binds))
                }
                return try await unprepared(query)
            } catch let error as PSQLError {
                throw translate(error)
            }
        } }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        let logger = logger
        do {
            // `withLease` returns only after its work has ended, so `body` does not outlive this call.
            return try await withoutActuallyEscaping(body) { body in
                try await withLease { connection in
                    try await connection.withTransaction(logger: logger) { connection in
                        try await body(PostgresConnectionExecutor(connection: connection, logger: logger))
                    }
                }
            }
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError { throw closureError }
            if let psql = (error.beginError ?? error.commitError) as? PSQLError { throw Self.translate(psql) }
            throw StorageError.database(String(reflecting: error))
        }
    }

    public func close() async {}

    /// Runs `body` while the connection pool runs beside it (for commands and tests outside a ServiceGroup).
    public func withRunning<T: Sendable>(_ body: @Sendable @escaping (PostgresDatabaseClient) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await self.client.run()
                return nil
            }
            group.addTask { try await body(self) }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw StorageError.database("the PostgreSQL client stopped unexpectedly")
        }
    }

    static func postgresQuery(_ sql: SQL) -> PostgresQuery {
        var binds = PostgresBindings(capacity: sql.binds.count)
        for value in sql.binds {
            switch value {
            case .null: binds.appendNull()
            case .int(let v): binds.append(v)
            case .text(let s): binds.append(s)
            case .uuid(let u): binds.append(u)
            case .bool(let b): binds.append(b)
            }
        }
        return PostgresQuery(unsafeSQL: sql.text, binds: binds)
    }

    static func collect<Rows: AsyncSequence>(_ rows: Rows) async throws -> [ResultRow] where Rows.Element == PostgresRow {
        var result: [ResultRow] = []
        for try await row in rows {
            var values: [SQLValue] = []
            values.reserveCapacity(row.count)
            for cell in row {
                values.append(try decode(cell))
            }
            result.append(ResultRow(values: values))
        }
        return result
    }

    static func decode(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int8: return .int(try cell.decode(Int64.self))
        case .int4: return .int(Int64(try cell.decode(Int32.self)))
        case .int2: return .int(Int64(try cell.decode(Int16.self)))
        case .bool: return .bool(try cell.decode(Bool.self))
        case .uuid: return .uuid(try cell.decode(UUID.self))
        default: return .text(try cell.decode(String.self))
        }
    }

    static func translate(_ error: PSQLError) -> any Error {
        if let fields = error.serverInfo, let state = fields[.sqlState] {
            let message = fields[.message] ?? "database error"
            if state == "23505" { return StorageError.uniqueViolation(fields[.constraintName] ?? message) }
            // Class 08 (connection exception), 57P01-57P03 (admin/crash shutdown, cannot connect now),
            // 53300 (too many connections): the server, not the statement, is the problem.
            if state.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(state) {
                return StorageError.unavailable("\(state): \(message)")
            }
            // 40001 is also how a hot standby cancels a query that conflicts with replay.
            if state == "40001" || state == "40P01" { return StorageError.transient("\(state): \(message)") }
            return StorageError.database("\(state): \(message)")
        }
        // No server message: the connection failed or was closed underneath the query.
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return StorageError.unavailable(String(reflecting: error))
        default:
            return StorageError.database(String(reflecting: error))
        }
    }
}

/// Who decides a lease's fate first: the pool handing out a connection, or the deadline. Exactly one wins.
final class LeaseRace: Sendable {
    private enum State { case waiting, leased, expired }
    private let state = Mutex(State.waiting)

    /// The connection arrived: true if the deadline has not passed (the work may start).
    func begin() -> Bool { settle(.leased) }

    /// The deadline passed: true if no connection arrived before it (the wait is given up).
    func expire() -> Bool { settle(.expired) }

    private func settle(_ outcome: State) -> Bool {
        state.withLock { state in
            guard state == .waiting else { return false }
            state = outcome
            return true
        }
    }
}

/// One leased PostgreSQL connection inside a transaction.
struct PostgresConnectionExecutor: SQLExecutor {
    let connection: PostgresConnection
    let logger: Logger
    var dialect: SQLDialect { .postgres }

    func query(_ sql: SQL) async throws -> [ResultRow] {
        try await PostgresDatabaseClient.run(
            sql, unprepared: { try await PostgresDatabaseClient.collect(connection.query($0, logger: logger)) }, prepared: { try await execute($0) })
    }

    private func execute(_ statement: some SlotStatementProtocol) async throws -> [ResultRow] {
        try await PostgresDatabaseClient.collect(connection.execute(statement, logger: logger))
    }
}
