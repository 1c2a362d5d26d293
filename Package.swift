// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // Generic cache code is called across modules on every request: let release builds specialise it
    // instead of instantiating generic metadata at run time.
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "Mercato",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mercato", targets: ["mercato"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.5.0"),
        // Test only: the API contract (openapi.yaml) is parsed and checked by the HTTP tests, never by the server.
        .package(url: "https://github.com/mattpolzin/OpenAPIKit.git", from: "6.4.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // Domain values; no dependencies.
        .target(name: "MercatoCore", swiftSettings: swiftSettings),
        // Read-your-writes: WAL positions, the fence of each namespace's last write, and the task-local
        // statement of how fresh a replica read must be. Shared by the SQL layer, the cache and the catalog.
        .target(name: "MercatoFences", swiftSettings: swiftSettings),
        // JSON at the edges: strict request checking and decoding (StrictJSON, JSONInput), the byte writer the
        // pre-serialized responses are rendered with (JSONWriter), and the services' shared wire coders.
        .target(name: "MercatoJSON", dependencies: ["MercatoCore"], swiftSettings: swiftSettings),
        // Every setting of Mercato (name, flag, meaning, valid values) and the one reader of them: swift-configuration's,
        // over command-line flags, the environment, a .env file and the defaults, which it takes from the option
        // structs it fills (`init(settings:)`), so each default is written once.
        .target(
            name: "MercatoSettings",
            dependencies: [
                "MercatoCache", "MercatoCheckout", "MercatoEdge", "MercatoHTTP", "MercatoHTTPBoundary", "MercatoSQL",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings),
        // Request telemetry: the W3C trace of a request (`RequestTrace`), whether a tracer is on, where a
        // request spent its time (`RequestTimings`, for Server-Timing) and the SQL statements it, or a
        // background job, ran (`StatementCounter`, `BackgroundStatements`).
        .target(
            name: "MercatoTelemetry",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),
        // The SQL layer: statements and rows, the PostgreSQL and SQLite executors, prepared statements, the
        // connection lease deadline, and replica routing with WAL fences. No domain types.
        .target(
            name: "MercatoSQL",
            dependencies: [
                "MercatoCore", "MercatoFences", "MercatoTelemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // What every store shares: the schema and its migrations, identifiers as SQL values, secrets, and the
        // listing projection (the denormalized rows storefront listings read) that every writer keeps current.
        .target(
            name: "MercatoStorage",
            dependencies: [
                "MercatoCore", "MercatoSQL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The catalog's store: storefront reads (`SQLCatalogStore`), merchant writes (`CatalogWriter`), the seeder.
        .target(
            name: "MercatoCatalogStore",
            dependencies: ["MercatoCore", "MercatoJSON", "MercatoSQL", "MercatoStorage", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The inventory's store: stock levels and reservations (reserve, commit, release, expiry).
        .target(
            name: "MercatoInventoryStore",
            dependencies: ["MercatoCore", "MercatoSQL", "MercatoStorage"],
            swiftSettings: swiftSettings
        ),
        // The checkout's store: checkouts, orders with their stored answers, and the pricing read of a cart.
        .target(
            name: "MercatoCheckoutStore",
            dependencies: ["MercatoCore", "MercatoSQL", "MercatoStorage", "MercatoCatalogStore"],
            swiftSettings: swiftSettings
        ),
        // Our Redis client: RESP2/3 codec, pipelined connections, pool, pub/sub with reconnect.
        .target(
            name: "Redis",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Child processes started with posix_spawn (default signals, output to files, exit polled): the one
        // launcher of the test-owned servers and of the benchmark's server processes.
        .target(name: "Spawn", swiftSettings: swiftSettings),
        // What tests share: `poll(until:)`, the one way to wait for something that happens elsewhere; `HTTPAnswer`,
        // the one answer type of every test HTTP client; the API's answers as typed models.
        .target(name: "TestSupport", dependencies: [.product(name: "HTTPTypes", package: "swift-http-types")], swiftSettings: swiftSettings),
        // Servers a test owns and can kill and restart: redis-server, and a PostgreSQL streaming replica.
        .target(
            name: "TestServers",
            dependencies: ["Spawn", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // GET throughput benchmark of our Redis client against a running server (compare with redis-benchmark).
        .executableTarget(
            name: "RedisClientBench",
            dependencies: ["Redis", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // Cache tiers, generic: near cache (W-TinyLFU), layered read-through with coalescing, generations,
        // invalidation bus. What a catalog write invalidates is the catalog's policy (MercatoCatalog).
        .target(
            name: "MercatoCache",
            dependencies: [
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "MercatoCore", "MercatoFences", "MercatoTelemetry", "Redis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Storefront reads (audience, cursors, listing/detail encoding to bytes) and the catalog's cache
        // policy: namespaces, what each write invalidates (CatalogInvalidation), read-your-writes fences.
        .target(
            name: "MercatoCatalog",
            dependencies: [
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "MercatoCore", "MercatoFences", "MercatoJSON", "MercatoTelemetry", "MercatoStorage", "MercatoCatalogStore", "MercatoSQL", "MercatoCache",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Merchant writes: validation, tokens, invalidation on every write.
        .target(
            name: "MercatoAdmin",
            dependencies: ["MercatoCore", "MercatoJSON", "MercatoStorage", "MercatoCatalogStore", "MercatoSQL", "MercatoCache", "MercatoCatalog"],
            swiftSettings: swiftSettings
        ),
        // What every HTTP server here shares at its edge: RFC 9457 problems, JSON bodies, fault injection.
        .target(
            name: "MercatoHTTPBoundary",
            dependencies: [
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "MercatoCore", "MercatoJSON", "MercatoTelemetry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The tax contract: VAT/GST rates of the 17 markets, inclusive vs exclusive pricing, per-line rounding
        // (TaxCalculator), and the wire format of the tax service. No HTTP server: the checkout uses it in-process.
        .target(name: "MercatoTaxContract", dependencies: ["MercatoCore", "MercatoJSON"], swiftSettings: swiftSettings),
        // The tax service: its HTTP routes over the contract, and its application (`buildTaxApplication`).
        .target(
            name: "MercatoTax",
            dependencies: [
                "MercatoCore", "MercatoJSON", "MercatoTaxContract", "MercatoHTTPBoundary", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The inventory contract: the wire format of the inventory service, and the stock-change callback.
        .target(name: "MercatoInventoryContract", dependencies: ["MercatoCore", "MercatoJSON"], swiftSettings: swiftSettings),
        // The inventory service: its HTTP API over `InventoryStore`, the reservation expiry sweeper, and its
        // application (`buildInventoryApplication`).
        .target(
            name: "MercatoInventory",
            dependencies: [
                "MercatoCore", "MercatoJSON", "MercatoStorage", "MercatoInventoryStore", "MercatoSQL", "MercatoHTTPBoundary", "MercatoInventoryContract",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The edge tier's client: purges by surrogate key to every Varnish (vmod_xkey) after a write, bounded
        // waiting, retries from a bounded queue and a second send; as an invalidation bus decorator.
        .target(
            name: "MercatoEdge",
            dependencies: [
                "MercatoCache",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Checkout orchestration: inventory and tax clients (HTTP and in-process), shared availability
        // cache, parallel calls, lazy tax, idempotent completion.
        .target(
            name: "MercatoCheckout",
            dependencies: [
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "MercatoCore", "MercatoJSON", "MercatoTelemetry", "MercatoStorage", "MercatoCheckoutStore", "MercatoInventoryStore", "MercatoSQL", "MercatoCache", "MercatoCatalog", "MercatoInventoryContract", "MercatoTaxContract",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Hummingbird application. It embeds the JSON form of openapi.yaml (scripts/openapi-json.py writes
        // it) and serves it at /openapi.json: compiled in, so a copied binary needs no resource bundle beside it.
        .target(
            name: "MercatoHTTP",
            dependencies: [
                "MercatoCore", "MercatoFences", "MercatoJSON", "MercatoTelemetry", "MercatoStorage", "MercatoCatalogStore", "MercatoCheckoutStore", "MercatoInventoryStore", "MercatoSQL", "MercatoCache", "MercatoCatalog", "MercatoAdmin", "Redis",
                "MercatoHTTPBoundary", "MercatoInventory", "MercatoInventoryContract", "MercatoTax", "MercatoTaxContract", "MercatoCheckout", "MercatoEdge",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.embedInCode("Resources/openapi.json")],
            swiftSettings: swiftSettings
        ),
        // Load generator: open-loop constant arrival rate, Zipfian workload, HdrHistogram percentiles,
        // server counters from response headers, reports, and the CI gate against a committed baseline.
        .target(
            name: "MercatoBench",
            dependencies: [
                "MercatoCore", "Spawn",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mercato",
            dependencies: [
                "MercatoCore", "MercatoStorage", "MercatoCatalogStore", "MercatoCheckoutStore", "MercatoInventoryStore", "MercatoSQL", "MercatoCatalog", "MercatoAdmin", "MercatoHTTP", "MercatoHTTPBoundary",
                "MercatoInventory", "MercatoInventoryContract", "MercatoTax", "MercatoCheckout", "MercatoCache", "Redis", "MercatoBench",
                "MercatoSettings", "MercatoTelemetry", "MercatoEdge",
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "MercatoCoreTests", dependencies: ["MercatoCore", "MercatoJSON", "MercatoCatalog", "MercatoStorage", "MercatoCatalogStore", "MercatoSQL"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RedisTests",
            dependencies: [
                "TestSupport",
                "Redis", "TestServers",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "MercatoBenchTests", dependencies: ["MercatoBench", "MercatoCore"], swiftSettings: swiftSettings),
        .testTarget(name: "MercatoTaxTests", dependencies: ["MercatoTaxContract", "MercatoCore"], swiftSettings: swiftSettings),
        // The admin and checkout services on their own: fake inventory, tax and invalidation bus, the embedded store.
        .testTarget(
            name: "MercatoServiceTests",
            dependencies: [
                "MercatoAdmin", "MercatoCheckout", "MercatoCatalog", "MercatoCache", "MercatoStorage", "MercatoCatalogStore", "MercatoCheckoutStore", "MercatoInventoryStore", "MercatoSQL", "MercatoCore",
                "MercatoTaxContract", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "MercatoSettingsTests", dependencies: ["MercatoSettings", "MercatoCache", "MercatoCheckout", "MercatoHTTP", "MercatoHTTPBoundary", "MercatoSQL"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "MercatoHTTPBoundaryTests",
            dependencies: ["MercatoHTTPBoundary", "MercatoCore", .product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "MercatoEdgeTests",
            dependencies: ["MercatoEdge", "MercatoCache", .product(name: "Logging", package: "swift-log"), .product(name: "MetricsTestKit", package: "swift-metrics")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "MercatoCacheTests",
            dependencies: [
                "MercatoCache", "Redis", .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "MercatoStorageTests",
            dependencies: ["TestSupport", "MercatoStorage", "MercatoCatalogStore", "MercatoSQL", "MercatoCore", "MercatoFences", .product(name: "MetricsTestKit", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MercatoHTTPTests",
            dependencies: [
                "TestSupport",
                "MercatoHTTP", "MercatoStorage", "MercatoCatalogStore", "MercatoCheckoutStore", "MercatoInventoryStore", "MercatoSQL", "MercatoCore", "MercatoFences", "MercatoTelemetry", "TestServers", "MercatoCache", "Redis",
                "MercatoCheckout", "MercatoInventory", "MercatoInventoryContract", "MercatoHTTPBoundary", "MercatoTax", "MercatoTaxContract", "MercatoBench",
                "MercatoEdge",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
