import Foundation
import MercatoCore
import MercatoJSON
import MercatoStorage

/// Body of `POST /v1/stores/{merchant}/checkouts`.
public struct CheckoutInput: JSONRequestBody {
    public var market: String?
    public var lines: [LineInput]
    public var email: String

    /// One cart line.
    public struct LineInput: Decodable, Sendable {
        public var variantId: String
        public var quantity: Int64
    }

    public static let schema = KeySchema.object([
        "market": .value, "email": .value, "lines": .array(.object(["variant_id": .value, "quantity": .integer])),
    ])
}

/// A shipping address, as sent by the buyer and as stored.
public struct ShippingAddress: Codable, JSONRequestBody, Equatable {
    public var name: String
    public var line1: String
    public var line2: String?
    public var city: String
    public var region: String?
    public var postalCode: String
    public var country: String

    public init(name: String, line1: String, line2: String?, city: String, region: String?, postalCode: String, country: String) {
        self.name = name
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.region = region
        self.postalCode = postalCode
        self.country = country
    }

    public static let schema = KeySchema.object([
        "name": .value, "line1": .value, "line2": .value, "city": .value, "region": .value, "postal_code": .value, "country": .value,
    ])
}

/// Body of `POST /v1/checkouts/{id}/complete` (optional).
public struct CompleteInput: JSONRequestBody {
    public var note: String?
    public static let schema = KeySchema.object(["note": .value])
}

/// A validated request for a new checkout. Lines stay in request order (a variant may repeat); the
/// service applies the per-checkout limits, which are its configuration.
public struct NewCheckout: Sendable, Equatable {
    public var email: String
    /// The market asked for (body, else the `X-Market` header); nil: the store's default market.
    public var market: Market?
    public var lines: [CartLine]

    public init(email: String, market: Market?, lines: [CartLine]) {
        self.email = email
        self.market = market
        self.lines = lines
    }
}

/// One requested line of a new checkout.
public struct CartLine: Sendable, Equatable {
    public var variantID: VariantID
    public var quantity: Int64

    public init(variantID: VariantID, quantity: Int64) {
        self.variantID = variantID
        self.quantity = quantity
    }
}

extension CheckoutInput {
    /// The command, given the market header (the body's `market` wins).
    public func validated(marketHeader: String?) throws(MercatoError) -> NewCheckout {
        let email = try CheckoutValidation.email(email)
        var cart: [CartLine] = []
        for (index, line) in lines.enumerated() {
            guard let id = VariantID(line.variantId) else {
                throw .validation(field: "lines[\(index)].variant_id", message: "'lines[\(index)].variant_id' must be a UUID, got '\(line.variantId)'")
            }
            cart.append(CartLine(variantID: id, quantity: line.quantity))
        }
        var chosen: Market?
        if let code = (market ?? marketHeader)?.uppercased() {
            guard let known = Market.named(code) else { throw .validation(field: "market", message: "unknown market '\(code)'") }
            chosen = known
        }
        return NewCheckout(email: email, market: chosen, lines: cart)
    }
}

/// A validated `complete`: its idempotency key, and the digest of its body that a repeat must match.
/// The body itself is only checked: a repeat of the key is the same request only with the same bytes.
public struct CompletionRequest: Sendable, Equatable {
    public var idempotencyKey: String
    /// SHA-256 of the request body, hex.
    public var bodyDigest: String

    /// A key is 1–255 visible ASCII characters; a body, when present, is a `CompleteInput`.
    public init(idempotencyKey: String?, body: Data) throws {
        guard let key = idempotencyKey, (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw CheckoutError.idempotencyKeyMissing
        }
        if !body.isEmpty { _ = try JSONInput.decode(CompleteInput.self, from: body) }
        self.idempotencyKey = key
        self.bodyDigest = Secrets.sha256Hex(body)
    }
}

extension ShippingAddress {
    /// Trimmed and checked, the country upper-cased.
    public func validated() throws(MercatoError) -> ShippingAddress { try CheckoutValidation.address(self) }
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
