import Foundation

/// A typed UUID identifier; the phantom `Entity` keeps product and variant IDs from being mixed up.
public struct Identifier<Entity>: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let uuid: UUID

    public init(_ uuid: UUID) { self.uuid = uuid }

    /// Parses a UUID string; nil when it is not a UUID.
    public init?(_ string: some StringProtocol) {
        guard let uuid = UUID(uuidString: String(string)) else { return nil }
        self.uuid = uuid
    }

    /// A new random identifier.
    public static func random() -> Self { Self(UUID()) }

    /// Lower-case canonical text, the form used in JSON, SQL and cache keys.
    /// Formatted by hand: Foundation's `uuidString` goes through printf and this runs for every listed item.
    public var description: String {
        let hex: StaticString = "0123456789abcdef"
        return withUnsafeBytes(of: uuid.uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                hex.withUTF8Buffer { digits in
                    var o = 0
                    for (i, byte) in bytes.enumerated() {
                        if i == 4 || i == 6 || i == 8 || i == 10 {
                            out[o] = UInt8(ascii: "-")
                            o += 1
                        }
                        out[o] = digits[Int(byte >> 4)]
                        out[o + 1] = digits[Int(byte & 0x0F)]
                        o += 2
                    }
                    return o
                }
            }
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        withUnsafeBytes(of: lhs.uuid.uuid) { l in
            withUnsafeBytes(of: rhs.uuid.uuid) { r in l.lexicographicallyPrecedes(r) }
        }
    }
}

/// Marker types for identifiers.
public enum MerchantTag {}
public enum CategoryTag {}
public enum ProductTag {}
public enum VariantTag {}

public typealias MerchantID = Identifier<MerchantTag>
public typealias CategoryID = Identifier<CategoryTag>
public typealias ProductID = Identifier<ProductTag>
public typealias VariantID = Identifier<VariantTag>
/// Tag of checkout ids.
public enum CheckoutTag {}
/// Tag of order ids.
public enum OrderTag {}
public typealias CheckoutID = Identifier<CheckoutTag>
public typealias OrderID = Identifier<OrderTag>

/// On the wire an identifier is its canonical text.
extension Identifier: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = Self(text) else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a UUID") }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
