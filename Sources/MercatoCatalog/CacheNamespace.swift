import MercatoCache
import MercatoCore
import MercatoStorage

/// The generation namespaces of one merchant's storefront cache, and which writes bump which.
///
/// - `merchant`: every response of the merchant; bumped by category writes (tree shape, slugs, kinds,
///   visibility, which products a category holds).
/// - `tree`: the category tree response; bumped by renames and repositions of a category.
/// - `product(id)`: a product's own bytes that are not live facts: its detail body (text, variant list,
///   prices) and its listing price; bumped by product, price and variant writes. Not by stock movements.
/// - `listings(scope)`: not in keys; every listing page of the scope is checked against its moves
///   (products entering, leaving, moving by position, or changing what their card shows), so a
///   product write drops only the pages that hold the product or whose range it entered.
/// - `productSlugs`: which product a slug names; bumped by new products and slug changes.
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
    /// What the listings of one scope show and in which order, as far as product writes go (edits of
    /// what a card shows, products entering or leaving, position moves). Every listing page is checked
    /// against its moves (`SortedPage`), so a write leaves the pages that do not hold its product valid.
    public static func listings(_ slug: String, scope: String) -> String { "\(slug)#listings:\(scope)" }
    /// The category tree's text and order (renames and repositions bump it alone; listings never show them).
    public static func tree(_ slug: String) -> String { "\(slug)#tree" }
    /// Which product each slug names (a new product or a slug change can give a slug to another product).
    public static func productSlugs(_ slug: String) -> String { "\(slug)#product-slugs" }
    /// The scope name of the whole catalog.
    public static let rootScope = "root"

    /// What a stock movement invalidates: only the membership of `in_stock=true` listings, and only when
    /// a level crossed zero. The levels themselves are pushed (`pushedFacts`).
    public static func stockEvents(slug: String, merchantID: MerchantID, change: StockChange) -> [InvalidationEvent] {
        // The detail shows the levels (`s:`); cards show only in_stock, so listings are named only on a crossing.
        var events = change.products.map { InvalidationEvent(namespace: stock(slug, $0), surrogateKeys: [SurrogateKeys.stock($0)]) }
        if change.inStockMayHaveChanged { events.append(inStockEvent(slug: slug, merchantID: merchantID, products: change.products)) }
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
        events += products.map { InvalidationEvent(namespace: product(slug, $0), surrogateKeys: [SurrogateKeys.product($0)]) }
        let merchantScope = merchantID.description
        for scope in scopes {
            let name = scope == merchantScope ? rootScope : scope
            events.append(InvalidationEvent(
                namespace: priceOrder(slug, scope: name), surrogateKeys: listingKeys(scope, merchantID: merchantID, moves: moves), moves: moves))
        }
        return events
    }

    /// The sort dimension of bestselling order in `SortMove`s.
    public static let salesDimension = "sales"
    /// The sort dimensions of position and newest order in `SortMove`s (price order's is the currency code).
    public static let positionDimension = "position"
    public static let createdDimension = "created"
    /// A move in every dimension that does not move the product: what its card shows changed, so every
    /// page holding it is stale and every other page is not.
    public static let cardDimension = "*"

    /// The dimension a listing sorted by `sort` is checked in (price sorts: the page's currency code).
    public static func dimension(of sort: ListingSort, currency: String) -> String {
        switch sort {
        case .position: positionDimension
        case .newest: createdDimension
        case .bestselling: salesDimension
        case .priceAsc, .priceDesc: currency
        }
    }

    /// What a product write invalidates (edits, category assignments, new products, archiving, variant
    /// writes): the merchant's checkout pricing, the products' availability and own bytes, and in each
    /// scope whose listings the products entered, left or changed in, a move per sort dimension, so only
    /// the pages that hold them or whose range they entered are dropped. Scopes they did not touch, other
    /// merchants and the category tree are left alone.
    ///
    /// `prices` goes first, as for variant writes (`variantWriteEvents`). `cardChanged`: what a listing
    /// card shows (name, slug, image) changed. `slugsChanged`: a slug now names another product, or a new one.
    public static func productWriteEvents(
        slug: String, merchantID: MerchantID, changes: [ProductID: ListingProjector.ListingChange], cardChanged: Bool, slugsChanged: Bool
    ) -> [InvalidationEvent] {
        let products = changes.keys.sorted()
        var events = [InvalidationEvent(namespace: prices(slug), surrogateKeys: [])]
        events += products.map { InvalidationEvent(namespace: stock(slug, $0), surrogateKeys: []) }
        events += products.map { InvalidationEvent(namespace: product(slug, $0), surrogateKeys: [SurrogateKeys.product($0)]) }
        var byScope: [String: [SortMove]] = [:]
        var inStockFlipped: [ProductID] = []
        for product in products {
            guard let change = changes[product] else { continue }
            for (scope, moves) in listingMoves(product: product, change: change, cardChanged: cardChanged) { byScope[scope, default: []] += moves }
            for (scope, before) in change.before where change.after[scope].map({ $0.inStock != before.inStock }) == true {
                inStockFlipped.append(product)
            }
        }
        let merchantScope = merchantID.description
        for scope in byScope.keys.sorted() {
            let isRoot = scope == merchantScope
            events.append(InvalidationEvent(
                namespace: listings(slug, scope: isRoot ? rootScope : scope), surrogateKeys: listingKeys(scope, merchantID: merchantID, moves: byScope[scope]),
                moves: byScope[scope]))
        }
        if !inStockFlipped.isEmpty { events.append(inStockEvent(slug: slug, merchantID: merchantID, products: Set(inStockFlipped).sorted())) }
        if slugsChanged { events.append(InvalidationEvent(namespace: productSlugs(slug), surrogateKeys: [])) }
        return events
    }

    /// Per scope, the moves one product's write made in its listings. Leaving a scope moves each sort value
    /// to nil, entering moves it from nil; a change of audience, or a price appearing or vanishing in a
    /// currency (listings show only products priced in the page's currency), is a leave and an enter.
    static func listingMoves(product: ProductID, change: ListingProjector.ListingChange, cardChanged: Bool) -> [String: [SortMove]] {
        let id = product.description
        func values(_ entry: ListingProjector.Entry) -> [(String, Int64)] {
            [(positionDimension, entry.position), (createdDimension, entry.createdAt), (salesDimension, entry.salesCount)]
        }
        let currencies = change.minPrices.keys.sorted()
        func leave(_ entry: ListingProjector.Entry) -> [SortMove] {
            values(entry).map { SortMove(dimension: $0.0, from: $0.1, to: nil, product: id) }
                + currencies.compactMap { code in change.minPrices[code]?.before.map { SortMove(dimension: code, from: $0, to: nil, product: id) } }
        }
        func enter(_ entry: ListingProjector.Entry) -> [SortMove] {
            values(entry).map { SortMove(dimension: $0.0, from: nil, to: $0.1, product: id) }
                + currencies.compactMap { code in change.minPrices[code]?.after.map { SortMove(dimension: code, from: nil, to: $0, product: id) } }
        }
        let priceSetChanged = change.minPrices.values.contains { ($0.before == nil) != ($0.after == nil) }
        var result: [String: [SortMove]] = [:]
        for scope in Set(change.before.keys).union(change.after.keys) {
            var moves: [SortMove] = []
            switch (change.before[scope], change.after[scope]) {
            case (let before?, nil): moves = leave(before)
            case (nil, let after?): moves = enter(after)
            case (let before?, let after?):
                if before.audienceMask != after.audienceMask || priceSetChanged {
                    moves = leave(before) + enter(after)
                } else {
                    for ((dimension, from), (_, to)) in zip(values(before), values(after)) where from != to {
                        moves.append(SortMove(dimension: dimension, from: from, to: to, product: id))
                    }
                    for code in currencies {
                        guard let move = change.minPrices[code], let from = move.before, let to = move.after, from != to else { continue }
                        moves.append(SortMove(dimension: code, from: from, to: to, product: id))
                    }
                    if cardChanged { moves.append(SortMove(dimension: cardDimension, from: nil, to: nil, product: id)) }
                }
            case (nil, nil): break
            }
            if !moves.isEmpty { result[scope] = moves }
        }
        if cardChanged {
            for scope in change.unchanged { result[scope, default: []].append(SortMove(dimension: cardDimension, from: nil, to: nil, product: id)) }
        }
        return result
    }

    /// What a sales roll-up invalidates: the bestselling order of every scope the products sold are in.
    /// `moves` (each product's sales count before and after) let pages whose range no count moved into or
    /// out of stay valid.
    public static func salesEvents(slug: String, merchantID: MerchantID, scopes: [String], moves: [SortMove]? = nil) -> [InvalidationEvent] {
        let merchantScope = merchantID.description
        return scopes.map { scope in
            InvalidationEvent(
                namespace: salesOrder(slug, scope: scope == merchantScope ? rootScope : scope),
                surrogateKeys: [SurrogateKeys.sorted(scope, merchantID: merchantID, dimension: salesDimension)], moves: moves)
        }
    }

    /// `products` may have crossed zero: which products `in_stock=true` listings hold, and for the edge the
    /// cards of those products (they show `in_stock`) and every `in_stock=true` page.
    static func inStockEvent(slug: String, merchantID: MerchantID, products: [ProductID]) -> InvalidationEvent {
        InvalidationEvent(namespace: inStockLists(slug), surrogateKeys: products.map(SurrogateKeys.product) + [SurrogateKeys.inStockLists(merchantID)])
    }

    /// The edge keys of a listing event of one scope: the pages sorted in each dimension its moves moved
    /// (a card change alone is reached through `p:`), or every page of the scope when no moves describe it.
    static func listingKeys(_ scope: String, merchantID: MerchantID, moves: [SortMove]?) -> [String] {
        guard let moves else { return [SurrogateKeys.scope(scope, merchantID: merchantID)] }
        return Set(moves.map(\.dimension)).subtracting([cardDimension]).sorted()
            .map { SurrogateKeys.sorted(scope, merchantID: merchantID, dimension: $0) }
    }

    /// The levels of a stock movement as pushed facts (keyed by variant id).
    public static func pushedFacts(_ change: StockChange) -> [PushedFact] {
        change.levels.map { PushedFact(key: $0.variantID.description, value: $0.stock, version: $0.version) }
    }
}
