import HTTPTypes
import Hummingbird
import Logging
import MercatoAdmin
import MercatoCatalog
import MercatoCore
import MercatoStorage
import ServiceLifecycle

/// Everything the routes need, built once at startup.
public struct AppDependencies: Sendable {
    public var database: any SQLDatabase
    public var catalog: CatalogService
    public var admin: AdminService
    public var options: HTTPOptions

    public init(database: any SQLDatabase, catalog: CatalogService, admin: AdminService, options: HTTPOptions) {
        self.database = database
        self.catalog = catalog
        self.admin = admin
        self.options = options
    }

    /// Wires the default services over a migrated database.
    public static func make(database: any SQLDatabase, options: HTTPOptions) async throws -> AppDependencies {
        let writer = CatalogWriter(database: database)
        let signer = Signer(secret: try await writer.signingSecret())
        return AppDependencies(
            database: database,
            catalog: CatalogService(store: SQLCatalogStore(database: database), signer: signer),
            admin: AdminService(writer: writer),
            options: options)
    }
}

/// HTTP behaviour knobs.
public struct HTTPOptions: Sendable {
    /// Largest accepted request body.
    public var maxBodyBytes: Int
    /// Whether to send `X-Mercato-Statements` (off in production).
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
    StorefrontRoutes(catalog: deps.catalog).register(on: router)
    AdminRoutes(admin: deps.admin, catalog: deps.catalog, maxBodyBytes: deps.options.maxBodyBytes).register(on: router)
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
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger)
}
