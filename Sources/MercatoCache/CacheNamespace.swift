import MercatoCore

/// The generation namespaces of one merchant's storefront cache, coarse to fine.
///
/// - `merchant`: every response of the merchant (bumped by admin writes to products and categories).
/// - `product(id)`: what shows one product's own data (its detail page, its variants' availability);
///   bumped by stock movements and by admin price/stock writes to its variants.
/// - `listings`: every listing page (they show each product's price and `in_stock` flag and filter on
///   it); bumped by admin price/stock writes and by stock movements that may flip an `in_stock` flag
///   (some variant crossed zero).
/// So a checkout invalidates the details of what it bought, not the whole store.
public enum CacheNamespace {
    public static func merchant(_ slug: String) -> String { slug }
    public static func product(_ slug: String, _ product: ProductID) -> String { "\(slug)#product:\(product)" }
    public static func listings(_ slug: String) -> String { "\(slug)#listings" }

    /// The events that invalidate what a change to these products' variants touched.
    public static func events(slug: String, merchantID: MerchantID, products: [ProductID], listingsChanged: Bool) -> [InvalidationEvent] {
        var events = products.map { InvalidationEvent(namespace: product(slug, $0), surrogateKeys: ["p:\($0)"]) }
        if listingsChanged {
            events.append(InvalidationEvent(namespace: listings(slug), surrogateKeys: ["m:\(merchantID)"]))
        }
        return events
    }
}
