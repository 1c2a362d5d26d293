import Foundation
import MercatoCache
import MercatoEdge
import MercatoCheckout
import MercatoHTTP
import MercatoHTTPBoundary
import MercatoSQL

/// Every setting of Mercato, in one place: name, flag, meaning and valid values. Defaults are not written
/// here: each comes from the option struct the setting fills (`HTTPOptions`, `CacheOptions`, ...; see
/// `OptionsFromSettings.swift`), so the value a test or library caller gets without settings is the one
/// `--help` documents. The commands read them through `SettingsReader`; `--help` and the README's
/// configuration table list them (a test keeps the README's table equal to `all`).
public enum MercatoSettings {
    // MARK: server

    public static let host = Setting<String>.text("MERCATO_HOST", flag: "hostname", default: "127.0.0.1", help: "listen address")
    public static let port = Setting<Int>.integer(
        "MERCATO_PORT", flag: "port", default: 8080, range: 0 ... 65535, help: "listen port (`0`: any free port; the banner names it)")
    public static let dataDir = Setting<String>.text(
        "MERCATO_DATA_DIR", flag: "data-dir", default: "mercato-data", help: "folder of the embedded SQLite database and the demo token")
    public static let seedDemo = Setting<String>.choice(
        "MERCATO_SEED_DEMO", flag: "seed-demo", default: "auto", of: ["auto", "always", "never"],
        help: "seed the demo catalog when missing: `auto` (embedded only), `always`, `never`")
    public static let environment = Setting<String>.choice(
        "MERCATO_ENV", default: "development", of: ["development", "production"],
        help: "`production` hides the `X-Mercato-Statements`, `X-Mercato-Cache` and call-count headers and the cache tier in `Server-Timing`, and logs JSON")
    public static let metricsToken = Setting<String?>.optionalText(
        "MERCATO_METRICS_TOKEN", help: "when set, `/metrics` answers only `Authorization: Bearer <token>` (401 otherwise)")
    public static let maxBodyBytes = Setting<Int>.integer(
        "MERCATO_MAX_BODY_BYTES", default: HTTPOptions().maxBodyBytes, range: 1 ... (1 << 30), unit: "a number of bytes", help: "largest accepted request body (413 above)")
    public static let serverTiming = Setting<Bool>.toggle("MERCATO_SERVER_TIMING", default: HTTPOptions().serverTiming, help: "`off` drops the `Server-Timing` header")
    public static let adminWriteRate = Setting<Double>.number(
        "MERCATO_ADMIN_WRITE_RATE", default: AdminWriteLimit.standard.rate, shown: AdminWriteLimit.standard.rate.plainText, range: 0 ... 1_000_000, unit: "a number of writes per second",
        help: "admin writes (POST, PUT, PATCH, DELETE under `/v1/admin`) per second per merchant on each instance; past it, `429 rate-limited` with `Retry-After`. `0` turns the limit off")
    public static let adminWriteBurst = Setting<Int>.integer(
        "MERCATO_ADMIN_WRITE_BURST", default: Int(AdminWriteLimit.standard.burst), range: 1 ... 1_000_000, unit: "a number of writes",
        help: "how many admin writes a merchant may make at once before the rate applies")

    // MARK: connections (all three servers)

    public static let idleTimeoutSeconds = Setting<Duration>.duration(
        "MERCATO_IDLE_TIMEOUT_SECONDS", default: ConnectionLimits().idleTimeout, unit: .seconds, range: 1 ... 3600,
        help: "close a connection with no request in progress after this long: reaps idle keep-alive connections and bounds how long a request head may take to arrive, however slowly its bytes trickle (all three commands)")
    public static let bodyTimeoutSeconds = Setting<Duration>.duration(
        "MERCATO_BODY_TIMEOUT_SECONDS", default: ConnectionLimits().bodyTimeout, unit: .seconds, range: 1 ... 3600,
        help: "a request's body must arrive within this long after its head, else the connection is closed (all three commands)")
    public static let maxConnections = Setting<Int>.integer(
        "MERCATO_MAX_CONNECTIONS", default: ConnectionLimits().maxConnections, range: 1 ... 1_000_000,
        help: "open connections per process; beyond it a request is answered `503` with `Retry-After: 1` and the connection closed (all three commands); `mercato_http_connections` in `/metrics` shows the count")

    // MARK: database

    public static let databaseURL = Setting<String?>.optionalText(
        "DATABASE_URL", flag: "database-url", expects: "a postgres:// or postgresql:// URL",
        help: "`postgres://user:pass@host:5432/db`; unset = embedded SQLite",
        valid: { $0.hasPrefix("postgres://") || $0.hasPrefix("postgresql://") })
    public static let dbPoolSize = Setting<Int>.integer(
        "MERCATO_DB_POOL_SIZE", flag: "db-pool-size", default: PoolOptions().size, range: 1 ... 1000, help: "PostgreSQL connections per instance")
    public static let dbLeaseTimeoutMs = Setting<Duration>.duration(
        "MERCATO_DB_LEASE_TIMEOUT_MS", flag: "db-lease-timeout-ms", default: PoolOptions().leaseTimeout, unit: .milliseconds, range: 1 ... 600_000,
        help: "longest a statement waits for a free PostgreSQL connection; then the request is answered `503 database-unavailable` with `Retry-After` (the server is down or every connection is busy). Work that got its connection runs to the end")
    public static let replicaURLs = Setting<[String]>.list(
        "DATABASE_REPLICA_URLS", flag: "database-replica-urls",
        help: "comma-separated PostgreSQL streaming replicas for storefront catalog reads (see \"Read replicas\")")
    public static let replicaMaxLagMs = Setting<Duration>.duration(
        "MERCATO_REPLICA_MAX_LAG_MS", flag: "replica-max-lag-ms", default: ReplicaLimits().maxLag, unit: .milliseconds, range: 1 ... 3_600_000,
        help: "skip a replica more than this many milliseconds behind the primary")
    public static let replicaMaxLagBytes = Setting<Int>.integer(
        "MERCATO_REPLICA_MAX_LAG_BYTES", flag: "replica-max-lag-bytes", default: Int(ReplicaLimits().maxLagBytes), range: 0 ... Int.max, unit: "a number of bytes",
        help: "skip a replica more than this many bytes of WAL behind the primary")
    public static let replicaFenceWaitMs = Setting<Duration>.duration(
        "MERCATO_REPLICA_FENCE_WAIT_MS", flag: "replica-fence-wait-ms", default: ReplicaLimits().fenceWait, unit: .milliseconds, range: 0 ... 1000,
        help: "longest a read after a write waits for a replica to replay it before using the primary (0: never wait)")

    // MARK: cache and Redis

    public static let cache = Setting<Bool>.toggle(
        "MERCATO_CACHE", default: CacheOptions().enabled, help: "`off` builds no cache (no near cache, no Redis client or subscription) and serves every storefront and checkout read from the database, for before/after benchmarks; read-your-writes on replicas then rests on the `X-Mercato-Read-After` token alone")
    public static let nearCacheBytes = Setting<Int>.integer(
        "MERCATO_NEAR_CACHE_BYTES", default: CacheOptions().nearCapacityBytes, range: 0 ... Int.max, unit: "a number of bytes",
        help: "near cache bound per instance (\(CacheOptions().nearCapacityBytes >> 20) MiB)")
    public static let cacheTTL = Setting<Duration>.duration(
        "MERCATO_CACHE_TTL", default: CacheOptions().fresh, unit: .seconds, range: 0 ... 86_400 * 365,
        help: "seconds a cached response is fresh: a safety net, since writes invalidate at once (lower it if something other than Mercato writes to the database; on PostgreSQL with 100,000 products, 60 s instead of 300 s costs 3.6 points of storefront hit rate: entries of the long tail expire before they are asked for again)")
    public static let cacheStale = Setting<Duration>.duration(
        "MERCATO_CACHE_STALE", default: CacheOptions().stale, unit: .seconds, range: 0 ... 86_400 * 365,
        help: "further seconds it may be served while one background refresh runs")
    public static let redisURL = Setting<String?>.optionalText(
        "REDIS_URL", expects: "a redis:// URL", help: "`redis://[user:password@]host:6379[/db]`: shared cache tier and cross-instance invalidation",
        valid: { $0.hasPrefix("redis://") })
    public static let redisPrefix = Setting<String>.text(
        "MERCATO_REDIS_PREFIX", default: RedisKeyspace().prefix,
        help: "prefix of every Redis name: cache entries `<prefix>c:`, generation counters `<prefix>gen:`, invalidation channel `<prefix>invalidations`; instances share cache and invalidations only under the same prefix (`mercato bench compare` gives each run its own)")
    public static let redisTimeoutMs = Setting<Duration>.duration(
        "MERCATO_REDIS_TIMEOUT_MS", default: CacheOptions().redisTimeout, unit: .milliseconds, range: 1 ... 60_000,
        help: "longest a request waits for Redis before falling back to the database")

    // MARK: checkout

    public static let checkout = Setting<String>.choice(
        "MERCATO_CHECKOUT", default: CheckoutOptions().mode.rawValue, of: CheckoutMode.allCases.map(\.rawValue),
        help: "`sequential` restores the naive flow (every inventory call sequential and uncached, tax at creation) for comparisons")
    public static let checkoutMaxLines = Setting<Int>.integer(
        "MERCATO_CHECKOUT_MAX_LINES", default: CheckoutOptions().maxLines, range: 1 ... 500, help: "most lines in one checkout")
    public static let checkoutMaxQuantity = Setting<Int>.integer(
        "MERCATO_CHECKOUT_MAX_QUANTITY", default: Int(CheckoutOptions().maxQuantity), range: 1 ... 1_000_000,
        help: "most units of one variant in one checkout: an anonymous checkout takes stock off sale for the reservation TTL")
    public static let salesRollupSeconds = Setting<Duration>.duration(
        "MERCATO_SALES_ROLLUP_SECONDS", default: CheckoutWiring().salesRollupInterval ?? .zero, unit: .seconds, range: 0 ... 3600,
        help: "how often placed orders roll into `sales_count` (bestselling order), in batches, on every instance (each order counts once); `0` turns it off")
    public static let reservationTTL = Setting<Duration>.duration(
        "MERCATO_RESERVATION_TTL", flag: "reservation-ttl", default: CheckoutOptions().reservationTTL, unit: .seconds, range: 1 ... 86_400,
        help: "seconds a checkout holds its stock before it is released")
    public static let edgePurgeURLs = Setting<[EdgeNode]>(
        "MERCATO_EDGE_PURGE_URLS", default: EdgePurgeOptions().nodes, shown: "unset",
        expects: "a comma-separated list of http://host:port addresses",
        help: "the Varnish edges (deploy/varnish/mercato.vcl) this instance purges after each of its writes (see \"Edge cache\"); unset = no edge"
    ) { text in
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let nodes = items.compactMap(EdgeNode.init(url:))
        return nodes.count == items.count ? nodes : nil
    }
    public static let edgePurgeTimeoutMs = Setting<Duration>.duration(
        "MERCATO_EDGE_PURGE_TIMEOUT_MS", default: EdgePurgeOptions().timeout, unit: .milliseconds, range: 1 ... 60_000,
        help: "how long a write's response waits for every edge to acknowledge its purge; one not acknowledged in time is retried from a bounded queue")
    public static let edgeRepurgeDelayMs = Setting<Duration>.duration(
        "MERCATO_EDGE_REPURGE_DELAY_MS", default: EdgePurgeOptions().repurgeDelay, unit: .milliseconds, range: 0 ... 600_000,
        help: "when each edge purge is sent a second time (0 = never): it removes what another instance filled before it heard of the write")
    public static let edgeTTLSeconds = Setting<Duration>.duration(
        "MERCATO_EDGE_TTL_SECONDS", default: EdgePurgeOptions().edgeTTL, unit: .seconds, range: 1 ... 604_800,
        help: "with MERCATO_EDGE_PURGE_URLS: how long the edges may keep a public storefront answer (Surrogate-Control), since every write purges what it changed; bounds a lost purge")
    public static let inventoryURL = Setting<String?>.optionalText(
        "INVENTORY_URL", expects: "an http:// or https:// URL",
        help: "the inventory service (`mercato inventory-service`); unset = in-process inventory and expiry sweeper", valid: isHTTPURL)
    public static let taxURL = Setting<String?>.optionalText(
        "TAX_URL", expects: "an http:// or https:// URL", help: "the tax service (`mercato tax-service`); unset = in-process tax", valid: isHTTPURL)
    public static let serviceTimeoutMs = Setting<Duration>.duration(
        "MERCATO_SERVICE_TIMEOUT_MS", default: CallPolicy().timeout, unit: .milliseconds, range: 1 ... 600_000,
        help: "timeout of one inventory/tax call (one retry after a connection failure or 502/503/504; none after a timeout, which already used the whole budget)")

    // MARK: logs and traces

    public static let logLevel = Setting<String>.choice(
        "LOG_LEVEL", default: "info", of: ["trace", "debug", "info", "notice", "warning", "error", "critical"],
        help: "`trace` … `critical` (`info` logs one line per request; `warning` skips them)")
    public static let logFormat = Setting<String?>.optionalChoice(
        "LOG_FORMAT", of: ["text", "json"], shown: "`text` (`json` when `MERCATO_ENV=production`)",
        help: "`json`: one JSON object per line with `trace_id`")
    public static let otlpEndpoint = Setting<String?>.optionalText(
        "OTEL_EXPORTER_OTLP_ENDPOINT", expects: "an http:// or https:// URL",
        help: "export traces over OTLP/HTTP to this collector (all three commands); other `OTEL_*` variables apply", valid: isHTTPURL)

    /// Every setting, in the order the README's table lists them.
    public static let all: [SettingDocumentation] = [
        host.documentation, port.documentation, dataDir.documentation, databaseURL.documentation, dbPoolSize.documentation,
        dbLeaseTimeoutMs.documentation, adminWriteRate.documentation, adminWriteBurst.documentation, replicaURLs.documentation,
        replicaMaxLagMs.documentation, replicaMaxLagBytes.documentation, replicaFenceWaitMs.documentation, seedDemo.documentation,
        environment.documentation, metricsToken.documentation, cache.documentation, nearCacheBytes.documentation, cacheTTL.documentation,
        cacheStale.documentation, redisURL.documentation, redisPrefix.documentation, redisTimeoutMs.documentation, maxBodyBytes.documentation,
        idleTimeoutSeconds.documentation, bodyTimeoutSeconds.documentation, maxConnections.documentation, checkout.documentation,
        checkoutMaxLines.documentation, checkoutMaxQuantity.documentation, salesRollupSeconds.documentation, reservationTTL.documentation,
        edgePurgeURLs.documentation, edgePurgeTimeoutMs.documentation, edgeRepurgeDelayMs.documentation, edgeTTLSeconds.documentation,
        inventoryURL.documentation, taxURL.documentation, serviceTimeoutMs.documentation, serverTiming.documentation, logLevel.documentation,
        logFormat.documentation, otlpEndpoint.documentation,
    ]

    /// The settings as `--help` lists them: name, flag, default, meaning (Markdown code marks removed).
    public static var helpText: String {
        let lines = all.map { setting in
            let flag = setting.flag.map { " (--\($0))" } ?? ""
            return "  \(setting.name)\(flag), default \(setting.defaultText.replacingOccurrences(of: "`", with: "")):\n      \(setting.help.replacingOccurrences(of: "`", with: ""))"
        }
        // One line per paragraph: `--help` wraps text to the terminal itself.
        let intro = "Settings: a command-line flag wins over the environment, which wins over a .env file in the working directory, "
            + "which wins over the default. An empty value counts as unset. An invalid value stops the command with an error naming it."
        return intro + "\n\n" + lines.joined(separator: "\n")
    }

    static func isHTTPURL(_ text: String) -> Bool { text.hasPrefix("http://") || text.hasPrefix("https://") }
}
