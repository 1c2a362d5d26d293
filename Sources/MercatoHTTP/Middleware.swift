import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MercatoCore
import MercatoTelemetry
import MercatoHTTPBoundary
import MercatoStorage
import MercatoSQL
import MercatoFences

/// Wraps every request: counts its SQL statements and times where it spent its time (task locals),
/// records its metrics, adds `X-Mercato-Statements` (non-production) and `Server-Timing`, and logs one
/// line per request with route, status, duration and cache tier.
struct RequestObservationMiddleware<Context: RequestContext>: RouterMiddleware {
    let exposeStatements: Bool
    let serverTiming: Bool
    let serverTimingCacheTier: Bool
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let counter = StatementCounter()
        let timings = RequestTimings()
        let started = ContinuousClock.now
        // Errors have become problems already: `ProblemMiddleware`, the boundary, runs inside this one.
        var response = try await StatementCounter.$current.withValue(counter) {
            try await RequestTimings.$current.withValue(timings) { try await next(request, context) }
        }
        let duration = ContinuousClock.now - started
        let route = context.endpointPath ?? "unmatched"
        metrics.recordRequest(
            route: route, method: request.method.rawValue, status: response.status.code, duration: duration, statements: counter.value)
        if exposeStatements { response.headers[.mercatoStatements] = String(counter.value) }
        if serverTiming { response.headers[.serverTiming] = Self.serverTiming(timings, total: duration, cacheTier: serverTimingCacheTier) }
        var metadata: Logger.Metadata = [
            "http.route": "\(route)", "http.method": "\(request.method.rawValue)", "http.status": "\(response.status.code)",
            "duration_ms": "\(Self.milliseconds(duration))", "db.statements": "\(counter.value)",
        ]
        if let outcome = timings.cacheOutcome { metadata["cache"] = "\(outcome)" }
        context.logger.info("request", metadata: metadata)
        return response
    }

    /// `cache;desc="hit", db;dur=0.8, redis;dur=0.2, ext;dur=151.0, total;dur=153.1` (milliseconds; only
    /// durations and the cache tier, nothing about data).
    static func serverTiming(_ timings: RequestTimings, total: Duration, cacheTier: Bool = true) -> String {
        var parts: [String] = []
        if cacheTier, let outcome = timings.cacheOutcome { parts.append("cache;desc=\"\(outcome)\"") }
        for kind in RequestTimings.Kind.allCases {
            let nanos = timings.nanoseconds(kind)
            if nanos > 0 { parts.append("\(kind.metricName);dur=\(milliseconds(nanoseconds: nanos))") }
        }
        parts.append("total;dur=\(milliseconds(total))")
        return parts.joined(separator: ", ")
    }

    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return milliseconds(nanoseconds: Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
    }

    /// "12.34" without a formatter: this runs on every response.
    static func milliseconds(nanoseconds: Int) -> String {
        let hundredths = max(0, nanoseconds) / 10_000
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

extension HTTPField.Name {
    /// Number of SQL statements the request ran (non-production only).
    public static let mercatoStatements = HTTPField.Name("X-Mercato-Statements")!
    /// Storefront token carrying a customer group.
    public static let storefrontToken = HTTPField.Name("X-Storefront-Token")!
    /// Market (country) override for storefront reads.
    public static let market = HTTPField.Name("X-Market")!
    /// Which cache tier answered (non-production only).
    public static let mercatoCache = HTTPField.Name("X-Mercato-Cache")!
    /// Edge purge keys (Fastly-style) …
    public static let surrogateKey = HTTPField.Name("Surrogate-Key")!
    /// … and the same for Varnish's xkey module.
    public static let xkey = HTTPField.Name("xkey")!
    /// How long an edge this instance purges may keep the answer.
    public static let surrogateControl = HTTPField.Name("Surrogate-Control")!
    /// Where the request spent its time (W3C Server Timing).
    public static let serverTiming = HTTPField.Name("Server-Timing")!
}

/// Read-your-writes for API clients: a write's response carries `X-Mercato-Read-After` (the primary's
/// WAL position after it), and a read that sends it back is served at least that fresh, on any instance.
/// Only meaningful with read replicas; without them nothing is added.
struct ReadAfterMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let token = request.headers[.mercatoReadAfter].flatMap(WALPosition.init)
        guard request.method != .get, request.method != .head else {
            guard let token else { return try await next(request, context) }
            return try await ReadRouting.$clientFence.withValue(token) { try await next(request, context) }
        }
        let report = FenceReport()
        var response = try await FenceReport.$current.withValue(report) { try await next(request, context) }
        if let position = report.value, position != WALPosition(value: .max) { response.headers[.mercatoReadAfter] = position.description }
        return response
    }
}

extension HTTPField.Name {
    /// The WAL position a client's reads must be at least as fresh as (see `ReadAfterMiddleware`).
    public static let mercatoReadAfter = HTTPField.Name("X-Mercato-Read-After")!
}
