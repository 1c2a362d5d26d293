import Hummingbird

/// A router for a small internal service: problem+json errors, optional fault injection, `/health`.
public func serviceRouter(faults: FaultInjection) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.addTracingIfActive()
    router.add(middleware: TraceContextMiddleware())
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: RequestTargetMiddleware())
    router.add(middleware: FaultInjectionMiddleware(faults))
    router.get("/health") { _, _ in JSONBytes.response(Array(#"{"status":"ok"}"#.utf8), headers: [.cacheControl: "no-store"]) }
    return router
}
