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
    public var description: String { uuid.uuidString.lowercased() }

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
