import Foundation

/// How often each operation runs, as relative weights (`--mix listing=55,detail=35,…,price=0.35`).
///
/// Writes come in the kinds the admin API has, each with its own weight. The default spreads 1 % of all
/// operations over them, most of it on prices and stock, as a shop's back office does; `write=N` is a
/// shorthand that spreads `N` over the write kinds in the default's proportions.
public struct WorkloadMix: Sendable, Codable, Equatable, CustomStringConvertible {
    public private(set) var weights: [OperationKind: Double]

    /// The default shop: 55 % listings, 35 % details, 5 % category trees, 4 % checkouts, 1 % writes.
    public static let standard = WorkloadMix(weights: [
        .listing: 55, .detail: 35, .categories: 5, .checkout: 4,
        .price: 0.35, .stock: 0.25, .edit: 0.15, .assign: 0.1, .create: 0.05, .archive: 0.05, .category: 0.05,
    ])

    public init(weights: [OperationKind: Double]) {
        self.weights = weights.filter { $0.value > 0 }
    }

    public init() { self = Self.standard }

    /// Reads only, with these weights (the gate's timing part, the reads-only rows).
    public static func reads(listing: Double, detail: Double = 0, categories: Double = 0) -> WorkloadMix {
        WorkloadMix(weights: [.listing: listing, .detail: detail, .categories: categories])
    }

    public subscript(kind: OperationKind) -> Double {
        get { weights[kind] ?? 0 }
        set { weights[kind] = newValue > 0 ? newValue : nil }
    }

    /// Parses `name=weight,…`; names not given get 0.
    public static func parse(_ text: String) throws -> WorkloadMix {
        var mix = WorkloadMix(weights: [:])
        let names = OperationKind.allCases.map(\.rawValue) + ["write"]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let weight = Double(pair[1]), weight.isFinite, weight >= 0 else {
                throw BenchError.usage("mix entry '\(part)' must be name=weight with a weight of 0 or more")
            }
            if pair[0] == "write" {
                let share = OperationKind.writes.reduce(0) { $0 + standard[$1] }
                for kind in OperationKind.writes { mix[kind] += weight * standard[kind] / share }
            } else if let kind = OperationKind(rawValue: pair[0]) {
                mix[kind] = weight
            } else {
                throw BenchError.usage("unknown mix entry '\(pair[0])'; use \(names.joined(separator: ", "))")
            }
        }
        guard mix.total > 0 else { throw BenchError.usage("the mix needs at least one positive weight") }
        return mix
    }

    var total: Double { weights.values.reduce(0, +) }

    /// Share of all operations that are writes.
    public var writeShare: Double { total > 0 ? OperationKind.writes.reduce(0) { $0 + self[$1] } / total : 0 }

    /// Without the kinds a run cannot perform (no admin token: no writes; nothing to buy: no checkouts).
    func without(_ kinds: [OperationKind]) -> WorkloadMix {
        var mix = self
        for kind in kinds { mix[kind] = 0 }
        return mix
    }

    func pick(using rng: inout some RandomNumberGenerator) -> OperationKind {
        // Fixed order (not the dictionary's), so a seed replays the same kinds.
        var roll = Double.random(in: 0..<total, using: &rng)
        var last = OperationKind.listing
        for kind in OperationKind.allCases {
            let weight = self[kind]
            guard weight > 0 else { continue }
            if roll < weight { return kind }
            roll -= weight
            last = kind
        }
        return last
    }

    public var description: String {
        OperationKind.allCases.compactMap { kind in
            let weight = self[kind]
            guard weight > 0 else { return nil }
            return "\(kind.rawValue)=\(weight == weight.rounded() ? String(Int(weight)) : String(weight))"
        }.joined(separator: ",")
    }

    // Encoded as the `--mix` text, so a JSON report says the mix the way it was given.
    public init(from decoder: any Decoder) throws {
        self = try Self.parse(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
