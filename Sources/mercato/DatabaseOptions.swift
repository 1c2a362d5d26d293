import ArgumentParser
import Foundation
import Logging
import MercatoStorage

/// Where the data lives: PostgreSQL when `DATABASE_URL` is set, else an SQLite file in the data folder.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "Folder for the embedded SQLite database (env MERCATO_DATA_DIR).")
    var dataDir: String = ProcessInfo.processInfo.environment["MERCATO_DATA_DIR"] ?? "mercato-data"

    @Option(name: .customLong("database-url"), help: "PostgreSQL URL, postgres://user:pass@host:port/db (env DATABASE_URL). Empty: embedded SQLite.")
    var databaseURLOption: String = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? ""

    var databaseURL: String? { databaseURLOption.isEmpty ? nil : databaseURLOption }

    @Option(name: .long, help: "PostgreSQL connection pool size (env MERCATO_DB_POOL_SIZE).")
    var dbPoolSize: Int = Int(ProcessInfo.processInfo.environment["MERCATO_DB_POOL_SIZE"] ?? "") ?? 12

    @Option(help: "Longest a statement waits for a free PostgreSQL connection before the request is answered 503 database-unavailable (env MERCATO_DB_LEASE_TIMEOUT_MS).")
    var dbLeaseTimeoutMs: Int = Int(ProcessInfo.processInfo.environment["MERCATO_DB_LEASE_TIMEOUT_MS"] ?? "") ?? 3000

    @Option(name: .customLong("database-replica-urls"), help: "Comma-separated PostgreSQL read replicas for catalog reads (env DATABASE_REPLICA_URLS).")
    var replicaURLsOption: String = ProcessInfo.processInfo.environment["DATABASE_REPLICA_URLS"] ?? ""

    @Option(help: "Skip a replica that lags the primary by more than this many bytes of WAL (env MERCATO_REPLICA_MAX_LAG_BYTES).")
    var replicaMaxLagBytes: UInt64 = UInt64(ProcessInfo.processInfo.environment["MERCATO_REPLICA_MAX_LAG_BYTES"] ?? "") ?? (16 << 20)

    @Option(help: "Skip a replica more than this many milliseconds behind the primary (env MERCATO_REPLICA_MAX_LAG_MS).")
    var replicaMaxLagMs: Int = Int(ProcessInfo.processInfo.environment["MERCATO_REPLICA_MAX_LAG_MS"] ?? "") ?? 1000

    @Option(help: "Longest a read after a write waits for a replica to replay it before reading the primary; 0: never wait (env MERCATO_REPLICA_FENCE_WAIT_MS).")
    var replicaFenceWaitMs: Int = Int(ProcessInfo.processInfo.environment["MERCATO_REPLICA_FENCE_WAIT_MS"] ?? "") ?? 20

    func validate() throws {
        guard (1...600_000).contains(dbLeaseTimeoutMs) else {
            throw ValidationError("--db-lease-timeout-ms (MERCATO_DB_LEASE_TIMEOUT_MS) must be from 1 to 600000, not \(dbLeaseTimeoutMs)")
        }
        guard replicaMaxLagMs >= 1 else { throw ValidationError("--replica-max-lag-ms (MERCATO_REPLICA_MAX_LAG_MS) must be at least 1, not \(replicaMaxLagMs)") }
        guard (0...1000).contains(replicaFenceWaitMs) else {
            throw ValidationError("--replica-fence-wait-ms (MERCATO_REPLICA_FENCE_WAIT_MS) must be from 0 to 1000, not \(replicaFenceWaitMs)")
        }
    }

    var replicaURLs: [String] { replicaURLsOption.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }

    var isEmbedded: Bool { databaseURL == nil }

    /// Opens the database, runs `body` with it (the PostgreSQL pool runs alongside), then closes it.
    func withDatabase<T: Sendable>(logger: Logger, _ body: @Sendable @escaping (any SQLDatabase) async throws -> T) async throws -> T {
        if let url = databaseURL {
            let leaseTimeout = Duration.milliseconds(dbLeaseTimeoutMs)
            let database = try PostgresDatabase(url: url, maxConnections: dbPoolSize, leaseTimeout: leaseTimeout, logger: logger)
            let replicas = try replicaURLs.map { try PostgresDatabase(url: $0, maxConnections: dbPoolSize, leaseTimeout: leaseTimeout, logger: logger) }
            guard !replicas.isEmpty else { return try await database.withRunning { try await body($0) } }
            let names = replicaURLs.map { url in URLComponents(string: url).map { "\($0.host ?? "?"):\($0.port ?? 5432)" } ?? "replica" }
            let (maxLag, maxLagBytes, fenceWait) = (Duration.milliseconds(replicaMaxLagMs), replicaMaxLagBytes, Duration.milliseconds(replicaFenceWaitMs))
            return try await database.withRunning { primary in
                try await Self.running(replicas) {
                    let replicated = ReplicatedDatabase(
                        primary: primary, replicas: zip(replicas, names).map { Replica(database: $0.0, name: $0.1) },
                        maxLag: maxLag, maxLagBytes: maxLagBytes, fenceWait: fenceWait, logger: logger)
                    await replicated.refresh()
                    return try await body(replicated)
                }
            }
        }
        guard replicaURLs.isEmpty else { throw ValidationError("DATABASE_REPLICA_URLS needs DATABASE_URL (replicas of the embedded SQLite make no sense)") }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let database = try await SQLiteDatabase.open(path: sqlitePath, logger: logger)
        do {
            let result = try await body(database)
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    }

    /// Runs every replica's pool around `body`.
    static func running<T: Sendable>(_ replicas: [PostgresDatabase], _ body: @Sendable @escaping () async throws -> T) async throws -> T {
        guard let first = replicas.first else { return try await body() }
        return try await first.withRunning { _ in try await running(Array(replicas.dropFirst()), body) }
    }

    var sqlitePath: String { (dataDir as NSString).appendingPathComponent("mercato.sqlite") }
    var demoTokenPath: String { (dataDir as NSString).appendingPathComponent("demo-admin-token") }
}

/// Logger setup shared by all subcommands (env LOG_LEVEL, LOG_FORMAT).
func makeLogger(_ label: String) -> Logger {
    _ = LogSetup.bootstrapped
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    return logger
}
