import Foundation
import MercatoCore
import MercatoJSON
import MercatoSQL
import MercatoStorage
import MercatoTaxContract
import MercatoCheckoutStore

/// A checkout as the buyer sees it: what `CheckoutService` answers with, whatever the front end.
public struct CheckoutView: Sendable, Equatable {
    public var id: CheckoutID
    public var status: CheckoutStatus
    public var market: String
    public var currency: String
    public var email: String
    public var lines: [CheckoutLine]
    /// Nil until the buyer sends one.
    public var shippingAddress: ShippingAddress?
    /// Nil until an address exists (in the standard flow): until then the tax is unknown.
    public var tax: TaxQuote?
    /// Microseconds since 1970.
    public var reservationExpiresAt: Int64
    /// Microseconds since 1970.
    public var createdAt: Int64

    /// Sum of the lines at their unit prices.
    public var subtotal: Int64 { lines.reduce(0) { $0 + $1.total } }
    /// What the buyer pays: the gross of the tax quote, or the subtotal until tax is known.
    public var total: Int64 { tax?.gross ?? subtotal }
    /// Whether the market's prices include tax (then the total does not grow once tax is known).
    public var pricesIncludeTax: Bool { Market.named(market)?.pricesIncludeTax ?? true }

    /// The stored record, its JSON columns decoded.
    init(_ record: CheckoutRecord) throws {
        id = record.id
        status = record.status
        market = record.market
        currency = record.currency
        email = record.email
        lines = try WireJSON.decoder.decode([CheckoutLine].self, from: Data(record.linesJSON.utf8))
        shippingAddress = try record.shippingAddressJSON.map { try WireJSON.decoder.decode(ShippingAddress.self, from: Data($0.utf8)) }
        tax = try record.taxJSON.map { json in
            guard let quote = try WireJSON.decoder.decode(TaxAPI.QuoteBody.self, from: Data(json.utf8)).quote else {
                throw StorageError.database("checkout \(record.id) holds a tax quote in an unknown currency")
            }
            return quote
        }
        reservationExpiresAt = record.reservationExpiresAt
        createdAt = record.createdAt
    }
}

/// A priced checkout line, as stored with the checkout and copied into its order.
public struct CheckoutLine: Codable, Sendable, Equatable {
    public var variantId: String
    public var productId: String
    public var sku: String
    public var name: String
    /// The variant's options as a JSON object.
    public var options: String
    public var quantity: Int64
    /// In minor units of the checkout's currency.
    public var unitPrice: Int64
    public var taxClass: String

    public var total: Int64 { unitPrice * quantity }
}

/// A new checkout and the token that alone gives access to it (shown once, stored only as a hash).
public struct CreatedCheckout: Sendable, Equatable {
    public var checkout: CheckoutView
    public var token: String
}

/// A placed order: the checkout it was made from, as it was when placed.
public struct PlacedOrder: Sendable, Equatable {
    public var id: OrderID
    public var checkout: CheckoutView
    /// Microseconds since 1970.
    public var createdAt: Int64
}
