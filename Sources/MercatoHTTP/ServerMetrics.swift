import Foundation
import MercatoCore
import Prometheus
import Synchronization

/// The server's Prometheus metrics (`GET /metrics`): pushed ones (request durations, statements, external
/// calls) are recorded as they happen; the caches' and buses' own atomic counters are read at scrape time.
/// Names follow Prometheus and OpenTelemetry semantic conventions (see the README).
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let lastSeen = Mutex<[String: Int]>([:])
    private let collectors = Mutex<[@Sendable (ServerMetrics) async -> Void]>([])

    static let durationBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
        .seconds(5), .seconds(10),
    ]

    public init() {}

    /// One served request: its duration by route, method and status, and the SQL statements it ran.
    func recordRequest(route: String, method: String, status: Int, duration: Duration, statements: Int) {
        // Handles are looked up once per label set: this runs on every request.
        let key = RouteKey(route: route, method: method, status: status)
        let handles = routeHandles.withLock { $0[key] } ?? {
            let made = RouteHandles(
                duration: registry.makeDurationHistogram(
                    descriptor: MetricNameDescriptor(
                        metricName: "http_server_request_duration", unitName: "seconds", helpText: "Duration of HTTP server requests."),
                    labels: [("http_route", route), ("http_request_method", method), ("http_response_status_code", String(status))],
                    buckets: Self.durationBuckets),
                statements: registry.makeCounter(
                    descriptor: MetricNameDescriptor(
                        namespace: "mercato", metricName: "db_statements", unitName: "total", helpText: "SQL statements run, by route."),
                    labels: [("http_route", route)]))
            routeHandles.withLock { $0[key] = made }
            return made
        }()
        handles.duration.record(duration)
        if statements > 0 { handles.statements.increment(by: Int64(statements)) }
    }

    struct RouteKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    struct RouteHandles: Sendable {
        var duration: DurationHistogram
        var statements: Counter
    }

    private let routeHandles = Mutex<[RouteKey: RouteHandles]>([:])

    /// One call to the inventory or tax service.
    func recordExternalCall(service: String, operation: String, outcome: String, duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "mercato", metricName: "external_call_duration", unitName: "seconds",
                helpText: "Duration of calls to the inventory and tax services, by outcome (ok, refused, unavailable, failed)."),
            labels: [("service", service), ("operation", operation), ("outcome", outcome)],
            buckets: Self.durationBuckets
        ).record(duration)
    }

    /// One command of the Redis cache tier.
    func recordRedisCommand(_ command: String, outcome: String, duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "mercato", metricName: "redis_command_duration", unitName: "seconds",
                helpText: "Duration of Redis cache tier commands, by command and outcome (ok, error)."),
            labels: [("command", command), ("outcome", outcome)], buckets: Self.durationBuckets
        ).record(duration)
    }

    /// Time from an invalidation's publication (on any instance) to its arrival at this one.
    func recordInvalidationLag(seconds: Double) {
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "mercato", metricName: "invalidation_lag", unitName: "seconds",
                helpText: "Write to purge: publication of an invalidation to its arrival at this instance."),
            labels: [], buckets: Self.durationBuckets
        ).record(.nanoseconds(Int64(seconds * 1e9)))
    }

    /// Mirrors a monotonic counter kept elsewhere: adds what it grew by since the last scrape.
    func mirror(_ name: String, labels: [(String, String)] = [], help: String, value: Int) {
        let key = name + labels.map { "\u{1F}\($0.0)=\($0.1)" }.joined()
        let delta = lastSeen.withLock { seen -> Int in
            let delta = value - (seen[key] ?? 0)
            seen[key] = value
            return delta
        }
        let counter = registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "mercato", metricName: name, unitName: "total", helpText: help), labels: labels)
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }

    /// Sets a gauge read at scrape time.
    func gauge(_ name: String, unit: String = "", labels: [(String, String)] = [], help: String, value: Double) {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "mercato", metricName: name, unitName: unit, helpText: help), labels: labels)
            .set(value)
    }

    /// Registers a function that reads counters kept elsewhere into the registry at every scrape.
    func addCollector(_ collector: @escaping @Sendable (ServerMetrics) async -> Void) {
        collectors.withLock { $0.append(collector) }
    }

    /// The Prometheus text exposition.
    public func exposition() async -> [UInt8] {
        for collector in collectors.withLock({ $0 }) { await collector(self) }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }
}
