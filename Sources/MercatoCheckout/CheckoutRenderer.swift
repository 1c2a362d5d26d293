import Foundation
import MercatoCore
import MercatoJSON
import MercatoStorage
import MercatoTaxContract

/// Checkout and order JSON, encoded from `Encodable` answers. It lives beside the service, not in the HTTP
/// layer, because an order's answer is stored as these exact bytes when it is placed and every repeat of its
/// idempotency key is answered with the stored bytes, never re-rendered.
public enum CheckoutRenderer {
    public static func checkout(_ view: CheckoutView, token: String?) throws -> [UInt8] {
        Array(try WireJSON.encoder.encode(CheckoutAnswer(view: view, token: token)))
    }

    public static func order(_ order: PlacedOrder) throws -> [UInt8] {
        Array(try WireJSON.encoder.encode(OrderAnswer(order: order)))
    }

    /// The problem every repeat of a `complete` gets once the reservation had expired.
    static func expiredProblem(checkoutID: CheckoutID) -> String {
        String(decoding: ProblemJSON.body(
            type: "checkout-expired", title: "Checkout expired", status: 409,
            detail: "checkout \(checkoutID) expired and its stock was released; create a new checkout"), as: UTF8.self)
    }

    static func iso(_ micros: Int64) -> String {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000).formatted(.iso8601)
    }
}

/// The keys of checkout and order answers; a nullable field is written as `null`, never left out.
enum AnswerKey: String, CodingKey {
    case id, token, checkoutID = "checkout_id", status, market, currency, email, lines, shippingAddress = "shipping_address", totals
    case reservationExpiresAt = "reservation_expires_at", createdAt = "created_at"
}

/// A checkout as the buyer sees it (with its token only when it was just created).
struct CheckoutAnswer: Encodable {
    let view: CheckoutView
    let token: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnswerKey.self)
        try container.encode(view.id, forKey: .id)
        try container.encodeIfPresent(token, forKey: .token)
        try container.encode(view.status.rawValue, forKey: .status)
        try SharedFields(view: view).encode(into: &container)
        try container.encode(CheckoutRenderer.iso(view.reservationExpiresAt), forKey: .reservationExpiresAt)
        try container.encode(CheckoutRenderer.iso(view.createdAt), forKey: .createdAt)
    }
}

/// A placed order: its checkout as it was when placed.
struct OrderAnswer: Encodable {
    let order: PlacedOrder

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnswerKey.self)
        try container.encode(order.id, forKey: .id)
        try container.encode(order.checkout.id, forKey: .checkoutID)
        try container.encode(OrderStatus.placed.rawValue, forKey: .status)
        try SharedFields(view: order.checkout).encode(into: &container)
        try container.encode(CheckoutRenderer.iso(order.createdAt), forKey: .createdAt)
    }
}

/// Fields shared by checkouts and orders: market, lines, address, totals.
struct SharedFields {
    let view: CheckoutView

    func encode(into container: inout KeyedEncodingContainer<AnswerKey>) throws {
        let taxByLine = Dictionary(uniqueKeysWithValues: (view.tax?.lines ?? []).map { ($0.id, $0) })
        try container.encode(view.market, forKey: .market)
        try container.encode(view.currency, forKey: .currency)
        try container.encode(view.email, forKey: .email)
        try container.encode(
            try view.lines.map { line in try LineAnswer(line: line, currency: view.currency, tax: taxByLine[line.variantId]) }, forKey: .lines)
        try container.encode(view.shippingAddress, forKey: .shippingAddress)
        try container.encode(Totals(view: view), forKey: .totals)
    }
}

/// An amount in minor units of its currency.
struct MoneyAnswer: Encodable {
    let currency: String
    let amount: Int64
}

/// One priced line, with its tax once known.
struct LineAnswer: Encodable {
    let line: CheckoutLine
    let currency: String
    let options: [String: String]
    let tax: TaxedLine?

    init(line: CheckoutLine, currency: String, tax: TaxedLine?) throws {
        self.line = line
        self.currency = currency
        options = try WireJSON.options(line.options)
        self.tax = tax
    }

    enum Key: String, CodingKey { case variantID = "variant_id", productID = "product_id", sku, name, options, quantity, unitPrice = "unit_price", total, tax }

    /// A line's tax: its rate and amount.
    struct Tax: Encodable {
        let rateBasisPoints: Int
        let amount: MoneyAnswer
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(line.variantId, forKey: .variantID)
        try container.encode(line.productId, forKey: .productID)
        try container.encode(line.sku, forKey: .sku)
        try container.encode(line.name, forKey: .name)
        try container.encode(options, forKey: .options)
        try container.encode(line.quantity, forKey: .quantity)
        try container.encode(MoneyAnswer(currency: currency, amount: line.unitPrice), forKey: .unitPrice)
        try container.encode(MoneyAnswer(currency: currency, amount: line.total), forKey: .total)
        try container.encode(tax.map { Tax(rateBasisPoints: $0.rateBasisPoints, amount: MoneyAnswer(currency: currency, amount: $0.tax)) }, forKey: .tax)
    }
}

/// What the buyer pays. Until an address exists the tax is unknown: in tax-exclusive markets the total will grow.
struct Totals: Encodable {
    let view: CheckoutView

    enum Key: String, CodingKey { case subtotal, tax, total, pricesIncludeTax = "prices_include_tax", taxStatus = "tax_status" }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(MoneyAnswer(currency: view.currency, amount: view.subtotal), forKey: .subtotal)
        try container.encode(view.tax.map { MoneyAnswer(currency: view.currency, amount: $0.tax) }, forKey: .tax)
        try container.encode(MoneyAnswer(currency: view.currency, amount: view.total), forKey: .total)
        try container.encode(view.pricesIncludeTax, forKey: .pricesIncludeTax)
        try container.encode(view.tax == nil ? "awaiting_address" : "calculated", forKey: .taxStatus)
    }
}
