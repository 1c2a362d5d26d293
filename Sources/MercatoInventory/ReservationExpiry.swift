import Logging
import MercatoInventoryContract
import MercatoStorage
import ServiceLifecycle
import MercatoInventoryStore
import MercatoCore
import MercatoTelemetry

/// Releases expired reservations in the background, so abandoned checkouts give their units back.
///
/// Safe to run in every instance at once: `InventoryStore.releaseExpired` re-checks each reservation
/// under a row lock, so a reservation is released once, and a commit that won the race is kept.
public struct ReservationExpiry: Service {
    let store: InventoryStore
    let interval: Duration
    let onStockChange: StockChangeHandler
    let logger: Logger
    let statements: BackgroundStatements

    /// Between two sweeps unless told otherwise: a released unit is back on sale at most this long after its TTL.
    public static let standardInterval: Duration = .seconds(5)

    /// The sweep's SQL statements are counted in `statements` as `sweep`.
    public init(
        store: InventoryStore, interval: Duration, logger: Logger, statements: BackgroundStatements = .uncounted,
        onStockChange: @escaping StockChangeHandler
    ) {
        self.statements = statements
        self.store = store
        self.interval = interval
        self.onStockChange = onStockChange
        self.logger = logger
    }

    public func run() async throws {
        // Graceful shutdown cancels the loop, so a long interval never delays it. The first pass waits one
        // interval: a starting instance does not act on rows at once (tests on a shared database, each with a
        // long interval, run their passes themselves), and one interval is the delay the setting allows anyway.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                do {
                    _ = try await statements.run(.sweep) { try await sweep() }
                } catch is CancellationError {
                    break  // shutdown cancelled a pass in flight: not a failure to retry
                } catch {
                    logger.warning("reservation expiry sweep failed; retrying", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Releases everything expired now (only `merchantID`'s when given), in batches; returns the reservations this
    /// sweep released (another instance's sweep may release some of them first).
    @discardableResult
    public func sweep(merchantID: MerchantID? = nil) async throws -> [Reservation] {
        var all: [Reservation] = []
        while true {
            let released = try await store.releaseExpired(limit: 100, merchantID: merchantID)
            for (reservation, change) in released where !change.isEmpty {
                await onStockChange(reservation.merchantID, change)
            }
            all += released.map(\.0)
            if released.count < 100 { break }
        }
        if !all.isEmpty { logger.info("released expired reservations", metadata: ["count": "\(all.count)"]) }
        return all
    }
}
