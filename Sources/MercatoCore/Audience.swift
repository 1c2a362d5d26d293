/// The customer group a storefront caller belongs to; anonymous callers are `public`.
public enum CustomerGroup: String, CaseIterable, Sendable, Hashable, Codable {
    case `public`
    case member
    case wholesale

    /// Stable position used for audience bit masks: append only.
    public var index: Int {
        switch self {
        case .public: 0
        case .member: 1
        case .wholesale: 2
        }
    }
}

/// A set of audiences (customer group × market) as a 51-bit mask: bit `group.index * 17 + market.index`.
///
/// Visibility is stored and filtered as masks so a listing query can test it inside an index-only scan.
public struct AudienceMask: Hashable, Sendable {
    public var rawValue: Int64

    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// Every audience.
    public static let all = AudienceMask(rawValue: (Int64(1) << Int64(CustomerGroup.allCases.count * Market.all.count)) - 1)
    /// No audience.
    public static let none = AudienceMask(rawValue: 0)

    public func union(_ other: AudienceMask) -> AudienceMask { AudienceMask(rawValue: rawValue | other.rawValue) }
    public func intersection(_ other: AudienceMask) -> AudienceMask { AudienceMask(rawValue: rawValue & other.rawValue) }
    public func contains(_ audience: Audience) -> Bool { rawValue & audience.bit != 0 }
}

/// Who is looking: the market decides currency and availability, the group decides restricted categories.
public struct Audience: Hashable, Sendable {
    public let market: Market
    public let group: CustomerGroup

    public init(market: Market, group: CustomerGroup) {
        self.market = market
        self.group = group
    }

    /// This audience's single bit in an `AudienceMask`.
    public var bit: Int64 { Int64(1) << Int64(group.index * Market.all.count + market.index) }
}

/// A category's visibility rule: public, or restricted to some customer groups and/or markets.
public struct VisibilityRule: Hashable, Sendable {
    /// Allowed groups; nil means every group.
    public var groups: Set<CustomerGroup>?
    /// Allowed market codes; nil means every market.
    public var markets: Set<String>?

    public init(groups: Set<CustomerGroup>? = nil, markets: Set<String>? = nil) {
        self.groups = groups
        self.markets = markets
    }

    public static let `public` = VisibilityRule()

    public var isPublic: Bool { groups == nil && markets == nil }

    /// The audiences this rule alone admits.
    public var mask: AudienceMask {
        var raw: Int64 = 0
        for group in CustomerGroup.allCases where groups?.contains(group) ?? true {
            for market in Market.all where markets?.contains(market.code) ?? true {
                raw |= Audience(market: market, group: group).bit
            }
        }
        return AudienceMask(rawValue: raw)
    }
}
