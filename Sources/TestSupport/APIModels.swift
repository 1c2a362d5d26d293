// The API's answers as typed values for tests: the fields tests assert on, decoded as the contract
// (openapi.yaml) names them. A field the server stops sending fails the decoding, not a silent nil.

/// An RFC 9457 problem.
public struct Problem: Decodable, Sendable, Equatable {
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
}

/// An amount in minor units of a currency.
public struct MoneyBody: Decodable, Sendable, Equatable {
    public var currency: String
    public var amount: Int64
}

/// One page of a storefront listing.
public struct ListingPage: Decodable, Sendable {
    public var items: [ListingItem]
    public var nextCursor: String?
}

/// A product as a listing shows it.
public struct ListingItem: Decodable, Sendable {
    public var id: String
    public var slug: String
    public var name: String
    public var price: MoneyBody?
    public var inStock: Bool
}

/// A product's detail page.
public struct ProductDetail: Decodable, Sendable {
    public var id: String
    public var slug: String
    public var name: String
    /// The cheapest variant's price in the audience's currency.
    public var price: MoneyBody?
    public var inStock: Bool
    public var variants: [Variant]

    /// A variant as the storefront shows it.
    public struct Variant: Decodable, Sendable {
        public var id: String
        public var sku: String
        public var price: MoneyBody?
        public var stock: Int64
    }
}

/// A checkout (and, with `checkoutId`, an order): the buyer's view.
public struct CheckoutBody: Decodable, Sendable {
    public var id: String
    /// Only in the answer that created the checkout.
    public var token: String?
    public var status: String
    public var market: String
    public var currency: String
    public var lines: [Line]
    public var totals: Totals

    /// A priced line.
    public struct Line: Decodable, Sendable {
        public var variantId: String
        public var quantity: Int64
        public var unitPrice: MoneyBody
        public var total: MoneyBody
    }

    /// Subtotal, tax and total; tax is null until an address exists.
    public struct Totals: Decodable, Sendable {
        public var subtotal: MoneyBody
        public var tax: MoneyBody?
        public var total: MoneyBody
        public var pricesIncludeTax: Bool
        public var taxStatus: String
    }
}
