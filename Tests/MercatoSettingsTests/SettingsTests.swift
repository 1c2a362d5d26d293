import Foundation
import MercatoCache
import MercatoCheckout
import MercatoHTTP
import MercatoHTTPBoundary
@testable import MercatoSettings
import MercatoSQL
import Testing

@Suite("Settings")
struct SettingsTests {
    /// A flag wins over the environment, which wins over `.env`, which wins over the default; an empty value
    /// counts as unset.
    @Test func precedenceIsFlagThenEnvironmentThenDotEnvThenDefault() throws {
        let port = MercatoSettings.port
        #expect(try SettingsReader(environment: [:]).value(port) == 8080)
        #expect(try SettingsReader(environment: [:], dotEnv: ["MERCATO_PORT": "7000"]).value(port) == 7000)
        #expect(try SettingsReader(environment: ["MERCATO_PORT": "7100"], dotEnv: ["MERCATO_PORT": "7000"]).value(port) == 7100)
        #expect(try SettingsReader(flags: ["MERCATO_PORT": "7200"], environment: ["MERCATO_PORT": "7100"], dotEnv: ["MERCATO_PORT": "7000"]).value(port) == 7200)
        #expect(try SettingsReader(environment: ["MERCATO_PORT": ""], dotEnv: ["MERCATO_PORT": "7000"]).value(port) == 7000)
    }

    /// Every kind of setting refuses what does not fit, with one message shape: the name (and flag), what
    /// it accepts, what it got. Nothing invalid silently becomes the default.
    @Test func invalidValuesAreErrorsNamingTheSetting() {
        func error<V>(_ setting: Setting<V>, _ text: String) -> String? {
            do {
                _ = try SettingsReader(environment: [setting.name: text]).value(setting)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(error(MercatoSettings.port, "eighty") == "MERCATO_PORT (--port) must be a number from 0 to 65535, not 'eighty'")
        #expect(error(MercatoSettings.port, "65536") == "MERCATO_PORT (--port) must be a number from 0 to 65535, not '65536'")
        #expect(error(MercatoSettings.cacheTTL, "-1") == "MERCATO_CACHE_TTL must be a number of seconds from 0 to 31536000, not '-1'")
        #expect(error(MercatoSettings.cache, "maybe") == "MERCATO_CACHE must be on or off, not 'maybe'")
        #expect(error(MercatoSettings.checkout, "fast") == "MERCATO_CHECKOUT must be one of standard, sequential, not 'fast'")
        #expect(error(MercatoSettings.adminWriteRate, "nan") == "MERCATO_ADMIN_WRITE_RATE must be a number of writes per second from 0 to 1000000, not 'nan'")
        #expect(error(MercatoSettings.databaseURL, "mysql://x") == "DATABASE_URL (--database-url) must be a postgres:// or postgresql:// URL, not 'mysql://x'")
        #expect(error(MercatoSettings.redisURL, "localhost:6379") == "REDIS_URL must be a redis:// URL, not 'localhost:6379'")
        #expect(error(MercatoSettings.environment, "staging") == "MERCATO_ENV must be one of development, production, not 'staging'")
        #expect(error(MercatoSettings.logLevel, "loud") != nil)
        #expect(error(MercatoSettings.port, "8081") == nil)
    }

    /// Values are read as their type: choices in any case, lists split on commas, toggles.
    @Test func valuesAreTyped() throws {
        let reader = SettingsReader(environment: [
            "MERCATO_CHECKOUT": "Sequential", "DATABASE_REPLICA_URLS": " postgres://a , ,postgres://b", "MERCATO_SERVER_TIMING": "OFF",
            "MERCATO_ADMIN_WRITE_RATE": "2.5",
        ])
        #expect(try reader.value(MercatoSettings.checkout) == "sequential")
        #expect(try reader.value(MercatoSettings.replicaURLs) == ["postgres://a", "postgres://b"])
        #expect(try reader.value(MercatoSettings.serverTiming) == false)
        #expect(try reader.value(MercatoSettings.adminWriteRate) == 2.5)
        #expect(try reader.value(MercatoSettings.redisURL) == nil)
    }

    /// With nothing set, every option struct read from the settings is the struct's own default: the
    /// defaults `--help` documents are the ones a library caller or a test gets.
    @Test func unsetSettingsLeaveEveryOptionStructAtItsOwnDefault() throws {
        let none = SettingsReader(environment: [:])
        #expect(try HTTPOptions(settings: none) == HTTPOptions())
        #expect(try ConnectionLimits(settings: none) == ConnectionLimits())
        #expect(try CacheOptions(settings: none) == CacheOptions())
        #expect(try CheckoutWiring(settings: none) == CheckoutWiring())
        #expect(try PoolOptions(settings: none) == PoolOptions())
        #expect(try ReplicaLimits(settings: none) == ReplicaLimits())
    }

    /// Set values land in their fields, durations in the unit the setting names.
    @Test func setValuesFillTheOptionStructs() throws {
        let reader = SettingsReader(environment: [
            "MERCATO_ENV": "production", "MERCATO_ADMIN_WRITE_RATE": "0", "MERCATO_IDLE_TIMEOUT_SECONDS": "7",
            "MERCATO_CACHE": "off", "MERCATO_CACHE_TTL": "45", "MERCATO_REDIS_TIMEOUT_MS": "250", "MERCATO_REDIS_PREFIX": "shop:",
            "MERCATO_CHECKOUT": "sequential", "MERCATO_SALES_ROLLUP_SECONDS": "0", "MERCATO_RESERVATION_TTL": "90",
            "MERCATO_SERVICE_TIMEOUT_MS": "1500", "MERCATO_DB_LEASE_TIMEOUT_MS": "40", "MERCATO_REPLICA_FENCE_WAIT_MS": "0",
        ])
        let http = try HTTPOptions(settings: reader)
        #expect(!http.exposeStatementCount && !http.serverTimingCacheTier && http.adminWriteLimit == nil)
        #expect(http.connectionLimits.idleTimeout == .seconds(7))
        let cache = try CacheOptions(settings: reader)
        #expect(!cache.enabled && cache.fresh == .seconds(45) && cache.redisTimeout == .milliseconds(250) && cache.redisKeyspace.prefix == "shop:")
        let checkout = try CheckoutWiring(settings: reader)
        #expect(checkout.options.mode == .sequential && checkout.salesRollupInterval == nil && checkout.options.reservationTTL == .seconds(90))
        #expect(checkout.callPolicy.timeout == .milliseconds(1500))
        #expect(try PoolOptions(settings: reader).leaseTimeout == .milliseconds(40))
        #expect(try ReplicaLimits(settings: reader).fenceWait == .zero)
    }

    /// A `.env` file in the working directory is read (and its absence is fine).
    @Test func aDotEnvFileIsRead() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent(".env").path
        try "MERCATO_NEAR_CACHE_BYTES=1234\n# a comment\nMERCATO_CHECKOUT_MAX_LINES=7\n".write(toFile: file, atomically: true, encoding: .utf8)
        let reader = try await SettingsReader.load(flags: ["MERCATO_CHECKOUT_MAX_LINES": "9"], dotEnvPath: file)
        #expect(try reader.value(MercatoSettings.nearCacheBytes) == 1234)
        #expect(try reader.value(MercatoSettings.checkoutMaxLines) == 9)
        let none = try await SettingsReader.load(dotEnvPath: directory.appendingPathComponent("missing.env").path)
        #expect(try none.value(MercatoSettings.checkoutMaxLines) == 25)
    }

    /// The README's configuration table lists exactly these settings, with these flags and defaults, in
    /// this order; `--help` prints the same list.
    @Test func theReadmeTableListsEverySetting() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let section = try #require(text.components(separatedBy: "## Configuration").dropFirst().first?.components(separatedBy: "\n## ").first)
        let rows = section.split(separator: "\n").filter { $0.hasPrefix("| `") }.map { line in
            line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        #expect(rows.map { $0[0] } == MercatoSettings.all.map { "`\($0.name)`" })
        for (row, setting) in zip(rows, MercatoSettings.all) {
            #expect(row[1] == (setting.flag.map { "`--\($0)`" } ?? ""), "\(setting.name)")
            #expect(row[2].contains(setting.defaultText) || row[2] == "`\(setting.defaultText)`", "\(setting.name): \(row[2])")
        }
        for setting in MercatoSettings.all { #expect(MercatoSettings.helpText.contains(setting.name)) }
    }
}
