import Foundation

/// Zipf(s) over ranks `0..<count`: rank k is drawn with probability ∝ 1 / (k + 1)^s.
/// Sampled by binary search over the cumulative distribution (built once).
public struct Zipf: Sendable {
    let cdf: [Double]

    public init(count: Int, exponent: Double) {
        precondition(count > 0, "Zipf needs at least one item")
        var running = 0.0
        var cdf: [Double] = []
        cdf.reserveCapacity(count)
        for k in 0..<count {
            running += 1 / pow(Double(k + 1), exponent)
            cdf.append(running)
        }
        self.cdf = cdf.map { $0 / running }
    }

    public var count: Int { cdf.count }

    public func sample(using rng: inout some RandomNumberGenerator) -> Int {
        let u = Double.random(in: 0..<1, using: &rng)
        var low = 0, high = cdf.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cdf[mid] < u { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// How often each operation runs, as weights (`--mix listing=55,detail=35,categories=5,checkout=4,write=1`).
public struct WorkloadMix: Sendable, Codable, Equatable, CustomStringConvertible {
    public var listing: Int
    public var detail: Int
    public var categories: Int
    public var checkout: Int
    public var write: Int

    public init(listing: Int = 55, detail: Int = 35, categories: Int = 5, checkout: Int = 4, write: Int = 1) {
        self.listing = listing
        self.detail = detail
        self.categories = categories
        self.checkout = checkout
        self.write = write
    }

    /// Parses `name=weight,…`; names not given get 0.
    public static func parse(_ text: String) throws -> WorkloadMix {
        var mix = WorkloadMix(listing: 0, detail: 0, categories: 0, checkout: 0, write: 0)
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let weight = Int(pair[1]), weight >= 0 else { throw BenchError.usage("mix entry '\(part)' must be name=weight") }
            switch pair[0] {
            case "listing": mix.listing = weight
            case "detail": mix.detail = weight
            case "categories": mix.categories = weight
            case "checkout": mix.checkout = weight
            case "write": mix.write = weight
            default: throw BenchError.usage("unknown mix entry '\(pair[0])'; use listing, detail, categories, checkout, write")
            }
        }
        guard mix.total > 0 else { throw BenchError.usage("the mix needs at least one positive weight") }
        return mix
    }

    var total: Int { listing + detail + categories + checkout + write }

    func pick(using rng: inout some RandomNumberGenerator) -> Operation.Kind {
        var roll = Int.random(in: 0..<total, using: &rng)
        for (kind, weight) in [(Operation.Kind.listing, listing), (.detail, detail), (.categories, categories), (.checkout, checkout), (.write, write)] {
            if roll < weight { return kind }
            roll -= weight
        }
        return .listing
    }

    public var description: String { "listing=\(listing),detail=\(detail),categories=\(categories),checkout=\(checkout),write=\(write)" }
}

/// Why a benchmark could not run.
public enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    case target(String)

    public var description: String {
        switch self {
        case .usage(let message), .target(let message): message
        }
    }
}
