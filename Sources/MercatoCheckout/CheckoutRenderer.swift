import Foundation
import MercatoCore
import MercatoJSON
import MercatoStorage
import MercatoTaxContract

/// Checkout and order JSON. It lives beside the service, not in the HTTP layer, because an order's answer
/// is stored as these exact bytes when it is placed and replayed to every repeat of its idempotency key.
public enum CheckoutRenderer {
    public static func checkout(_ view: CheckoutView, token: String?) throws -> [UInt8] {
        var json = JSONWriter(capacity: 1024)
        json.raw("{"); json.key("id"); json.string(view.id.description)
        if let token { json.raw(","); json.key("token"); json.string(token) }
        json.raw(","); json.key("status"); json.string(view.status.rawValue)
        try body(&json, view)
        json.raw(","); json.key("reservation_expires_at"); json.string(iso(view.reservationExpiresAt))
        json.raw(","); json.key("created_at"); json.string(iso(view.createdAt))
        json.raw("}")
        return json.bytes
    }

    public static func order(_ order: PlacedOrder) throws -> [UInt8] {
        var json = JSONWriter(capacity: 1024)
        json.raw("{"); json.key("id"); json.string(order.id.description)
        json.raw(","); json.key("checkout_id"); json.string(order.checkout.id.description)
        json.raw(","); json.key("status"); json.string(OrderStatus.placed.rawValue)
        try body(&json, order.checkout)
        json.raw(","); json.key("created_at"); json.string(iso(order.createdAt))
        json.raw("}")
        return json.bytes
    }

    /// The problem every repeat of a `complete` gets once the reservation had expired.
    static func expiredProblem(checkoutID: CheckoutID) -> String {
        var json = JSONWriter(capacity: 256)
        json.raw("{"); json.key("type"); json.string("https://mercato.dev/problems/checkout-expired")
        json.raw(","); json.key("title"); json.string("Checkout expired")
        json.raw(","); json.key("status"); json.int(409)
        json.raw(","); json.key("detail"); json.string("checkout \(checkoutID) expired and its stock was released; create a new checkout")
        json.raw("}")
        return String(decoding: json.bytes, as: UTF8.self)
    }

    /// Fields shared by checkouts and orders: market, lines, address, totals.
    static func body(_ json: inout JSONWriter, _ view: CheckoutView) throws {
        let taxByLine = Dictionary(uniqueKeysWithValues: (view.tax?.lines ?? []).map { ($0.id, $0) })
        let currency = view.currency
        json.raw(","); json.key("market"); json.string(view.market)
        json.raw(","); json.key("currency"); json.string(currency)
        json.raw(","); json.key("email"); json.string(view.email)
        json.raw(","); json.key("lines"); json.raw("[")
        for (index, line) in view.lines.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{"); json.key("variant_id"); json.string(line.variantId)
            json.raw(","); json.key("product_id"); json.string(line.productId)
            json.raw(","); json.key("sku"); json.string(line.sku)
            json.raw(","); json.key("name"); json.string(line.name)
            json.raw(","); json.key("options"); json.rawJSON(line.options)
            json.raw(","); json.key("quantity"); json.int(line.quantity)
            json.raw(","); json.key("unit_price"); money(&json, currency, line.unitPrice)
            json.raw(","); json.key("total"); money(&json, currency, line.total)
            json.raw(","); json.key("tax")
            if let taxed = taxByLine[line.variantId] {
                json.raw("{"); json.key("rate_basis_points"); json.int(Int64(taxed.rateBasisPoints))
                json.raw(","); json.key("amount"); money(&json, currency, taxed.tax); json.raw("}")
            } else {
                json.raw("null")
            }
            json.raw("}")
        }
        json.raw("]")
        json.raw(","); json.key("shipping_address")
        if let address = view.shippingAddress {
            json.rawJSON(Array(try WireJSON.encoder.encode(address)))
        } else {
            json.raw("null")
        }
        json.raw(","); json.key("totals"); json.raw("{")
        json.key("subtotal"); money(&json, currency, view.subtotal)
        json.raw(","); json.key("tax")
        if let quote = view.tax { money(&json, currency, quote.tax) } else { json.raw("null") }
        json.raw(","); json.key("total"); money(&json, currency, view.total)
        json.raw(","); json.key("prices_include_tax"); json.bool(view.pricesIncludeTax)
        // Until an address exists the tax is unknown: in tax-exclusive markets the total will grow.
        json.raw(","); json.key("tax_status"); json.string(view.tax == nil ? "awaiting_address" : "calculated")
        json.raw("}")
    }

    static func money(_ json: inout JSONWriter, _ currency: String, _ amount: Int64) {
        json.raw("{"); json.key("currency"); json.string(currency); json.raw(","); json.key("amount"); json.int(amount); json.raw("}")
    }

    static func iso(_ micros: Int64) -> String {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000).formatted(.iso8601)
    }
}
