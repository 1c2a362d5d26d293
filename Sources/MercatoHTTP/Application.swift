import HTTPTypes
import Hummingbird
import Logging
import MercatoAdmin
import MercatoCache
import MercatoCatalog
import MercatoCore
import MercatoStorage
import ServiceLifecycle

/// Everything the routes need, built once at startup.
public struct AppDependencies: Sendable {
    public var database: any SQLDatabase
    public var reads: StorefrontReads
    public var admin: AdminService
    public var options: HTTPOptions
    /// The storefront cache, when enabled (tests read its counters).
    public var cache: LayeredCache<CatalogResponse>?
    /// Long-lived parts that must run under the application's ServiceGroup.
    public var services: [any Service]

    /// Wires the default services over a migrated database: embedded invalidation bus, near cache.
    public static func make(database: any SQLDatabase, options: HTTPOptions, cacheOptions: CacheOptions = CacheOptions()) async throws -> AppDependencies {
        let writer = CatalogWriter(database: database)
        let signer = Signer(secret: try await writer.signingSecret())
        let generations = GenerationMap()
        let refresher = RefreshQueue()
        let cache: LayeredCache<CatalogResponse>? = cacheOptions.enabled
            ? LayeredCache(
                near: NearCache(capacityBytes: cacheOptions.nearCapacityBytes),
                lifetimes: CacheLifetimes(fresh: cacheOptions.fresh, stale: cacheOptions.stale),
                refresher: refresher, cost: { $0.cost })
            : nil
        let catalog = CatalogService(store: SQLCatalogStore(database: database), signer: signer)
        return AppDependencies(
            database: database,
            reads: StorefrontReads(catalog: catalog, cache: cache, generations: generations, signer: signer),
            admin: AdminService(writer: writer, bus: InProcessInvalidationBus(generations: generations)),
            options: options,
            cache: cache,
            services: cacheOptions.enabled ? [refresher] : [])
    }
}

/// Storefront cache knobs.
public struct CacheOptions: Sendable {
    /// `MERCATO_CACHE=off` switches caching off, to compare the architecture with and without it.
    public var enabled: Bool
    /// Near cache bound in bytes (`MERCATO_NEAR_CACHE_BYTES`, default 64 MiB).
    public var nearCapacityBytes: Int
    /// Fresh lifetime: the safety net behind event-driven invalidation (`MERCATO_CACHE_TTL`).
    public var fresh: Duration
    /// Extra time an entry may be served while one refresh runs (`MERCATO_CACHE_STALE`).
    public var stale: Duration

    public init(enabled: Bool = true, nearCapacityBytes: Int = 64 << 20, fresh: Duration = .seconds(60), stale: Duration = .seconds(30)) {
        self.enabled = enabled
        self.nearCapacityBytes = nearCapacityBytes
        self.fresh = fresh
        self.stale = stale
    }
}

/// HTTP behaviour knobs.
public struct HTTPOptions: Sendable {
    /// Largest accepted request body.
    public var maxBodyBytes: Int
    /// Whether to send `X-Mercato-Statements` and `X-Mercato-Cache` (off in production).
    public var exposeStatementCount: Bool

    public init(maxBodyBytes: Int = 1 << 20, exposeStatementCount: Bool = true) {
        self.maxBodyBytes = maxBodyBytes
        self.exposeStatementCount = exposeStatementCount
    }
}

/// Builds the router with every route and middleware.
public func buildRouter(_ deps: AppDependencies) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: StatementCountMiddleware(exposeHeader: deps.options.exposeStatementCount))
    router.add(middleware: ProblemMiddleware())
    OperationsRoutes(database: deps.database).register(on: router)
    StorefrontRoutes(reads: deps.reads, debugHeaders: deps.options.exposeStatementCount).register(on: router)
    AdminRoutes(admin: deps.admin, reads: deps.reads, maxBodyBytes: deps.options.maxBodyBytes).register(on: router)
    return router
}

/// Builds the application: routes plus long-lived services (e.g. the PostgreSQL pool).
public func buildApplication(
    _ deps: AppDependencies, hostname: String, port: Int, services: [any Service], logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(deps),
        configuration: .init(address: .hostname(hostname, port: port), serverName: "mercato", backlog: 2048),
        services: deps.services + services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger)
}
