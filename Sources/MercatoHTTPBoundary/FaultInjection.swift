import Foundation
import HTTPTypes
import Hummingbird

/// Injected latency and failures for benchmarks and demos (`--latency 120ms..200ms`, `--fail-rate 0.05`).
public struct FaultInjection: Sendable, Equatable {
    /// Each request waits a uniformly random time in this range (milliseconds) before it is handled.
    public var latencyMillis: ClosedRange<Int>?
    /// Share of requests (0…1) answered with a 503 problem instead of being handled.
    public var failRate: Double

    public static let off = FaultInjection(latencyMillis: nil, failRate: 0)

    public init(latencyMillis: ClosedRange<Int>? = nil, failRate: Double = 0) {
        self.latencyMillis = latencyMillis
        self.failRate = failRate
    }

    /// Parses `150ms`, `120ms..200ms`, `0.2s` or `1s..2s`; nil when the text is not a duration range.
    public static func parseLatency(_ text: String) -> ClosedRange<Int>? {
        func millis(_ part: Substring) -> Int? {
            let s = part.trimmingCharacters(in: .whitespaces)
            if s.hasSuffix("ms"), let value = Int(s.dropLast(2)), value >= 0 { return value }
            if s.hasSuffix("s"), let value = Double(s.dropLast()), value >= 0, value <= 3600 { return Int((value * 1000).rounded()) }
            return nil
        }
        if let range = text.range(of: "..") {
            guard let low = millis(text[..<range.lowerBound]), let high = millis(text[range.upperBound...]), low <= high else { return nil }
            return low...high
        }
        guard let value = millis(Substring(text)) else { return nil }
        return value...value
    }
}

/// Applies a `FaultInjection` to every request except `/health` and `/ready`.
public struct FaultInjectionMiddleware<Context: RequestContext>: RouterMiddleware {
    let faults: FaultInjection

    public init(_ faults: FaultInjection) { self.faults = faults }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard faults != .off, path != "/health", path != "/ready" else { return try await next(request, context) }
        if let range = faults.latencyMillis, range.upperBound > 0 {
            try await Task.sleep(for: .milliseconds(Int.random(in: range)))
        }
        if faults.failRate > 0, Double.random(in: 0..<1) < faults.failRate {
            var problem = Problem(status: .serviceUnavailable, type: "injected-failure", title: "Service unavailable", detail: "failure injected by --fail-rate")
            problem.extraHeaders[.retryAfter] = "1"
            return problem.response()
        }
        return try await next(request, context)
    }
}
