import Hummingbird
import Logging
import MercatoHTTPBoundary
import MercatoInventoryContract
import MercatoInventoryStore
import NIOCore
import ServiceLifecycle

/// The inventory service's application, as the CLI runs it and every test starts it: its routes over
/// `store` and, with `expiryInterval`, the sweeper that releases expired reservations.
public func buildInventoryApplication(
    store: InventoryStore, options: ServiceServerOptions, reservationTTL: Duration, expiryInterval: Duration?,
    onStockChange: @escaping StockChangeHandler, services: [any Service] = [], logger: Logger,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> Application<RouterResponder<BasicRequestContext>> {
    let router = serviceRouter(faults: options.faults, middleware: options.middleware)
    InventoryRoutes(store: store, defaultTTL: reservationTTL, onStockChange: onStockChange).register(on: router)
    let sweeper = expiryInterval.map { ReservationExpiry(store: store, interval: $0, logger: logger, onStockChange: onStockChange) }
    return serviceApplication(
        name: "mercato-inventory", router: router, options: options, services: (sweeper.map { [$0] } ?? []) + services, logger: logger,
        onServerRunning: onServerRunning)
}
