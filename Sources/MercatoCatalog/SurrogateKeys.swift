import MercatoCore

/// The surrogate keys of storefront responses, in one place: what each response carries (`xkey`,
/// `Surrogate-Key`) and what each write names in its invalidation events, which the edge purges.
///
/// An edge caches whole bodies, so the live facts the app fills into its own templates (price, stock,
/// `in_stock`) are baked into them: a write must reach every body that shows what it changed, and as
/// few others as possible. `CacheNamespace` builds the events from these; `docs/edge.md` has the table.
///
/// | key | carried by | named by |
/// |---|---|---|
/// | `m:<merchant>` | every response of the merchant | category writes (tree, visibility, membership) |
/// | `m:<merchant>:categories` | the category tree | renames and repositions |
/// | `p:<product>` | its detail and every listing page showing its card | product, price and variant writes; `in_stock` flips |
/// | `s:<product>` | its detail (it shows stock levels) | every stock movement of the product |
/// | `l:<merchant>`, `c:<category>` | every listing page of the scope (whole catalog, one category) | product writes whose moves are not described |
/// | `l:<merchant>:<dimension>`, `c:<category>:<dimension>` | the scope's pages sorted in that dimension (`position`, `created`, `sales`, a currency code for price order) | products entering, leaving or moving in that order |
/// | `i:<merchant>` | `in_stock=true` listing pages | a stock level crossing zero |
///
/// Listing pages carry their scope and order rather than only `m:`, so a listing event never purges
/// details or the tree; a sale that crosses no zero purges only the product's detail.
public enum SurrogateKeys {
    public static func merchant(_ id: MerchantID) -> String { "m:\(id)" }
    public static func tree(_ id: MerchantID) -> String { "m:\(id):categories" }
    public static func product(_ id: ProductID) -> String { "p:\(id)" }
    public static func stock(_ id: ProductID) -> String { "s:\(id)" }
    public static func inStockLists(_ id: MerchantID) -> String { "i:\(id)" }

    /// Every listing page of a scope: the merchant id names the whole catalog, any other value a category id.
    public static func scope(_ scope: String, merchantID: MerchantID) -> String {
        scope == merchantID.description ? "l:\(merchantID)" : "c:\(scope)"
    }

    /// The listing pages of a scope sorted in one dimension (`CacheNamespace.dimension(of:currency:)`).
    public static func sorted(_ scope: String, merchantID: MerchantID, dimension: String) -> String {
        "\(self.scope(scope, merchantID: merchantID)):\(dimension)"
    }

    /// Keys whose purge may leave a stale copy to serve once while it is refetched: the bestselling order,
    /// which the sales roll-up moves in the background, not a client's write.
    public static func purgedSoftly(_ key: String) -> Bool {
        key.hasSuffix(":\(CacheNamespace.salesDimension)")
    }

    /// The category id a category listing's keys name (`c:<id>`), nil for the whole catalog's listings.
    static func category(in keys: [String]) -> String? {
        keys.first { $0.hasPrefix("c:") && !$0.dropFirst(2).contains(":") }.map { String($0.dropFirst(2)) }
    }
}
