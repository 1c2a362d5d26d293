import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A router for a small internal service: problem+json errors, optional fault injection, `/health`.
/// `middleware` runs after the shared ones, before the service's routes.
public func serviceRouter(
    faults: FaultInjection, middleware: [any MiddlewareProtocol<Request, Response, BasicRequestContext>] = []
) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.addTracingIfActive()
    router.add(middleware: TraceContextMiddleware())
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: RequestTargetMiddleware())
    router.add(middleware: FaultInjectionMiddleware(faults))
    for extra in middleware { router.add(middleware: extra) }
    router.get("/health") { _, _ in JSONBytes.response(Array(#"{"status":"ok"}"#.utf8), headers: [.cacheControl: "no-store"]) }
    return router
}

/// Where an internal service listens and what its server enforces.
public struct ServiceServerOptions: Sendable {
    public var hostname: String
    /// 0: any free port (tests read the one chosen).
    public var port: Int
    public var limits: ConnectionLimits
    public var faults: FaultInjection
    /// Extra middleware before the routes (tests use it to watch or hold requests).
    public var middleware: [any MiddlewareProtocol<Request, Response, BasicRequestContext>]

    public init(
        hostname: String = "127.0.0.1", port: Int = 0, limits: ConnectionLimits = ConnectionLimits(), faults: FaultInjection = .off,
        middleware: [any MiddlewareProtocol<Request, Response, BasicRequestContext>] = []
    ) {
        self.hostname = hostname
        self.port = port
        self.limits = limits
        self.faults = faults
        self.middleware = middleware
    }
}

/// An internal service's application: `router` on the shared HTTP/1 server (problem answers for bad
/// requests, connection limits), running `services` beside it. `onServerRunning` gets the bound address.
public func serviceApplication(
    name: String, router: Router<BasicRequestContext>, options: ServiceServerOptions, services: [any Service], logger: Logger,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> Application<RouterResponder<BasicRequestContext>> {
    Application(
        router: router, server: .http1WithProblems(limits: options.limits, gate: ConnectionGate(limit: options.limits.maxConnections)),
        configuration: .init(address: .hostname(options.hostname, port: options.port), serverName: name, backlog: 1024),
        services: services, onServerRunning: onServerRunning, logger: logger)
}
