import Foundation
import MercatoCache
import MercatoCore
import Tracing
import Synchronization

/// The storefront read path as the HTTP layer sees it: resolve the caller's group from its token,
/// build a cache key from every input of the response, and answer from the cache or the catalog.
///
/// Keys embed the merchant's cache generation (see `GenerationMap`): an admin write to a merchant
/// bumps it, so every cached listing, detail and category tree of that merchant is invalidated at
/// once (listings that contain a changed product included) while other merchants keep theirs.
/// Stock movements (checkouts, releases) are finer (see `CacheNamespace`): a detail key also holds its
/// product's stock generation, and a listing key the merchant's in-stock generation.
public struct StorefrontReads: Sendable {
    let catalog: CatalogService
    let cache: LayeredCache<CatalogResponse>?
    let generations: any GenerationSource
    let tokens: StorefrontTokens
    let productSlugs = ProductSlugDirectory()

    /// `cache` nil: caching switched off (`MERCATO_CACHE=off`), every read goes to the store.
    /// Read-your-writes fences when catalog reads may use replicas (nil: the primary only).
    let fences: WriteFences?

    public init(
        catalog: CatalogService, cache: LayeredCache<CatalogResponse>?, generations: any GenerationSource, signer: Signer, fences: WriteFences? = nil
    ) {
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
        guard cache != nil, !clientIsAhead(request.merchantSlug) else { return (try await routed(request.merchantSlug) { try await catalog.listing(request) }, .bypass) }
        let key = [
            "L", request.merchantSlug, "g\(await generations.generation(of: CacheNamespace.merchant(request.merchantSlug)))",
            "i\(await generations.generation(of: CacheNamespace.listings(request.merchantSlug)))", request.category ?? "", request.sort.rawValue,
            String(request.limit), request.cursor ?? "", request.marketCode?.uppercased() ?? "", request.group.rawValue,
            request.inStockOnly ? "1" : "0",
        ].joined(separator: "\u{1F}")
        return try await cached(key) { try await routed(request.merchantSlug) { try await catalog.listing(request) } }
    }

    public func product(merchantSlug: String, reference: String, marketCode: String?, group: CustomerGroup) async throws -> (CatalogResponse, CacheOutcome) {
        guard cache != nil, !clientIsAhead(merchantSlug) else {
            return (try await routed(merchantSlug) {
                try await catalog.product(merchantSlug: merchantSlug, reference: reference, marketCode: marketCode, group: group)
            }, .bypass)
        }
        let merchantGeneration = await generations.generation(of: CacheNamespace.merchant(merchantSlug))
        let load: @Sendable () async throws -> CatalogResponse = {
            try await routed(merchantSlug) {
                try await catalog.product(merchantSlug: merchantSlug, reference: reference, marketCode: marketCode, group: group)
            }
        }
        // The key needs the product's id (for its stock generation); a slug is resolved from earlier answers.
        guard let productID = ProductID(reference) ?? productSlugs.id(merchantSlug, reference, generation: merchantGeneration) else {
            // First request by this slug since the catalog last changed: answer uncached and learn the id.
            let response = try await load()
            if let id = response.productID { productSlugs.remember(merchantSlug, reference, generation: merchantGeneration, id: id) }
            return (response, .bypass)
        }
        let stockGeneration = await generations.generation(of: CacheNamespace.product(merchantSlug, productID))
        let key = ["P", merchantSlug, "g\(merchantGeneration)", "s\(stockGeneration)", reference, marketCode?.uppercased() ?? "", group.rawValue]
            .joined(separator: "\u{1F}")
        return try await cached(key, load)
    }

    public func categories(merchantSlug: String, marketCode: String?, group: CustomerGroup) async throws -> (CatalogResponse, CacheOutcome) {
        guard cache != nil, !clientIsAhead(merchantSlug) else {
            return (try await routed(merchantSlug) { try await catalog.categories(merchantSlug: merchantSlug, marketCode: marketCode, group: group) }, .bypass)
        }
        let key = ["C", merchantSlug, "g\(await generations.generation(of: CacheNamespace.merchant(merchantSlug)))", marketCode?.uppercased() ?? "", group.rawValue]
            .joined(separator: "\u{1F}")
        return try await cached(key) {
            try await routed(merchantSlug) { try await catalog.categories(merchantSlug: merchantSlug, marketCode: marketCode, group: group) }
        }
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

    private func cached(_ key: String, _ load: @escaping @Sendable () async throws -> CatalogResponse) async throws -> (CatalogResponse, CacheOutcome) {
        guard let cache else { return (try await load(), .bypass) }
        return try await TracingState.span("cache.lookup") { span in
            let (value, outcome) = try await cache.value(for: key, load: load)
            span.attributes["mercato.cache.outcome"] = outcome.rawValue
            return (value, outcome)
        }
    }
}

/// Product ids by slug, learned from detail answers and valid for one merchant generation (an admin
/// write may give a slug to another product, and bumps that generation).
final class ProductSlugDirectory: Sendable {
    private let entries = Mutex<[String: (generation: String, id: ProductID)]>([:])
    static let limit = 200_000

    func id(_ merchantSlug: String, _ productSlug: String, generation: String) -> ProductID? {
        entries.withLock { entries in
            guard let entry = entries[merchantSlug + "\u{1F}" + productSlug], entry.generation == generation else { return nil }
            return entry.id
        }
    }

    func remember(_ merchantSlug: String, _ productSlug: String, generation: String, id: ProductID) {
        entries.withLock { entries in
            if entries.count >= Self.limit { entries.removeAll(keepingCapacity: true) }
            entries[merchantSlug + "\u{1F}" + productSlug] = (generation, id)
        }
    }
}
