import Foundation
import MercatoCore
import MercatoJSON

/// Body of `POST /v1/stores/{merchant}/checkouts`.
public struct CheckoutInput: Decodable, Sendable {
    public var market: String?
    public var lines: [LineInput]
    public var email: String

    /// One cart line.
    public struct LineInput: Decodable, Sendable {
        public var variantId: String
        public var quantity: Int64
    }

    static let schema = KeySchema.object([
        "market": .value, "email": .value, "lines": .array(.object(["variant_id": .value, "quantity": .integer])),
    ])
}

/// A shipping address, as sent by the buyer and as stored.
public struct ShippingAddress: Codable, Sendable, Equatable {
    public var name: String
    public var line1: String
    public var line2: String?
    public var city: String
    public var region: String?
    public var postalCode: String
    public var country: String

    static let schema = KeySchema.object([
        "name": .value, "line1": .value, "line2": .value, "city": .value, "region": .value, "postal_code": .value, "country": .value,
    ])
}

/// Body of `POST /v1/checkouts/{id}/complete` (optional).
public struct CompleteInput: Decodable, Sendable {
    public var note: String?
    static let schema = KeySchema.object(["note": .value])
}

/// A priced checkout line, as stored with the checkout and copied into its order.
struct StoredLine: Codable, Sendable {
    var variantId: String
    var productId: String
    var sku: String
    var name: String
    /// The variant's options as a JSON object.
    var options: String
    var quantity: Int64
    var unitPrice: Int64
    var taxClass: String

    var total: Int64 { unitPrice * quantity }
}

/// Field checks of buyer input; each failure names its field.
enum CheckoutValidation {
    static func text(_ value: String?, field: String, max: Int, required: Bool = true) throws(MercatoError) -> String? {
        let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if trimmed.isEmpty {
            if required { throw .validation(field: field, message: "'\(field)' must not be empty") }
            return nil
        }
        guard trimmed.count <= max else { throw .validation(field: field, message: "'\(field)' must be at most \(max) characters") }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .validation(field: field, message: "'\(field)' must not contain control characters")
        }
        return trimmed
    }

    static func email(_ value: String) throws(MercatoError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard trimmed.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !trimmed.contains(where: \.isWhitespace)
        else { throw .validation(field: "email", message: "'email' must be an address like buyer@example.com") }
        return trimmed
    }

    static func address(_ input: ShippingAddress) throws(MercatoError) -> ShippingAddress {
        let country = input.country.uppercased()
        guard Market.named(country) != nil else {
            throw .validation(field: "country", message: "'country' must be one of \(Market.all.map(\.code).joined(separator: ", "))")
        }
        let postal = try text(input.postalCode, field: "postal_code", max: 20)!
        guard postal.allSatisfy({ $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" }) else {
            throw .validation(field: "postal_code", message: "'postal_code' may hold letters, digits, spaces and hyphens only")
        }
        return ShippingAddress(
            name: try text(input.name, field: "name", max: 200)!, line1: try text(input.line1, field: "line1", max: 200)!,
            line2: try text(input.line2, field: "line2", max: 200, required: false), city: try text(input.city, field: "city", max: 100)!,
            region: try text(input.region, field: "region", max: 100, required: false), postalCode: postal, country: country)
    }
}
