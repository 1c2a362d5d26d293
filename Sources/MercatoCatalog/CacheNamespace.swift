import MercatoCache
import MercatoCore

/// The generation namespaces of one merchant's storefront cache, and which writes bump which.
///
/// - `merchant`: every response of the merchant; bumped by admin writes to products and categories
///   (text, membership, visibility, category tree).
/// - `product(id)`: a product's own bytes that are not live facts: its detail body (variant list,
///   prices) and its listing price; bumped by admin price and variant writes. Not by stock movements.
/// - `priceOrder(scope)`: the order of the price-sorted listings of one scope (a category id, or
///   `root` for the whole catalog); bumped by a price write, for every scope the product appears in.
/// - `inStockLists`: which products `in_stock=true` listings hold; bumped when a stock level crosses zero.
/// - `stock(id)` and `prices`: the checkout's own caches (availability per variant, pricing per cart);
///   bumped by every stock movement of the product, and by every price write of the merchant.
///
/// Stock levels themselves are pushed to every instance (`InvalidationBus.push`) and filled into cached
/// bytes when served, so a sale that crosses no zero invalidates nothing. `docs/caching.md` has the table.
public enum CacheNamespace {
    public static func merchant(_ slug: String) -> String { slug }
    public static func product(_ slug: String, _ product: ProductID) -> String { "\(slug)#product:\(product)" }
    public static func priceOrder(_ slug: String, scope: String) -> String { "\(slug)#price-order:\(scope)" }
    /// The order of the bestselling listings of one scope (moved by the sales roll-up).
    public static func salesOrder(_ slug: String, scope: String) -> String { "\(slug)#sales-order:\(scope)" }
    public static func inStockLists(_ slug: String) -> String { "\(slug)#in-stock-lists" }
    public static func stock(_ slug: String, _ product: ProductID) -> String { "\(slug)#stock:\(product)" }
    public static func prices(_ slug: String) -> String { "\(slug)#prices" }
    /// The scope name of the whole catalog.
    public static let rootScope = "root"

    /// What a stock movement invalidates: only the membership of `in_stock=true` listings, and only when
    /// a level crossed zero. The levels themselves are pushed (`pushedFacts`).
    public static func stockEvents(slug: String, merchantID: MerchantID, change: StockChange) -> [InvalidationEvent] {
        var events = change.products.map { InvalidationEvent(namespace: stock(slug, $0), surrogateKeys: []) }
        if change.inStockMayHaveChanged {
            events.append(InvalidationEvent(namespace: inStockLists(slug), surrogateKeys: change.products.map { "p:\($0)" }))
        }
        return events
    }

    /// What a price or variant write invalidates: the product's own bytes, and the price order of every
    /// scope it appears in (`scopes`: category ids, and the merchant id for the whole catalog). `moves`
    /// (the cheapest price per currency before and after) let price-sorted pages whose range no price
    /// moved into or out of stay valid; nil invalidates them all.
    public static func variantWriteEvents(
        slug: String, merchantID: MerchantID, products: [ProductID], scopes: [String], moves: [SortMove]? = nil
    ) -> [InvalidationEvent] {
        // `prices` first: a listing load keeps the prices it read only if `prices` did not move between
        // before the load and after it read the products' generations (`StorefrontReads.factsKept`).
        var events = [InvalidationEvent(namespace: prices(slug), surrogateKeys: [])]
        events += products.map { InvalidationEvent(namespace: product(slug, $0), surrogateKeys: ["p:\($0)"]) }
        let merchantScope = merchantID.description
        for scope in scopes {
            let name = scope == merchantScope ? rootScope : scope
            events.append(InvalidationEvent(
                namespace: priceOrder(slug, scope: name), surrogateKeys: scope == merchantScope ? ["m:\(merchantID)"] : ["c:\(scope)"], moves: moves))
        }
        return events
    }

    /// The sort dimension of bestselling order in `SortMove`s.
    public static let salesDimension = "sales"

    /// What a sales roll-up invalidates: the bestselling order of every scope the products sold are in.
    /// `moves` (each product's sales count before and after) let pages whose range no count moved into or
    /// out of stay valid.
    public static func salesEvents(slug: String, merchantID: MerchantID, scopes: [String], moves: [SortMove]? = nil) -> [InvalidationEvent] {
        let merchantScope = merchantID.description
        return scopes.map { scope in
            InvalidationEvent(
                namespace: salesOrder(slug, scope: scope == merchantScope ? rootScope : scope),
                surrogateKeys: scope == merchantScope ? ["m:\(merchantID)"] : ["c:\(scope)"], moves: moves)
        }
    }

    /// The levels of a stock movement as pushed facts (keyed by variant id).
    public static func pushedFacts(_ change: StockChange) -> [PushedFact] {
        change.levels.map { PushedFact(key: $0.variantID.description, value: $0.stock, version: $0.version) }
    }
}
