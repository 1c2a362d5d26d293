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
