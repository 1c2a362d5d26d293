import Foundation
import Tracing
import Logging
import Metrics
import MercatoCache
import MercatoCatalog
import MercatoCore
import MercatoJSON
import MercatoTelemetry
import MercatoInventoryContract
import MercatoStorage
import MercatoSQL
import MercatoTaxContract
import MercatoCheckoutStore
import MercatoInventoryStore

/// Which checkout flow runs (`MERCATO_CHECKOUT`).
public enum CheckoutMode: String, Sendable, CaseIterable {
    /// Cached pricing and availability, inventory calls in parallel, tax only once an address exists.
    case standard
    /// The naive flow kept for comparison: every inventory call sequential and uncached, tax at creation.
    case sequential
}

/// Checkout knobs.
public struct CheckoutOptions: Sendable, Equatable {
    public var mode: CheckoutMode
    /// How long a checkout holds its stock (`MERCATO_RESERVATION_TTL`).
    public var reservationTTL: Duration
    /// How long a cached availability figure counts as fresh (it is also dropped on every stock change).
    public var availabilityTTL: Duration
    /// Most lines one checkout may hold (`MERCATO_CHECKOUT_MAX_LINES`).
    public var maxLines: Int
    /// Most units of one variant one checkout may hold (`MERCATO_CHECKOUT_MAX_QUANTITY`): an anonymous
    /// checkout takes stock off sale for the reservation TTL, so one client must not hold a shelf.
    public var maxQuantity: Int64

    public init(
        mode: CheckoutMode = .standard, reservationTTL: Duration = .seconds(600), availabilityTTL: Duration = .seconds(5),
        maxLines: Int = 25, maxQuantity: Int64 = 100
    ) {
        self.mode = mode
        self.reservationTTL = reservationTTL
        self.availabilityTTL = availabilityTTL
        self.maxLines = maxLines
        self.maxQuantity = maxQuantity
    }
}

/// Why a checkout step was refused (beyond input validation and stock).
public enum CheckoutError: Error, Sendable, Equatable {
    /// `complete` without an `Idempotency-Key` header, or with a malformed one.
    case idempotencyKeyMissing
    /// The key was used before on this checkout with a different request body.
    case idempotencyKeyReused
    /// The checkout already has an order, made with another key.
    case alreadyCompleted(OrderID)
    /// `complete` before a shipping address (and so tax) exists.
    case addressRequired
    /// The checkout is no longer open (`completed` or `expired`).
    case notOpen(String)
    /// The checkout was priced for one market and the address is in another.
    case countryMismatch(expected: String, got: String)
}

/// What `complete` answers: the stored status and body, identical for every repeat of the key.
public struct StoredResponse: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]
    /// True when this answer was replayed from an earlier request with the same key.
    public var replayed: Bool
}

/// The buyer's path from cart to order: create (stock reserved), shipping address (tax quoted), complete.
///
/// Creation prices the lines from the catalog (cached under the merchant's generation), then runs the
/// inventory calls in parallel: the availability check (from the shared availability cache, one
/// batch call on a miss) beside the authoritative reservation. So a standard checkout makes at most 2
/// inventory calls and waits for about one round trip. Tax is asked only when an address arrives.
public struct CheckoutService: Sendable {
    let store: CheckoutStore
    let inventory: any InventoryClient
    let tax: any TaxClient
    let generations: any GenerationSource
    let bus: any InvalidationBus
    let pricingCache: LayeredCache<CheckoutCatalog?>?
    let availabilityCache: LayeredCache<Int64>?
    let options: CheckoutOptions
    /// Where releases run after the buyer was answered (nil: inline, before answering).
    let background: RefreshQueue?
    /// Calls made, by kind, and their durations by outcome (the per-request counts are task local).
    let callMetrics: ExternalCallMetrics
    let logger: Logger

    /// `pricingCache`/`availabilityCache` nil: no caching (as with `MERCATO_CACHE=off`). `metricsFactory`: where
    /// external calls are counted and timed (by default nowhere).
    public init(
        store: CheckoutStore, inventory: any InventoryClient, tax: any TaxClient, generations: any GenerationSource, bus: any InvalidationBus,
        pricingCache: LayeredCache<CheckoutCatalog?>?, availabilityCache: LayeredCache<Int64>?, options: CheckoutOptions, logger: Logger,
        background: RefreshQueue? = nil, metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        self.callMetrics = ExternalCallMetrics(factory: metricsFactory)
        self.background = background
        self.store = store
        self.inventory = inventory
        self.tax = tax
        self.generations = generations
        self.bus = bus
        self.pricingCache = pricingCache
        self.availabilityCache = availabilityCache
        self.options = options
        self.logger = logger
    }

    public var mode: CheckoutMode { options.mode }

    // MARK: create

    /// Creates a checkout: prices, reserves, stores. Answers with the checkout and its token.
    public func create(merchantSlug: String, group: CustomerGroup, _ command: NewCheckout) async throws -> CreatedCheckout {
        guard (1...options.maxLines).contains(command.lines.count) else {
            throw MercatoError.validation(field: "lines", message: "'lines' must hold 1–\(options.maxLines) lines")
        }
        var quantities: [VariantID: Int64] = [:]
        var order: [VariantID] = []
        for (index, line) in command.lines.enumerated() {
            let id = line.variantID
            guard (1...options.maxQuantity).contains(line.quantity) else {
                throw MercatoError.validation(field: "lines[\(index)].quantity", message: "quantity must be 1–\(options.maxQuantity)")
            }
            if quantities[id] == nil { order.append(id) }
            quantities[id, default: 0] += line.quantity
            guard quantities[id]! <= options.maxQuantity else {
                throw MercatoError.validation(field: "lines[\(index)].quantity", message: "at most \(options.maxQuantity) units of one variant per checkout")
            }
        }
        let market = command.market
        let email = command.email

        // Pricing: one cached read of the merchant and its variants (the default market needs the merchant first).
        let catalog = try await pricing(merchantSlug: merchantSlug, variants: order, currency: market?.currency)
        let merchant = catalog.merchant
        let chosen = market ?? merchant.defaultMarket
        guard merchant.markets.contains(chosen) else {
            throw MercatoError.validation(field: "market", message: "this store does not sell in \(chosen.code); it sells in \(merchant.markets.map(\.code).joined(separator: ", "))")
        }
        let priced = try await (chosen.currency == catalog.currency ? catalog
            : pricing(merchantSlug: merchantSlug, variants: order, currency: chosen.currency))
        let audience = Audience(market: chosen, group: group)
        var lines: [CheckoutLine] = []
        for (index, id) in order.enumerated() {
            guard let variant = priced.variants[id], let mask = variant.audienceMask, mask.contains(audience) else {
                throw MercatoError.validation(field: "lines[\(index)].variant_id", message: "variant \(id) is not sold in this store")
            }
            guard let price = variant.price else {
                throw MercatoError.validation(field: "lines[\(index)].variant_id", message: "variant \(id) has no price in \(chosen.currency.code)")
            }
            lines.append(CheckoutLine(
                variantId: id.description, productId: variant.productID.description, sku: variant.sku, name: variant.productName,
                options: variant.optionsJSON, quantity: quantities[id]!, unitPrice: price, taxClass: variant.taxClass))
        }

        let checkoutID = CheckoutID.random()
        let reservationKey = "co_\(checkoutID)"
        let reservationLines = order.map { ReservationLine(variantID: $0, quantity: quantities[$0]!) }
        let products = Dictionary(uniqueKeysWithValues: order.map { ($0, priced.variants[$0]!.productID) })
        let reservation: Reservation
        let change: StockChange
        var taxQuote: TaxQuote?
        switch options.mode {
        case .standard:
            (reservation, change) = try await reserveInParallel(merchant: merchant, key: reservationKey, lines: reservationLines, products: products)
        case .sequential:
            (reservation, change) = try await reserveSequentially(merchant: merchant, key: reservationKey, lines: reservationLines)
            // The naive flow quotes tax up front for the market's country, before any address exists.
            do {
                taxQuote = try await quoteTax(country: chosen.code, lines: lines)
            } catch {
                await releaseQuietly(merchant: merchant, key: reservationKey)
                throw error
            }
        }
        await stockChanged(merchant, change)

        let token = Secrets.randomToken(bytes: 24)
        let now = WallClock.nowMicros()
        let record = CheckoutRecord(
            id: checkoutID, merchantID: merchant.id, tokenHash: Secrets.sha256Hex(token), status: .open, market: chosen.code,
            currency: chosen.currency.code, email: email, linesJSON: try Self.encode(lines), shippingAddressJSON: nil,
            taxJSON: try taxQuote.map { try Self.encode(TaxAPI.QuoteBody($0)) }, reservationKey: reservationKey,
            reservationExpiresAt: reservation.expiresAt, createdAt: now, updatedAt: now)
        do {
            try await store.insert(record)
        } catch {
            await releaseQuietly(merchant: merchant, key: reservationKey)
            throw error
        }
        return CreatedCheckout(checkout: try CheckoutView(record), token: token)
    }

    /// The standard flow: availability (cache, else one batch call) and the reservation run at once.
    /// A cached figure that already shows a line short answers 409 without calling inventory at all.
    func reserveInParallel(
        merchant: Merchant, key: String, lines: [ReservationLine], products: [VariantID: ProductID]
    ) async throws -> (Reservation, StockChange) {
        // Keys carry the generations read before any call, so a stock change meanwhile strands the fill.
        var keys: [VariantID: CacheKey] = [:]
        if availabilityCache != nil {
            let merchantStamp = await generations.stamp(CacheNamespace.merchant(merchant.slug))
            for line in lines {
                guard let product = products[line.variantID] else { continue }
                let stockStamp = await generations.stamp(CacheNamespace.stock(merchant.slug, product))
                keys[line.variantID] = CacheKey("A", under: merchantStamp, stockStamp, inputs: [merchant.slug, line.variantID.description])
            }
        }
        let cached = await cachedAvailability(keys)
        let shortages = lines.compactMap { line -> (variantID: VariantID, requested: Int64, available: Int64)? in
            guard let available = cached[line.variantID], available < line.quantity else { return nil }
            return (line.variantID, line.quantity, available)
        }
        if !shortages.isEmpty { throw InventoryError.insufficientStock(shortages) }
        let missing = lines.map(\.variantID).filter { cached[$0] == nil }

        async let fill: Void = fillAvailability(merchant: merchant, keys: keys, variants: missing)
        let outcome: Result<(Reservation, StockChange), any Error>
        do {
            outcome = .success(try await reserve(merchant: merchant, key: key, lines: lines))
        } catch {
            outcome = .failure(error)
        }
        await fill
        return try outcome.get()
    }

    /// The naive flow: one uncached availability call per line, then the reservation, one after another.
    func reserveSequentially(merchant: Merchant, key: String, lines: [ReservationLine]) async throws -> (Reservation, StockChange) {
        for line in lines {
            let available = try await call(.availability) {
                try await inventory.availability(merchantID: merchant.id, variants: [line.variantID])
            }[line.variantID] ?? 0
            if available < line.quantity { throw InventoryError.insufficientStock([(line.variantID, line.quantity, available)]) }
        }
        return try await reserve(merchant: merchant, key: key, lines: lines)
    }

    /// The reservation; when its outcome is unknown (timeout, service down) it is released by key so
    /// nothing stays held (and if even that fails, its TTL gives the units back).
    func reserve(merchant: Merchant, key: String, lines: [ReservationLine]) async throws -> (Reservation, StockChange) {
        do {
            return try await call(.reserve) {
                try await inventory.reserve(merchantID: merchant.id, key: key, lines: lines, ttl: options.reservationTTL)
            }
        } catch let error as DependencyError {
            // The buyer gets the 503 now; the release (as slow as the call that failed) follows.
            if let background {
                background.schedule(key: "release:\(key)", kind: .release) { [self] in await releaseQuietly(merchant: merchant, key: key) }
            } else {
                await releaseQuietly(merchant: merchant, key: key)
            }
            throw error
        }
    }

    // MARK: shipping address and tax

    /// Stores the address (validated by `ShippingAddress.validated()`) and asks the tax service for the
    /// first time (standard) or again (sequential).
    public func setShippingAddress(_ id: CheckoutID, token: String?, _ address: ShippingAddress) async throws -> CheckoutView {
        let checkout = try await authorized(id, token: token)
        guard checkout.status == .open else { throw CheckoutError.notOpen(checkout.status.rawValue) }
        let address = try address.validated()
        guard address.country == checkout.market else { throw CheckoutError.countryMismatch(expected: checkout.market, got: address.country) }
        let lines = try Self.decode([CheckoutLine].self, checkout.linesJSON)
        let quote = try await quoteTax(country: address.country, lines: lines)
        let addressJSON = try Self.encode(address)
        let taxJSON = try Self.encode(TaxAPI.QuoteBody(quote))
        guard try await store.setShippingAddress(id, addressJSON: addressJSON, taxJSON: taxJSON) else {
            let now = try await store.checkout(id)
            throw CheckoutError.notOpen(now?.status.rawValue ?? "gone")
        }
        var updated = checkout
        updated.shippingAddressJSON = addressJSON
        updated.taxJSON = taxJSON
        return try CheckoutView(updated)
    }

    func quoteTax(country: String, lines: [CheckoutLine]) async throws -> TaxQuote {
        return try await call(.tax) {
            try await tax.quote(
            country: country,
            lines: lines.map { TaxableLine(id: $0.variantId, unitPrice: $0.unitPrice, quantity: $0.quantity, taxClass: TaxClass(rawValue: $0.taxClass) ?? .standard) })
        }
    }

    // MARK: complete

    /// Places the order once per checkout. The same key and body always get the same answer;
    /// the same key with another body is `idempotencyKeyReused`; another key after an order exists is `alreadyCompleted`.
    public func complete(_ id: CheckoutID, token: String?, _ request: CompletionRequest) async throws -> StoredResponse {
        let key = request.idempotencyKey
        let requestHash = request.bodyDigest
        let checkout = try await authorized(id, token: token)
        guard checkout.status == .open else {
            // Completed (or expired at completion): the order's stored answer, for the key that made it.
            if let existing = try await store.order(checkout: id), existing.status != .pending {
                return try replay(existing, key: key, requestHash: requestHash)
            }
            throw CheckoutError.notOpen(checkout.status.rawValue)
        }
        guard checkout.shippingAddressJSON != nil, checkout.taxJSON != nil else { throw CheckoutError.addressRequired }

        let claimed = try await store.claimOrder(OrderID.random(), for: checkout, idempotencyKey: key, requestHash: requestHash)
        if claimed.status != .pending { return try replay(claimed, key: key, requestHash: requestHash) }
        guard claimed.idempotencyKey == key else { throw CheckoutError.alreadyCompleted(claimed.id) }
        guard claimed.requestHash == requestHash else { throw CheckoutError.idempotencyKeyReused }

        // Every request holding this claim may commit: commit is idempotent, and only the first
        // `finishOrder` writes the answer that all of them return.
        let answer: (status: Int, body: String, won: Bool)
        do {
            _ = try await call(.commit) { try await inventory.commit(merchantID: checkout.merchantID, key: checkout.reservationKey) }
            let placed = PlacedOrder(id: claimed.id, checkout: try CheckoutView(checkout), createdAt: claimed.createdAt)
            let body = String(decoding: try CheckoutRenderer.order(placed), as: UTF8.self)
            answer = (201, body, try await store.finishOrder(claimed.id, checkout: id, status: .placed, responseStatus: 201, body: body, checkoutStatus: .completed))
        } catch InventoryError.notHeld(_, .released) {
            // The reservation ran out before the buyer completed. Inventory refuses to commit it even
            // before the sweeper has run; give the units back now rather than at the next sweep.
            await releaseExpired(checkout)
            let problem = CheckoutRenderer.expiredProblem(checkoutID: id)
            answer = (409, problem, try await store.finishOrder(claimed.id, checkout: id, status: .failed, responseStatus: 409, body: problem, checkoutStatus: .expired))
        }
        // This request wrote the answer: it is what every repeat will replay.
        if answer.won { return StoredResponse(status: answer.status, body: Array(answer.body.utf8), replayed: false) }
        guard let finished = try await store.order(claimed.id) else { throw StorageError.database("order \(claimed.id) vanished") }
        var response = try replay(finished, key: key, requestHash: requestHash)
        response.replayed = false
        return response
    }

    func replay(_ order: OrderRecord, key: String, requestHash: String) throws -> StoredResponse {
        guard order.idempotencyKey == key else { throw CheckoutError.alreadyCompleted(order.id) }
        guard order.requestHash == requestHash else { throw CheckoutError.idempotencyKeyReused }
        guard let status = order.responseStatus, let body = order.body else { throw StorageError.database("order \(order.id) has no stored answer") }
        return StoredResponse(status: status, body: Array(body.utf8), replayed: true)
    }

    // MARK: reads

    /// The checkout, for the holder of its token.
    public func checkout(_ id: CheckoutID, token: String?) async throws -> CheckoutView {
        try CheckoutView(try await authorized(id, token: token))
    }

    /// The order, for the holder of its checkout's token. Only placed orders exist to buyers.
    public func order(_ id: OrderID, token: String?) async throws -> PlacedOrder {
        guard let (order, checkout) = try await store.orderWithCheckout(id), order.status == .placed,
              let token, Self.sameHash(order.tokenHash, Secrets.sha256Hex(token))
        else { throw MercatoError.notFound("no order \(id)") }
        return PlacedOrder(id: order.id, checkout: try CheckoutView(checkout), createdAt: order.createdAt)
    }

    /// A wrong or missing token reads as "no such checkout", so ids cannot be probed.
    func authorized(_ id: CheckoutID, token: String?) async throws -> CheckoutRecord {
        guard let token, let checkout = try await store.checkout(id), Self.sameHash(checkout.tokenHash, Secrets.sha256Hex(token)) else {
            throw MercatoError.notFound("no checkout \(id)")
        }
        return checkout
    }

    static func sameHash(_ a: String, _ b: String) -> Bool { Secrets.same(a, b) }

    // MARK: caches

    /// The merchant and variants priced in `currency` (the merchant's default currency when nil).
    func pricing(merchantSlug: String, variants: [VariantID], currency: CurrencyCode?) async throws -> PricedCatalog {
        let load: @Sendable () async throws -> CheckoutCatalog? = { [store] in
            guard let currency else {
                // Unknown market: learn the merchant (and its default currency) first.
                guard let bare = try await store.catalog(merchantSlug: merchantSlug, variants: [], currency: CurrencyCode("EUR")!) else { return nil }
                return try await store.catalog(merchantSlug: merchantSlug, variants: variants, currency: bare.merchant.defaultMarket.currency)
            }
            return try await store.catalog(merchantSlug: merchantSlug, variants: variants, currency: currency)
        }
        let catalog: CheckoutCatalog?
        if let pricingCache, options.mode == .standard {
            // Prices change with admin writes to the merchant or to variant prices (the merchant's `prices` generation).
            let key = CacheKey(
                "K", under: await generations.stamp(CacheNamespace.merchant(merchantSlug)), await generations.stamp(CacheNamespace.prices(merchantSlug)),
                inputs: [merchantSlug, currency?.code ?? "-", variants.map(\.description).sorted().joined(separator: ",")])
            catalog = try await pricingCache.value(for: key, load: load).0
        } else {
            catalog = try await load()
        }
        guard let catalog else { throw MercatoError.notFound("no store '\(merchantSlug)'") }
        return PricedCatalog(catalog: catalog, currency: currency ?? catalog.merchant.defaultMarket.currency)
    }

    func cachedAvailability(_ keys: [VariantID: CacheKey]) async -> [VariantID: Int64] {
        guard let availabilityCache else { return [:] }
        var found: [VariantID: Int64] = [:]
        for (variant, key) in keys {
            if let units = await availabilityCache.cachedValue(for: key) { found[variant] = units }
        }
        return found
    }

    /// One batch availability call for the variants the cache lacked; the answer is cached under the
    /// generation read before the call, so a stock change meanwhile leaves it unreachable.
    /// Availability is advisory (the reservation decides), so a failure here only costs the cache fill.
    func fillAvailability(merchant: Merchant, keys: [VariantID: CacheKey], variants: [VariantID]) async {
        guard !variants.isEmpty else { return }
        do {
            let available = try await call(.availability) { try await inventory.availability(merchantID: merchant.id, variants: variants) }
            guard let availabilityCache else { return }
            for (variant, units) in available {
                if let key = keys[variant] { await availabilityCache.store(key, units) }
            }
        } catch {
            logger.debug("availability check failed; the reservation still decides", metadata: ["error": "\(error)"])
        }
    }

    // MARK: helpers

    /// Makes one external call: counted (request and process), timed (`Server-Timing` and metrics).
    func call<T>(_ kind: ExternalCall, _ body: () async throws -> T) async throws -> T {
        callMetrics.calls[kind.rawValue].increment()
        ExternalCallCounter.current?.record(kind)
        let started = ContinuousClock.now
        do {
            let value = try await TracingState.span("\(kind.service).\(kind.name)", ofKind: .client) { _ in
                try await RequestTimings.measure(.external, body)
            }
            callMetrics.record(kind, .ok, since: started)
            return value
        } catch let error as DependencyError {
            if case .unavailable = error { callMetrics.record(kind, .unavailable, since: started) } else { callMetrics.record(kind, .failed, since: started) }
            throw error
        } catch {
            // Short stock, a reservation no longer held, an unknown country: the service answered.
            callMetrics.record(kind, .refused, since: started)
            throw error
        }
    }

    /// Stock moved: invalidate the details and availability of those products, and listings when an
    /// `in_stock` flag may have flipped (in-process, or across instances through Redis).
    func stockChanged(_ merchant: Merchant, _ change: StockChange) async {
        await stockChanged(slug: merchant.slug, merchantID: merchant.id, change)
    }

    func stockChanged(slug: String, merchantID: MerchantID, _ change: StockChange) async {
        await StockChangePublisher(store: store, bus: bus, logger: logger).publish(slug: slug, merchantID: merchantID, change: change)
    }

    /// Releases the reservation of a checkout whose time ran out (a no-op when the sweeper was first).
    func releaseExpired(_ checkout: CheckoutRecord) async {
        do {
            let (_, change) = try await call(.release) { try await inventory.release(merchantID: checkout.merchantID, key: checkout.reservationKey) }
            await StockChangePublisher(store: store, bus: bus, logger: logger).publish(merchantID: checkout.merchantID, change: change)
        } catch {
            logger.warning("could not release an expired reservation; the sweeper will", metadata: ["key": "\(checkout.reservationKey)", "error": "\(error)"])
        }
    }

    func releaseQuietly(merchant: Merchant, key: String) async {
        do {
            let (_, change) = try await call(.release) { try await inventory.release(merchantID: merchant.id, key: key) }
            await stockChanged(merchant, change)
        } catch InventoryError.unknownReservation {
            // Never made: nothing to give back.
        } catch {
            logger.warning("could not release a reservation; its TTL will", metadata: ["key": "\(key)", "error": "\(error)"])
        }
    }

    static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try WireJSON.encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try WireJSON.decoder.decode(T.self, from: Data(text.utf8))
    }
}

/// A pricing answer with the currency it was priced in.
struct PricedCatalog: Sendable {
    var catalog: CheckoutCatalog
    var currency: CurrencyCode
    var merchant: Merchant { catalog.merchant }
    var variants: [VariantID: PricedVariant] { catalog.variants }
}
