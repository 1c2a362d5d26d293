import ArgumentParser
import Foundation
import Logging
import MercatoSettings
import MercatoTelemetry
import Metrics
import MercatoStorage
import MercatoSQL
import Synchronization

/// Where the data lives: PostgreSQL when `DATABASE_URL` is set, else an SQLite file in the data folder.
/// The flags only carry what was typed; every value, its default and its check come from `MercatoSettings`.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: help(MercatoSettings.dataDir)) var dataDirFlag: String?
    @Option(name: .customLong("database-url"), help: help(MercatoSettings.databaseURL)) var databaseURLFlag: String?
    @Option(name: .customLong("db-pool-size"), help: help(MercatoSettings.dbPoolSize)) var dbPoolSizeFlag: String?
    @Option(name: .customLong("db-lease-timeout-ms"), help: help(MercatoSettings.dbLeaseTimeoutMs)) var dbLeaseTimeoutFlag: String?
    @Option(name: .customLong("database-replica-urls"), help: help(MercatoSettings.replicaURLs)) var replicaURLsFlag: String?
    @Option(name: .customLong("replica-max-lag-ms"), help: help(MercatoSettings.replicaMaxLagMs)) var replicaMaxLagFlag: String?
    @Option(name: .customLong("replica-max-lag-bytes"), help: help(MercatoSettings.replicaMaxLagBytes)) var replicaMaxLagBytesFlag: String?
    @Option(name: .customLong("replica-fence-wait-ms"), help: help(MercatoSettings.replicaFenceWaitMs)) var replicaFenceWaitFlag: String?

    /// The flags given, by setting name.
    var flags: [String: String] {
        Flags.collect([
            (MercatoSettings.dataDir.name, dataDirFlag), (MercatoSettings.databaseURL.name, databaseURLFlag),
            (MercatoSettings.dbPoolSize.name, dbPoolSizeFlag), (MercatoSettings.dbLeaseTimeoutMs.name, dbLeaseTimeoutFlag),
            (MercatoSettings.replicaURLs.name, replicaURLsFlag), (MercatoSettings.replicaMaxLagMs.name, replicaMaxLagFlag),
            (MercatoSettings.replicaMaxLagBytes.name, replicaMaxLagBytesFlag), (MercatoSettings.replicaFenceWaitMs.name, replicaFenceWaitFlag),
        ])
    }

    /// This command's settings (its flags plus `extra`, the environment, `.env`) and its database settings.
    func load(flags extra: [String: String] = [:]) async throws -> (SettingsReader, DatabaseSettings) {
        let settings = try await SettingsReader.load(flags: flags.merging(extra) { mine, _ in mine })
        return (settings, try resolve(settings))
    }

    /// The database settings, read and checked.
    func resolve(_ settings: SettingsReader) throws -> DatabaseSettings {
        DatabaseSettings(
            dataDir: try settings.value(MercatoSettings.dataDir), databaseURL: try settings.value(MercatoSettings.databaseURL),
            pool: try PoolOptions(settings: settings), replicaURLs: try settings.value(MercatoSettings.replicaURLs),
            replicaLimits: try ReplicaLimits(settings: settings))
    }
}

/// The database settings of a command, checked.
struct DatabaseSettings: Sendable {
    var dataDir: String
    var databaseURL: String?
    var pool: PoolOptions
    var replicaURLs: [String]
    var replicaLimits: ReplicaLimits

    var isEmbedded: Bool { databaseURL == nil }

    /// Opens the database, runs `body` with it (the PostgreSQL pool runs alongside), then closes it. With replicas,
    /// reads are counted by target into `metricsFactory` (the server's, so they appear at `/metrics`).
    func withDatabase<T: Sendable>(
        logger: Logger, metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance, _ body: @Sendable @escaping (any DatabaseClient) async throws -> T
    ) async throws -> T {
        if let url = databaseURL {
            let database = try PostgresDatabaseClient(url: url, maxConnections: pool.size, leaseTimeout: pool.leaseTimeout, logger: logger)
            let replicas = try replicaURLs.map { try PostgresDatabaseClient(url: $0, maxConnections: pool.size, leaseTimeout: pool.leaseTimeout, logger: logger) }
            guard !replicas.isEmpty else { return try await database.withRunning { try await body($0) } }
            let names = replicaURLs.map { url in URLComponents(string: url).map { "\($0.host ?? "?"):\($0.port ?? 5432)" } ?? "replica" }
            let limits = replicaLimits
            return try await database.withRunning { primary in
                try await Self.running(replicas) {
                    let replicated = ReplicatedDatabase(
                        primary: primary, replicas: zip(replicas, names).map { Replica(database: $0.0, name: $0.1) },
                        limits: limits, logger: logger, metricsFactory: metricsFactory)
                    await replicated.refresh()
                    return try await body(replicated)
                }
            }
        }
        guard replicaURLs.isEmpty else { throw ValidationError("DATABASE_REPLICA_URLS needs DATABASE_URL (replicas of the embedded SQLite make no sense)") }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let database = try await SQLiteDatabaseClient.open(path: sqlitePath, logger: logger)
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
    static func running<T: Sendable>(_ replicas: [PostgresDatabaseClient], _ body: @Sendable @escaping () async throws -> T) async throws -> T {
        guard let first = replicas.first else { return try await body() }
        return try await first.withRunning { _ in try await running(Array(replicas.dropFirst()), body) }
    }

    var sqlitePath: String { (dataDir as NSString).appendingPathComponent("mercato.sqlite") }
    var demoTokenPath: String { (dataDir as NSString).appendingPathComponent("demo-admin-token") }
}

/// The `--help` line of a flag: its setting's meaning, name and default.
func help<Value>(_ setting: Setting<Value>) -> ArgumentHelp {
    ArgumentHelp("\(setting.help.replacingOccurrences(of: "`", with: "")) (env \(setting.name); default \(setting.defaultText))")
}

/// Command-line flags to hand to `SettingsReader`.
enum Flags {
    /// The flags that were given, by setting name.
    static func collect(_ pairs: [(String, String?)]) -> [String: String] {
        Dictionary(pairs.compactMap { name, value in value.map { (name, $0) } }) { first, _ in first }
    }
}

/// Logging for a command, from `LOG_LEVEL`, `LOG_FORMAT` and `MERCATO_ENV`; set up once per process.
enum Logs {
    private static let format = Mutex<String?>(nil)

    /// A logger at the configured level; the first call chooses the format for the process.
    static func logger(_ label: String, _ settings: SettingsReader) throws -> Logger {
        let production = try settings.value(MercatoSettings.environment) == "production"
        let format = try settings.value(MercatoSettings.logFormat) ?? (production ? "json" : "text")
        let first = Self.format.withLock { chosen -> Bool in
            defer { chosen = chosen ?? format }
            return chosen == nil
        }
        if first, format == "json" { LoggingSystem.bootstrap { label in JSONLogHandler(label: label) } }
        var logger = Logger(label: label, metadataProvider: RequestTrace.logMetadata)
        logger.logLevel = Logger.Level(rawValue: try settings.value(MercatoSettings.logLevel)) ?? .info
        return logger
    }
}
