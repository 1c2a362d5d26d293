import MercatoCache
import MercatoCore
import MercatoStorage

/// What each kind of catalog write tells every instance, in one place: the admin service, the checkout,
/// the reservation expiry and the sales roll-up describe their change here, and the bus carries it.
/// Which namespaces each change bumps is `CacheNamespace`'s table (and `docs/caching.md`).
public struct CatalogInvalidation: Sendable {
    public let bus: any InvalidationBus

    public init(bus: any InvalidationBus) {
        self.bus = bus
    }

    /// Products changed (text, categories, status, variants) and their listings were re-projected: what
    /// the products' cards and details show, and the listing pages they entered, left or moved in; nothing
    /// of other products, scopes or merchants. `CacheNamespace.productWriteEvents` has the table.
    public func productsChanged(
        merchantSlug: String, merchantID: MerchantID, changes: [ProductID: ListingProjector.ListingChange], cardChanged: Bool, slugsChanged: Bool
    ) async throws {
        try await bus.publish(CacheNamespace.productWriteEvents(
            slug: merchantSlug, merchantID: merchantID, changes: changes, cardChanged: cardChanged, slugsChanged: slugsChanged))
    }

    /// A category was renamed or repositioned, nothing else: the category tree, which no other response shows.
    public func treeChanged(merchantSlug: String, merchantID: MerchantID) async throws {
        try await bus.publish(InvalidationEvent(namespace: CacheNamespace.tree(merchantSlug), surrogateKeys: [SurrogateKeys.tree(merchantID)]))
    }

    /// Categories changed (the tree, names, visibility, which products they hold): every response of the
    /// merchant, at the edge too (`m:`).
    public func catalogChanged(merchantSlug: String, merchantID: MerchantID) async throws {
        // `m:` reaches every response of the merchant, so naming the categories and products too would add nothing.
        try await bus.publish(InvalidationEvent(namespace: CacheNamespace.merchant(merchantSlug), surrogateKeys: [SurrogateKeys.merchant(merchantID)]))
    }

    /// Prices or variants of `products` changed: their own bytes, the checkout's pricing, and the price
    /// order of every scope they are listed in. `minPriceMoves` (per currency, the cheapest price before
    /// and after) let price-sorted pages that no move concerns stay valid.
    public func pricesChanged(
        merchantSlug: String, merchantID: MerchantID, products: [ProductID], scopes: [String],
        minPriceMoves: [String: (before: Int64?, after: Int64?)]
    ) async throws {
        // A variant write concerns one product, so each move can name it.
        let product = products.count == 1 ? products.first?.description : nil
        let moves = minPriceMoves.map { SortMove(dimension: $0.key, from: $0.value.before, to: $0.value.after, product: product) }
        try await bus.publish(CacheNamespace.variantWriteEvents(slug: merchantSlug, merchantID: merchantID, products: products, scopes: scopes, moves: moves))
    }

    /// Stock moved (a reservation, a release, an expiry, an admin stock write). The levels are pushed
    /// first, so a read that follows on this instance sees them; then availability is invalidated, and
    /// `in_stock=true` listings when a level crossed zero.
    public func stockMoved(merchantSlug: String, merchantID: MerchantID, change: StockChange) async throws {
        await bus.push(CacheNamespace.pushedFacts(change))
        try await bus.publish(CacheNamespace.stockEvents(slug: merchantSlug, merchantID: merchantID, change: change))
    }

    /// A sales roll-up changed bestselling counts (per product, before and after): the bestselling order
    /// of `scopes`; pages no count moved into or out of stay valid.
    public func salesRolledUp(
        merchantSlug: String, merchantID: MerchantID, scopes: [String], counts: [ProductID: (before: Int64, after: Int64)]
    ) async throws {
        let moves = counts.map { SortMove(dimension: CacheNamespace.salesDimension, from: $0.value.before, to: $0.value.after, product: $0.key.description) }
        try await bus.publish(CacheNamespace.salesEvents(slug: merchantSlug, merchantID: merchantID, scopes: scopes, moves: moves))
    }
}
