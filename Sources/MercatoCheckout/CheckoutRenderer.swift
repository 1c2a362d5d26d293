import Foundation
import MercatoCore
import MercatoJSON
import MercatoStorage
import MercatoTaxContract

/// Checkout and order JSON, written once per change (orders are stored as these exact bytes).
enum CheckoutRenderer {
    static func checkout(_ record: CheckoutRecord, token: String?) throws -> [UInt8] {
        var json = JSONWriter(capacity: 1024)
        json.raw("{"); json.key("id"); json.string(record.id.description)
        if let token { json.raw(","); json.key("token"); json.string(token) }
        json.raw(","); json.key("status"); json.string(record.status.rawValue)
        try body(&json, record: record)
        json.raw(","); json.key("reservation_expires_at"); json.string(iso(record.reservationExpiresAt))
        json.raw(","); json.key("created_at"); json.string(iso(record.createdAt))
        json.raw("}")
        return json.bytes
    }

    static func order(_ order: OrderRecord, checkout: CheckoutRecord) throws -> [UInt8] {
        var json = JSONWriter(capacity: 1024)
        json.raw("{"); json.key("id"); json.string(order.id.description)
        json.raw(","); json.key("checkout_id"); json.string(checkout.id.description)
        json.raw(","); json.key("status"); json.string(OrderStatus.placed.rawValue)
        try body(&json, record: checkout)
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
    static func body(_ json: inout JSONWriter, record: CheckoutRecord) throws {
        let lines = try CheckoutService.decode([StoredLine].self, record.linesJSON)
        let quote = try record.taxJSON.map { try CheckoutService.decode(TaxAPI.QuoteBody.self, $0) }
        let taxByLine = Dictionary(uniqueKeysWithValues: (quote?.lines ?? []).map { ($0.id, $0) })
        let currency = record.currency
        json.raw(","); json.key("market"); json.string(record.market)
        json.raw(","); json.key("currency"); json.string(currency)
        json.raw(","); json.key("email"); json.string(record.email)
        json.raw(","); json.key("lines"); json.raw("[")
        for (index, line) in lines.enumerated() {
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
        if let address = record.shippingAddressJSON { json.rawJSON(address) } else { json.raw("null") }
        let subtotal = lines.reduce(0) { $0 + $1.total }
        let pricesIncludeTax = Market.named(record.market)?.pricesIncludeTax ?? true
        json.raw(","); json.key("totals"); json.raw("{")
        json.key("subtotal"); money(&json, currency, subtotal)
        json.raw(","); json.key("tax")
        if let quote { money(&json, currency, quote.tax) } else { json.raw("null") }
        json.raw(","); json.key("total"); money(&json, currency, quote?.gross ?? subtotal)
        json.raw(","); json.key("prices_include_tax"); json.bool(pricesIncludeTax)
        // Until an address exists the tax is unknown: in tax-exclusive markets the total will grow.
        json.raw(","); json.key("tax_status"); json.string(quote == nil ? "awaiting_address" : "calculated")
        json.raw("}")
    }

    static func money(_ json: inout JSONWriter, _ currency: String, _ amount: Int64) {
        json.raw("{"); json.key("currency"); json.string(currency); json.raw(","); json.key("amount"); json.int(amount); json.raw("}")
    }

    static func iso(_ micros: Int64) -> String {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000).formatted(.iso8601)
    }
}
