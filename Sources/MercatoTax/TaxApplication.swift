import Hummingbird
import Logging
import MercatoHTTPBoundary
import NIOCore
import ServiceLifecycle

/// The tax service's application, as the CLI runs it and every test starts it.
public func buildTaxApplication(
    options: ServiceServerOptions, services: [any Service] = [], logger: Logger,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> Application<RouterResponder<BasicRequestContext>> {
    let router = serviceRouter(faults: options.faults, middleware: options.middleware)
    TaxRoutes().register(on: router)
    return serviceApplication(name: "mercato-tax", router: router, options: options, services: services, logger: logger, onServerRunning: onServerRunning)
}
