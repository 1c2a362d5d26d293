import HTTPTypes
import Hummingbird
import MercatoHTTPBoundary
import Logging
import MercatoAdmin
import MercatoCache
import Redis
import MercatoCatalog
import MercatoCheckout
import MercatoCore
import MercatoEdge
import MercatoInventory
import MercatoInventoryContract
import MercatoStorage
import MercatoSQL
import ServiceLifecycle
import MercatoFences
import MercatoTelemetry
import MercatoCatalogStore

/// Everything the routes need, built once at startup.
public struct AppDependencies: Sendable {
    public var database: any DatabaseClient
    public var reads: StorefrontReads
    public var admin: AdminService
    public var checkout: CheckoutService
    /// Prometheus metrics served at `/metrics`.
    public var metrics: ServerMetrics
    public var options: HTTPOptions
    /// This server's open connections against `options.connectionLimits.maxConnections`.
    public var connections: ConnectionGate
    /// The storefront cache, when enabled.
    public var cache: LayeredCache<CatalogResponse>?
    /// Checkout's background parts, for tests and commands that run a pass themselves.
    public var checkoutParts: CheckoutComponents
    /// The purger of the edge caches (nil without `MERCATO_EDGE_PURGE_URLS`).
    public var edge: EdgePurger?
    /// Other instances' invalidations over Redis (nil without Redis or with caching off).
    public var invalidationListener: InvalidationListener?
    /// Long-lived parts that must run under the application's ServiceGroup.
    public var services: [any Service]

    /// Whether this instance receives other instances' invalidations yet (nil without Redis).
    public var invalidationSubscribed: Bool? {
        invalidationListener?.subscription.isSubscribed
    }

    /// Whether this instance hears other instances' invalidations right now (nil without Redis).
    public var invalidationListening: Bool? {
        invalidationListener?.subscription.isListening
    }

    /// Wires the services over a migrated database: with `cacheOptions.redisURL`, the Redis tier and
    /// Redis pub/sub invalidation; otherwise the embedded near cache and in-process invalidation; with caching
    /// off, no cache part at all. Every part records its metrics into `metrics.factory` (pass the one the
    /// database was opened with, so its replica reads appear at `/metrics` too).
    public static func make(
        database: any DatabaseClient, options: HTTPOptions, cacheOptions: CacheOptions = CacheOptions(),
        checkoutOptions: CheckoutWiring = CheckoutWiring(), edgeOptions: EdgePurgeOptions = EdgePurgeOptions(), logger: Logger = Logger(label: "mercato", metadataProvider: RequestTrace.logMetadata), metrics: ServerMetrics = ServerMetrics()
    ) async throws -> AppDependencies {
        let factory = metrics.factory
        // With read replicas: fences for read-your-writes, and the monitor of their replay positions.
        let replicated = database as? ReplicatedDatabase
        let fences = replicated.map { replicated in WriteFences { try? await replicated.currentPosition() } }
        let writer = CatalogWriter(database: database)
        let signer = Signer(secret: try await writer.signingSecret())
        let catalog = CatalogService(store: SQLCatalogStore(database: database), signer: signer)
        // Statements of work outside requests (refreshes, releases, roll-up, sweep, replica probes), by kind.
        let statements = BackgroundStatements(factory: factory)
        // Always run: besides cache refreshes it runs checkout's reservation releases.
        let refresher = RefreshQueue(statements: statements)
        let live = LiveAvailability()
        let tiers = cacheOptions.enabled ? try CacheTiers.make(cacheOptions, live: live, fences: fences, logger: logger, factory: factory) : nil
        let invalidation = tiers?.invalidation ?? .inProcess(live: live)
        var bus = invalidation.bus
        var services: [any Service] = invalidation.listener.map { [$0] } ?? []
        if let replicated, let fences {
            bus = FencingInvalidationBus(inner: bus, fences: fences, position: { try await replicated.currentPosition() })
            services.append(ReplicaMonitor(database: replicated, statements: statements))
        }
        // Outermost: the edges are purged once this instance's caches and the other instances have the events.
        let edge: EdgePurger?
        (bus, edge) = EdgePurgingInvalidationBus.wrapping(bus, options: edgeOptions, softly: SurrogateKeys.purgedSoftly, factory: factory, logger: logger)
        if let edge { services.append(edge) }
        let cache = tiers.map { tiers in
            LayeredCache(
                near: tiers.near, shared: tiers.sharedTier.map { ($0, CatalogResponse.codec) },
                lifetimes: CacheLifetimes(fresh: cacheOptions.fresh, stale: cacheOptions.stale), refresher: refresher, cost: { $0.cost },
                // Only the storefront's lookups name their family, so only its misses are told apart by cause.
                metrics: CacheMetrics(cache: "storefront", missCauses: true, factory: factory))
        }
        services.append(refresher)
        let checkout = checkoutOptions.make(
            database: database, generations: invalidation.generations, bus: bus, caches: tiers, refresher: refresher, logger: logger,
            metricsFactory: factory, statements: statements)
        services += checkout.services
        let connections = ConnectionGate(limit: options.connectionLimits.maxConnections)
        MetricsCollectors.register(on: metrics, cache: cache, database: database, connections: connections)
        // Without Redis every invalidation is in-process: this instance always hears them.
        let isListening: @Sendable () -> Bool
        if let subscription = invalidation.listener?.subscription {
            isListening = { subscription.isListening }
        } else {
            isListening = { true }
        }
        return AppDependencies(
            database: database,
            reads: StorefrontReads(
                catalog: catalog, cache: cache, generations: invalidation.generations, signer: signer, fences: fences, live: live,
                isListening: isListening),
            admin: AdminService(writer: writer, bus: bus),
            checkout: checkout.service,
            metrics: metrics,
            options: options,
            connections: connections,
            cache: cache,
            checkoutParts: checkout,
            edge: edge,
            invalidationListener: invalidation.listener,
            services: services)
    }
}

/// Storefront cache knobs.
public struct CacheOptions: Sendable, Equatable {
    /// `MERCATO_CACHE=off` switches caching off, to compare the architecture with and without it.
    public var enabled: Bool
    /// Near cache bound in bytes (`MERCATO_NEAR_CACHE_BYTES`, default 64 MiB).
    public var nearCapacityBytes: Int
    /// Fresh lifetime: the safety net behind event-driven invalidation (`MERCATO_CACHE_TTL`).
    public var fresh: Duration
    /// Extra time an entry may be served while one refresh runs (`MERCATO_CACHE_STALE`).
    public var stale: Duration
    /// `REDIS_URL`: shared tier and cross-instance invalidation; nil for the embedded setup.
    public var redisURL: String?
    /// Longest a cache request waits for Redis before falling back (`MERCATO_REDIS_TIMEOUT_MS`).
    public var redisTimeout: Duration
    /// Where this deployment's keys and channel live in Redis (`MERCATO_REDIS_PREFIX`).
    public var redisKeyspace: RedisKeyspace

    public init(
        enabled: Bool = true, nearCapacityBytes: Int = 64 << 20, fresh: Duration = .seconds(300), stale: Duration = .seconds(30),
        redisURL: String? = nil, redisTimeout: Duration = .milliseconds(100), redisKeyspace: RedisKeyspace = RedisKeyspace()
    ) {
        self.redisKeyspace = redisKeyspace
        self.enabled = enabled
        self.nearCapacityBytes = nearCapacityBytes
        self.fresh = fresh
        self.stale = stale
        self.redisURL = redisURL
        self.redisTimeout = redisTimeout
    }
}

/// HTTP behaviour knobs.
public struct HTTPOptions: Sendable, Equatable {
    /// Largest accepted request body.
    public var maxBodyBytes: Int
    /// Whether to send `X-Mercato-Statements` and `X-Mercato-Cache` (off in production).
    public var exposeStatementCount: Bool
    /// Whether to send `Server-Timing` (cache tier and time in database, Redis, external calls; `MERCATO_SERVER_TIMING`).
    public var serverTiming: Bool
    /// Whether `Server-Timing` names the cache tier (off in production: whether a response was
    /// cached tells an outsider what other buyers looked at recently).
    public var serverTimingCacheTier: Bool
    /// When set, `/metrics` answers only `Authorization: Bearer <token>` (`MERCATO_METRICS_TOKEN`).
    public var metricsToken: String?
    /// Idle and body timeouts and the connection limit (slow and idle clients).
    public var connectionLimits: ConnectionLimits
    /// Each merchant's admin write allowance on this instance (nil: unlimited).
    public var adminWriteLimit: AdminWriteLimit?

    public init(
        maxBodyBytes: Int = 1 << 20, exposeStatementCount: Bool = true, serverTiming: Bool = true, serverTimingCacheTier: Bool = true,
        metricsToken: String? = nil, connectionLimits: ConnectionLimits = ConnectionLimits(), adminWriteLimit: AdminWriteLimit? = .standard
    ) {
        self.connectionLimits = connectionLimits
        self.adminWriteLimit = adminWriteLimit
        self.maxBodyBytes = maxBodyBytes
        self.exposeStatementCount = exposeStatementCount
        self.serverTiming = serverTiming
        self.serverTimingCacheTier = serverTimingCacheTier
        self.metricsToken = metricsToken
    }
}

/// Builds the router with every route and middleware.
public func buildRouter(_ deps: AppDependencies) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.addTracingIfActive()
    router.add(middleware: TraceContextMiddleware())
    router.add(middleware: RequestObservationMiddleware(
        exposeStatements: deps.options.exposeStatementCount, serverTiming: deps.options.serverTiming,
        serverTimingCacheTier: deps.options.serverTimingCacheTier, metrics: deps.metrics))
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: RequestTargetMiddleware())
    let methods = RouteMethods()
    router.add(middleware: RouteMethodsMiddleware(methods))
    router.add(middleware: ReadAfterMiddleware())
    OperationsRoutes(database: deps.database, metrics: deps.metrics, metricsToken: deps.options.metricsToken).register(on: router)
    ContractRoutes().register(on: router)
    StorefrontRoutes(
        reads: deps.reads, debugHeaders: deps.options.exposeStatementCount,
        surrogateControl: deps.edge.map { "max-age=\($0.options.edgeTTL.components.seconds)" }
    ).register(on: router)
    AdminRoutes(admin: deps.admin, reads: deps.reads, maxBodyBytes: deps.options.maxBodyBytes, writeLimit: deps.options.adminWriteLimit)
        .register(on: router)
    CheckoutRoutes(checkout: deps.checkout, reads: deps.reads, maxBodyBytes: deps.options.maxBodyBytes, debugHeaders: deps.options.exposeStatementCount)
        .register(on: router)
    methods.record(router)
    return router
}

/// Builds the application: routes plus long-lived services (e.g. the PostgreSQL pool).
public func buildApplication(
    _ deps: AppDependencies, hostname: String, port: Int, services: [any Service], logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    buildApplication(deps, wrappingRouter: { $0 }, hostname: hostname, port: port, services: services, logger: logger, onServerRunning: onServerRunning)
}

/// The application with the router's responder wrapped by `wrap` (inside the HEAD handling): the tests wrap it
/// to check every answer against the contract.
public func buildApplication<Responder: HTTPResponder>(
    _ deps: AppDependencies, wrappingRouter wrap: (RouterResponder<BasicRequestContext>) -> Responder, hostname: String, port: Int,
    services: [any Service], logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol where Responder.Context == BasicRequestContext {
    Application(
        responder: HeadAsGetResponder(wrap(buildRouter(deps).buildResponder())),
        server: .http1WithProblems(limits: deps.options.connectionLimits, gate: deps.connections),
        configuration: .init(address: .hostname(hostname, port: port), serverName: "mercato", backlog: 2048),
        services: deps.services + services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger)
}
