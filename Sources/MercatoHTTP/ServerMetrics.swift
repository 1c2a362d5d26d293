import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// The server's metrics (`GET /metrics`): one Prometheus registry, and the swift-metrics factory over it that the
/// components record into as things happen (requests here; caches, Redis, invalidations, replicas, external
/// calls in their modules). Gauges of "now" (near cache contents, replica lag, statements in flight, active
/// reservations, connections) are read at scrape time by collectors. Names follow Prometheus and OpenTelemetry
/// semantic conventions (see the README).
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// What components record into: every metric made with it appears at `/metrics`.
    public let factory: any MetricsFactory
    private let collectors = Mutex<[@Sendable (ServerMetrics) async -> Void]>([])

    static let durationBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
        .seconds(5), .seconds(10),
    ]

    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.factory = DocumentedMetricsFactory(registry: registry, durationBuckets: Self.durationBuckets)
    }

    /// One served request: its duration by route, method and status, and the SQL statements it ran.
    func recordRequest(route: String, method: String, status: Int, duration: Duration, statements: Int) {
        // Handles are looked up once per label set: this runs on every request.
        let key = RouteKey(route: route, method: method, status: status)
        let handles = routeHandles.withLock { $0[key] } ?? {
            let made = RouteHandles(
                duration: CoreMetrics.Timer(
                    label: "http_server_request_duration_seconds",
                    dimensions: [("http_route", route), ("http_request_method", method), ("http_response_status_code", String(status))],
                    factory: factory),
                statements: CoreMetrics.Counter(label: "mercato_db_statements_total", dimensions: [("http_route", route)], factory: factory))
            routeHandles.withLock { $0[key] = made }
            return made
        }()
        handles.duration.record(duration: duration)
        if statements > 0 { handles.statements.increment(by: statements) }
    }

    struct RouteKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    struct RouteHandles: Sendable {
        var duration: CoreMetrics.Timer
        var statements: CoreMetrics.Counter
    }

    private let routeHandles = Mutex<[RouteKey: RouteHandles]>([:])

    /// Sets a gauge read at scrape time: `mercato_<name>[_<unit>]`.
    func gauge(_ name: String, unit: String = "", labels: [(String, String)] = [], value: Double) {
        CoreMetrics.Gauge(label: "mercato_" + name + (unit.isEmpty ? "" : "_" + unit), dimensions: labels, factory: factory).record(value)
    }

    /// Registers a function that reads a value of "now" into a gauge at every scrape.
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
