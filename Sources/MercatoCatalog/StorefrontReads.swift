import Foundation
import NIOCore
import MercatoCache
import MercatoCore
import MercatoTelemetry
import Tracing
import Synchronization
import MercatoFences

/// The storefront read path as the HTTP layer sees it: resolve the caller's group from its token,
/// build a cache key from every input of the response, and answer from the cache or the catalog.
///
/// Keys embed generations read before anything is loaded (see `GenerationMap` and `CacheNamespace`):
/// the merchant's (admin writes to products and categories), a detail's product generation (price and
/// variant writes), a price-sorted listing's scope order, an `in_stock=true` listing's membership.
/// Stock and `in_stock`, and listing prices, are not in the cached bytes: they are holes filled from
/// `LiveAvailability` on the way out, so sales invalidate nothing but zero crossings of filtered lists.
public struct StorefrontReads: Sendable {
    let catalog: CatalogService
    let cache: LayeredCache<CatalogResponse>?
    let generations: any GenerationSource
    let tokens: StorefrontTokens
    let productSlugs = SlugDirectory<ProductID>()
    let categorySlugs = SlugDirectory<String>()
    /// Live stock and prices filled into cached responses (nil when caching is off: responses are then
    /// served as rendered, straight from the database).
    public let live: LiveAvailability?

    /// `cache` nil: caching switched off (`MERCATO_CACHE=off`), every read goes to the store.
    /// Read-your-writes fences when catalog reads may use replicas (nil: the primary only).
    let fences: WriteFences?
    /// Whether this instance hears every other instance's invalidations and pushes. While it does not (a
    /// lost Redis subscription), nothing cached can be trusted and reads go to the database.
    let isListening: @Sendable () -> Bool

    public init(
        catalog: CatalogService, cache: LayeredCache<CatalogResponse>?, generations: any GenerationSource, signer: Signer, fences: WriteFences? = nil,
        live: LiveAvailability? = nil, isListening: @escaping @Sendable () -> Bool = { true }
    ) {
        self.isListening = isListening
        self.live = cache == nil ? nil : live
        self.fences = fences
        self.catalog = catalog
        self.cache = cache
        self.generations = generations
        self.tokens = StorefrontTokens(signer: signer)
    }

    /// The caller's group: anonymous is `public`; a token must be valid for this store.
    public func group(token: String?, merchantSlug: String) throws(MercatoError) -> CustomerGroup {
        guard let token else { return .public }
        return try tokens.group(from: token, merchantSlug: merchantSlug, now: Int64(Date().timeIntervalSince1970))
    }

    /// Issues a storefront token for one of the store's customer groups, valid for `lifetime`;
    /// returns it with its expiry (seconds since 1970).
    public func issueToken(merchantSlug: String, group: CustomerGroup, lifetime: Duration) -> (token: String, expiresAt: Int64) {
        let expiresAt = Int64(Date().timeIntervalSince1970) + lifetime.components.seconds
        return (tokens.issue(merchantSlug: merchantSlug, group: group, expiresAt: expiresAt), expiresAt)
    }

    public func listing(_ request: ListingRequest) async throws -> (CatalogResponse, CacheOutcome) {
        guard cache != nil, isListening(), !clientIsAhead(request.merchantSlug) else {
            return (Self.asRendered(try await routed(request.merchantSlug) { try await catalog.listing(request) }), .bypass)
        }
        let slug = request.merchantSlug
        let merchantStamp = await generations.stamp(CacheNamespace.merchant(slug))
        let merchantGeneration = merchantStamp.token
        let plainLoad: @Sendable () async throws -> CatalogResponse = { try await routed(slug) { try await catalog.listing(request) } }
        var load = factsKept(plainLoad, merchantSlug: slug, merchantGeneration: merchantGeneration)
        let stamps = [merchantStamp]
        // Every page is checked against the moves of its scope's listings (the key needs the scope's id),
        // and a price- or sales-sorted page against those of its order as well.
        let scope: String
        if let category = request.category {
            guard let id = categorySlugs.id(slug, category, generation: merchantGeneration) else {
                // First request for this category since the catalog's categories last changed: answer
                // uncached and learn the category's id from the answer.
                let response = try await load()
                if let id = SurrogateKeys.category(in: response.surrogateKeys) {
                    categorySlugs.remember(slug, category, generation: merchantGeneration, id: id)
                }
                return (try await finish(response, merchantSlug: slug, merchantGeneration: merchantGeneration, fresh: true), .bypass)
            }
            scope = id
        } else {
            scope = CacheNamespace.rootScope
        }
        let listed = await orderChecked(
            load, namespace: CacheNamespace.listings(slug, scope: scope), stamp: \.members, dimension: { response in
                response.template.map { CacheNamespace.dimension(of: request.sort, currency: $0.currency) }
            }, moved: .invalid)
        load = listed.load
        var validity = listed.validity
        if request.sort == .priceAsc || request.sort == .priceDesc || request.sort == .bestselling {
            // Sales roll up in batches and move the bestselling order of the scopes they touched; price writes
            // move the price order. Either way a page is checked against the products it shows. A price write
            // answers its merchant only after every page it moved is invalid; the bestselling order follows
            // orders in batches anyway, so a page it moved is served once more while it is refreshed.
            let checked = request.sort == .bestselling
                ? await orderChecked(
                    load, namespace: CacheNamespace.salesOrder(slug, scope: scope), stamp: \.order, dimension: { _ in CacheNamespace.salesDimension },
                    moved: .behind)
                : await orderChecked(load, namespace: CacheNamespace.priceOrder(slug, scope: scope), stamp: \.order, dimension: { $0.template?.currency }, moved: .invalid)
            load = checked.load
            let membership = validity, order = checked.validity
            validity = { response in membership(response) == .invalid ? .invalid : order(response) }
        }
        var keyStamps = stamps
        if request.inStockOnly { keyStamps.append(await generations.stamp(CacheNamespace.inStockLists(slug))) }
        // Every input of the page; the key adds the generations, the family (for miss causes) does not.
        let key = CacheKey("L", under: keyStamps, inputs: [
            slug, request.category ?? "", request.sort.rawValue, String(request.limit), request.cursor ?? "", request.marketCode?.uppercased() ?? "",
            request.group.rawValue, request.inStockOnly ? "1" : "0",
        ])
        let (response, outcome) = try await cached(key, validity: validity, load)
        return (try await finish(response, merchantSlug: slug, merchantGeneration: merchantGeneration, fresh: outcome.isFreshLoad), outcome)
    }

    public func product(merchantSlug: String, reference: String, marketCode: String?, group: CustomerGroup) async throws -> (CatalogResponse, CacheOutcome) {
        guard cache != nil, isListening(), !clientIsAhead(merchantSlug) else {
            return (Self.asRendered(try await routed(merchantSlug) {
                try await catalog.product(merchantSlug: merchantSlug, reference: reference, marketCode: marketCode, group: group)
            }), .bypass)
        }
        let merchantStamp = await generations.stamp(CacheNamespace.merchant(merchantSlug))
        let merchantGeneration = merchantStamp.token
        let live = live
        let load: @Sendable () async throws -> CatalogResponse = {
            // The epoch before the load: levels it reads are not stored if facts were reset meanwhile.
            let epoch = live?.epoch ?? 0
            return try await routed(merchantSlug) {
                try await catalog.product(merchantSlug: merchantSlug, reference: reference, marketCode: marketCode, group: group, live: live, epoch: epoch)
            }
        }
        // The key needs the product's id (for its generation); a slug is resolved from earlier answers, valid
        // while no slug of the merchant was given to another product (or a new one).
        let slugsGeneration = merchantGeneration + "/" + (await generations.generation(of: CacheNamespace.productSlugs(merchantSlug)))
        guard let productID = ProductID(reference) ?? productSlugs.id(merchantSlug, reference, generation: slugsGeneration) else {
            // First request by this slug since slugs last changed: answer uncached and learn the id.
            let response = try await load()
            if let id = response.productID { productSlugs.remember(merchantSlug, reference, generation: slugsGeneration, id: id) }
            return (try await finish(response, merchantSlug: merchantSlug, merchantGeneration: merchantGeneration, fresh: true), .bypass)
        }
        let productStamp = await generations.stamp(CacheNamespace.product(merchantSlug, productID))
        let key = CacheKey("P", under: merchantStamp, productStamp, inputs: [merchantSlug, reference, marketCode?.uppercased() ?? "", group.rawValue])
        let (response, outcome) = try await cached(key, load)
        return (try await finish(response, merchantSlug: merchantSlug, merchantGeneration: merchantGeneration, fresh: outcome.isFreshLoad), outcome)
    }

    public func categories(merchantSlug: String, marketCode: String?, group: CustomerGroup) async throws -> (CatalogResponse, CacheOutcome) {
        guard cache != nil, isListening(), !clientIsAhead(merchantSlug) else {
            return (Self.asRendered(try await routed(merchantSlug) { try await catalog.categories(merchantSlug: merchantSlug, marketCode: marketCode, group: group) }), .bypass)
        }
        let key = CacheKey(
            "C", under: await generations.stamp(CacheNamespace.merchant(merchantSlug)), await generations.stamp(CacheNamespace.tree(merchantSlug)),
            inputs: [merchantSlug, marketCode?.uppercased() ?? "", group.rawValue])
        return try await cached(key) {
            try await routed(merchantSlug) { try await catalog.categories(merchantSlug: merchantSlug, marketCode: marketCode, group: group) }
        }
    }

    /// A listing page's check against one namespace whose generation is not in its key (its scope's
    /// listings, or a price or sales order). The page records the generation it was loaded under (at
    /// `stamp`) and stays valid while the values of its sort (`dimension`; card changes in every
    /// dimension) that moved since (`ChangeLog`) leave it the same products in the same order
    /// (`SortedPage`); otherwise it is `moved`.
    private func orderChecked(
        _ load: @escaping @Sendable () async throws -> CatalogResponse, namespace: String,
        stamp path: any WritableKeyPath<CatalogResponse, CatalogResponse.OrderStamp?> & Sendable,
        dimension: @escaping @Sendable (CatalogResponse) -> String?, moved: Validity
    ) async -> (load: @Sendable () async throws -> CatalogResponse, validity: @Sendable (CatalogResponse) -> Validity) {
        let order = await generations.generation(of: namespace)
        let generations = generations
        let stamped: @Sendable () async throws -> CatalogResponse = {
            var response = try await load()
            response[keyPath: path]?.generation = order
            return response
        }
        let validity: @Sendable (CatalogResponse) -> Validity = { response in
            guard let stamp = response[keyPath: path], let sorted = dimension(response) else { return .invalid }
            guard stamp.generation != order else { return .valid }
            guard let moves = generations.moves(of: namespace, from: stamp.generation, to: order) else { return moved }
            return stamp.page.survives(moves.lazy.filter { $0.dimension == sorted || $0.dimension == CacheNamespace.cardDimension }) ? .valid : moved
        }
        return (stamped, validity)
    }

    // MARK: live facts

    /// A listing load that keeps the live facts its statement read (the listed products' variants, levels
    /// and prices), so filling the page needs no second statement.
    ///
    /// Levels carry versions and are always safe to store. A product's prices are held under its
    /// generation, which must be read *before* the prices are: the merchant's `prices` namespace is read
    /// before the load and again after the products' generations, and the prices are kept only if it did not
    /// move. A price write bumps `prices` before the product's namespace (`CacheNamespace.variantWriteEvents`),
    /// so a product generation that already includes the write can never sit beside a `prices` generation
    /// that does not: prices read before the write are never stored under a generation after it.
    private func factsKept(
        _ load: @escaping @Sendable () async throws -> CatalogResponse, merchantSlug: String, merchantGeneration: String
    ) -> @Sendable () async throws -> CatalogResponse {
        guard let live else { return load }
        let generations = generations
        return {
            let epoch = live.epoch
            let pricesBefore = await generations.generation(of: CacheNamespace.prices(merchantSlug))
            var response = try await load()
            guard let facts = response.listedFacts, let currency = response.template?.currency else { return response }
            response.listedFacts = nil
            let products = Array(facts.keys)
            let productGenerations = await generations.generations(of: products.map { CacheNamespace.product(merchantSlug, $0) })
            let pricesKept = await generations.generation(of: CacheNamespace.prices(merchantSlug)) == pricesBefore
            for (id, productGeneration) in zip(products, productGenerations) {
                guard let record = facts[id] else { continue }
                live.store(
                    levels: Dictionary(record.variants.map { ($0.id, LiveAvailability.Level(stock: $0.stock, version: $0.version)) }) { a, _ in a },
                    epoch: epoch)
                guard pricesKept, let price = record.price else { continue }
                live.store(
                    product: id, merchantGeneration: merchantGeneration, productGeneration: productGeneration,
                    facts: LiveAvailability.ProductFacts(variants: record.variants.map(\.id), prices: [currency: price]), epoch: epoch)
            }
            return response
        }
    }

    /// Fills a template's holes with the live facts (loading the missing ones in one batch); the ETag
    /// is the template's plus a stamp of the versions used. Responses without a template pass through.
    /// `fresh`: the template was rendered by this request's own load. A detail's load also stored its
    /// levels, so nothing more is read; a listing's products whose facts are not held are loaded in one
    /// statement (once: later pages and sorts with those products find them held).
    func finish(_ response: CatalogResponse, merchantSlug: String, merchantGeneration: String, fresh: Bool) async throws -> CatalogResponse {
        guard response.template != nil, let live else { return Self.asRendered(response) }
        let template = response.template!
        // Read before anything is looked up: a change during this fill leaves the memo behind it.
        let liveRevision = live.revision, generationRevision = generations.revision
        if let (body, etag) = response.memo.fill(live: liveRevision, generations: generationRevision, merchantGeneration: merchantGeneration) {
            var finished = response
            finished.body = body
            finished.etag = etag
            finished.template = nil
            return finished
        }
        var stamp: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ value: Int64) { stamp = (stamp ^ UInt64(bitPattern: value)) &* 0x0000_0100_0000_01b3 }
        let body: ByteBuffer
        let variants = template.stockedVariants
        if !variants.isEmpty || template.holes.contains(.detailInStock) {
            let levels = fresh
                ? live.levels(variants).map { Dictionary(uniqueKeysWithValues: zip(variants, $0)) } ?? [:]
                : try await stockLevels(variants, live: live, merchantSlug: merchantSlug)
            for variant in variants { mix(levels[variant]?.version ?? -1) }
            let anyInStock = variants.contains { (levels[$0]?.stock ?? 0) > 0 }
            body = template.fill { _, hole in
                switch hole {
                case .stock(let id): levels[id]?.stock
                case .detailInStock: levels.count == variants.count ? (anyInStock ? 1 : 0) : nil
                case .inStock, .price: nil
                }
            }
        } else {
            let facts = try await listingFacts(
                template.listedProducts, currency: template.currency, live: live, merchantSlug: merchantSlug, merchantGeneration: merchantGeneration)
            for id in template.listedProducts {
                mix(facts[id]?.stamp ?? -1)
                mix(facts[id]?.price ?? -1)
            }
            body = template.fill { _, hole in
                switch hole {
                case .inStock(let id): facts[id].map { $0.inStock ? 1 : 0 }
                case .price(let id): facts[id]?.price
                case .stock, .detailInStock: nil
                }
            }
        }
        var finished = response
        finished.body = body
        finished.etag = String(response.etag.dropLast()) + "-" + String(stamp, radix: 16) + "\""
        finished.template = nil
        response.memo.remember(
            live: liveRevision, generations: generationRevision, merchantGeneration: merchantGeneration, body: body, etag: finished.etag)
        return finished
    }

    private func stockLevels(_ variants: [VariantID], live: LiveAvailability, merchantSlug: String) async throws -> [VariantID: LiveAvailability.Level] {
        if let held = live.levels(variants) { return Dictionary(uniqueKeysWithValues: zip(variants, held)) }
        let epoch = live.epoch
        let loaded = try await routed(merchantSlug) { try await catalog.stockLevels(variants) }
        live.store(levels: loaded.mapValues { LiveAvailability.Level(stock: $0.stock, version: $0.version) }, epoch: epoch)
        // What is held now is at least as new as what was loaded.
        if let held = live.levels(variants) { return Dictionary(uniqueKeysWithValues: zip(variants, held)) }
        return loaded.mapValues { LiveAvailability.Level(stock: $0.stock, version: $0.version) }
    }

    private func listingFacts(
        _ products: [ProductID], currency: String, live: LiveAvailability, merchantSlug: String, merchantGeneration: String
    ) async throws -> [ProductID: LiveAvailability.ListingFacts] {
        // A product's variant list and prices change with price writes (its generation) and with
        // variant additions and deletions (the merchant's): facts are held under both.
        let generations = await generations.generations(of: products.map { CacheNamespace.product(merchantSlug, $0) })
        var facts = live.listingFacts(products, productGenerations: generations, merchantGeneration: merchantGeneration, currency: currency)
        guard facts.count < products.count else { return facts }
        let missing = zip(products, generations).filter { facts[$0.0] == nil }
        let epoch = live.epoch
        guard let code = CurrencyCode(currency) else { return facts }
        let loaded = try await routed(merchantSlug) { try await catalog.productFacts(missing.map(\.0), currency: code) }
        for (id, generation) in missing {
            guard let record = loaded[id], let price = record.price else { continue }
            live.store(
                levels: Dictionary(record.variants.map { ($0.id, LiveAvailability.Level(stock: $0.stock, version: $0.version)) }) { a, _ in a },
                epoch: epoch)
            live.store(
                product: id, merchantGeneration: merchantGeneration, productGeneration: generation,
                facts: LiveAvailability.ProductFacts(variants: record.variants.map(\.id), prices: [currency: price]), epoch: epoch)
        }
        facts.merge(
            live.listingFacts(missing.map(\.0), productGenerations: missing.map(\.1), merchantGeneration: merchantGeneration, currency: currency)
        ) { a, _ in a }
        return facts
    }

    /// A response as its own load rendered it, for reads that do not use the live facts (caching off, or
    /// this instance not hearing other instances): the holes keep the values read with the template, and
    /// the ETag covers them (the template's own hash leaves the holes out).
    static func asRendered(_ response: CatalogResponse) -> CatalogResponse {
        guard let template = response.template else { return response }
        var stamp: UInt64 = 0xcbf2_9ce4_8422_2325
        for value in template.rendered { stamp = (stamp ^ UInt64(bitPattern: value)) &* 0x0000_0100_0000_01b3 }
        var rendered = response
        rendered.body = template.fill { _, _ in nil }
        rendered.etag = String(response.etag.dropLast()) + "-r" + String(stamp, radix: 16) + "\""
        rendered.template = nil
        return rendered
    }

    /// True when the caller's `X-Mercato-Read-After` token is newer than any write this instance knows of
    /// for the merchant (its invalidation may not have arrived): the token becomes the merchant's fence and
    /// this request bypasses the cache, whose entries may predate that write.
    func clientIsAhead(_ merchantSlug: String) -> Bool {
        guard let token = ReadRouting.clientFence, let fences, token > fences.fence(for: merchantSlug) else { return false }
        fences.record(merchant: merchantSlug, at: token)
        return true
    }

    /// Runs a catalog load where it may use a replica that has replayed the merchant's last write.
    /// The fence is read when the load runs (refreshes included), never earlier.
    private func routed<T: Sendable>(_ merchantSlug: String, _ load: () async throws -> T) async throws -> T {
        guard let fences else { return try await load() }
        return try await ReadRouting.$replicaFence.withValue(fences.fence(for: merchantSlug)) { try await load() }
    }

    private func cached(
        _ key: CacheKey, validity: (@Sendable (CatalogResponse) -> Validity)? = nil, _ load: @escaping @Sendable () async throws -> CatalogResponse
    ) async throws -> (CatalogResponse, CacheOutcome) {
        guard let cache else { return (try await load(), .bypass) }
        return try await TracingState.span("cache.lookup") { span in
            let (value, outcome) = try await cache.value(for: key, validity: validity, load: load)
            span.attributes["mercato.cache.outcome"] = outcome.rawValue
            return (value, outcome)
        }
    }
}

/// Ids by slug (products from detail answers, categories from listing answers), each valid for one
/// merchant generation (an admin write may give a slug to another product or category, and bumps it).
final class SlugDirectory<ID: Sendable>: Sendable {
    private let entries = Mutex<[String: (generation: String, id: ID)]>([:])
    static var limit: Int { 200_000 }

    func id(_ merchantSlug: String, _ slug: String, generation: String) -> ID? {
        entries.withLock { entries in
            guard let entry = entries[merchantSlug + "\u{1F}" + slug], entry.generation == generation else { return nil }
            return entry.id
        }
    }

    func remember(_ merchantSlug: String, _ slug: String, generation: String, id: ID) {
        entries.withLock { entries in
            if entries.count >= Self.limit { entries.removeAll(keepingCapacity: true) }
            entries[merchantSlug + "\u{1F}" + slug] = (generation, id)
        }
    }
}
