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

    var isEmbedded: Bool { databaseURL == nil }

    /// Opens the database, runs `body` with it (the PostgreSQL pool runs alongside), then closes it.
    func withDatabase<T: Sendable>(logger: Logger, _ body: @Sendable @escaping (any SQLDatabase) async throws -> T) async throws -> T {
        if let url = databaseURL {
            let database = try PostgresDatabase(url: url, maxConnections: dbPoolSize, logger: logger)
            return try await database.withRunning { try await body($0) }
        }
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
