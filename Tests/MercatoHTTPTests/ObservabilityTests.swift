import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MercatoCheckout
import MercatoCore
import MercatoTelemetry
import MercatoHTTP
import MercatoHTTPBoundary
import MercatoInventory
import MercatoInventoryContract
import MercatoStorage
import MercatoSQL
import Synchronization
import Testing
import MercatoInventoryStore

@Suite("Metrics, Server-Timing and trace context")
struct ObservabilityTests {
    @Test("/metrics counts requests by route and status, SQL statements by route and cache lookups by tier")
    func metrics() async throws {
        try await Harness.withApp(.sqlite) { client, fixture in
            let path = "/v1/stores/\(fixture.slug)/products?limit=3"
            #expect(try await client.json(path).cache == "miss")
            #expect(try await client.json(path).cache == "hit")
            #expect(try await client.json("/v1/stores/\(fixture.slug)/products/no-such-product").status == .notFound)
            let text = try await client.execute(uri: "/metrics", method: .get) { response -> String in
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                return String(buffer: response.body)
            }
            let lines = text.split(separator: "\n").map(String.init)
            func value(_ name: String, _ labels: [String]) -> Double? {
                lines.first { line in line.hasPrefix(name + "{") && labels.allSatisfy { line.contains($0) } }
                    .flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            let listing = "http_route=\"/v1/stores/{merchant}/products\""
            #expect(value("http_server_request_duration_seconds_count", [listing, "http_request_method=\"GET\"", "http_response_status_code=\"200\""]) == 2)
            #expect(value("http_server_request_duration_seconds_count", ["http_route=\"/v1/stores/{merchant}/products/{product}\"", "http_response_status_code=\"404\""]) == 1)
            // The miss ran the listing's 2 statements (merchant and scope, then the page with its products'
            // live facts in the same rows), the hit none.
            #expect(value("mercato_db_statements_total", [listing]) == 2)
            #expect(value("mercato_cache_lookups_total", ["cache=\"storefront\"", "tier=\"near\"", "outcome=\"hit\""]) == 1)
            // The unknown slug is answered uncached (its id is not known yet), so the one miss is the listing's.
            #expect(value("mercato_cache_lookups_total", ["cache=\"storefront\"", "tier=\"any\"", "outcome=\"miss\""]) == 1)
            #expect(lines.contains { $0.hasPrefix("mercato_cache_lookups_total{cache=\"availability\"") })
            #expect(lines.contains { $0.hasPrefix("mercato_near_cache_size_bytes") })
            #expect(lines.contains { $0.hasPrefix("mercato_reservations_active") })
            #expect(lines.contains { $0.hasPrefix("mercato_db_statements_in_flight ") })
            #expect(lines.contains { $0.hasPrefix("# TYPE http_server_request_duration_seconds histogram") })
            // Every metric says what it is: a new one without a line in `MetricHelp` fails here.
            let typed = lines.filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) }
            #expect(typed.count >= 10)
            for name in typed {
                #expect(lines.contains { $0.hasPrefix("# HELP \(name) ") && $0.count > "# HELP \(name) ".count + 5 }, "\(name) has no # HELP line")
            }
        }
    }

    @Test("Server-Timing names the cache tier and the time in the database, and only timing")
    func serverTiming() async throws {
        try await Harness.withApp(.sqlite) { client, fixture in
            let path = "/v1/stores/\(fixture.slug)/products?limit=3"
            let miss = try #require(try await client.json(path).headers[.serverTiming])
            #expect(miss.contains("cache;desc=\"miss\""))
            #expect(miss.contains("db;dur="))
            #expect(miss.contains("total;dur="))
            let hit = try #require(try await client.json(path).headers[.serverTiming])
            #expect(hit.contains("cache;desc=\"hit\""))
            #expect(!hit.contains("db;dur="))
        }
    }

    @Test("traceparent: malformed headers start a new trace, valid ones are continued with a new span")
    func traceContextParsing() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let continued = RequestTrace.continuing(incoming)
        #expect(continued.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(continued.spanID != "00f067aa0ba902b7")
        #expect(continued.spanID.count == 16)
        #expect(continued.traceparent.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-"))
        for bad in ["", "00-zz-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"] {
            let fresh = RequestTrace.continuing(bad)
            #expect(fresh.traceID.count == 32 && fresh.traceID != "4bf92f3577b34da6a3ce929d0e0e4736", "\(bad)")
        }
    }

    @Test("Every log line written while serving a request carries its trace_id and span_id")
    func logLinesCarryTheTrace() async throws {
        let lines = LogLines()
        // As `Logger(label:metadataProvider:)` makes the server's loggers: the handler holds the provider.
        let logger = Logger(label: "test") { _ in RecordingLogHandler(lines: lines, metadataProvider: RequestTrace.logMetadata) }
        let router = Router()
        router.add(middleware: TraceContextMiddleware())
        router.get("/logs") { _, context -> String in
            context.logger.info("served")
            return RequestTrace.current?.spanID ?? ""
        }
        logger.info("outside")
        let app = Application(router: router, logger: logger)
        try await app.test(.router) { client in
            let span = try await client.execute(
                uri: "/logs", method: .get, headers: [.traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]
            ) { String(buffer: $0.body) }
            let served = try #require(lines.all.first { $0.message == "served" })
            #expect(served.metadata["trace_id"]?.description == "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(served.metadata["span_id"]?.description == span)
            #expect(span.count == 16 && span != "00f067aa0ba902b7")
        }
        let outside = try #require(lines.all.first { $0.message == "outside" })
        #expect(outside.metadata["trace_id"] == nil)
    }

    @Test("A checkout's calls to the inventory service continue the buyer's trace")
    func tracePropagation() async throws {
        try await Harness.withDatabase(.sqlite) { database in
            let fixture = try await Harness.seed(database)
            let seen = Seen()
            try await withInventoryService(database, options: ServiceServerOptions(middleware: [CaptureTraceparent(seen: seen)])) { inventoryURL in
                let wiring = CheckoutWiring(inventoryURL: inventoryURL)
                try await Harness.serve(database, checkout: wiring) { base, _ in
                    try await Buyers.with(base) { buyers in
                        let variant = try await buyers.variant(store: fixture.slug, token: fixture.token, stock: 5)
                        let reply = try await buyers.send(
                            .POST, "/v1/stores/\(fixture.slug)/checkouts",
                            headers: [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
                            json: #"{"email": "t@example.com", "lines": [{"variant_id": "\#(variant)", "quantity": 1}]}"#)
                        #expect(reply.status == 201, "\(reply.text)")
                        #expect(reply.header("Server-Timing")?.contains("ext;dur=") == true)
                    }
                }
            }
            let headers = seen.values.withLock { $0 }
            #expect(headers.count == 2, "\(headers)")
            #expect(headers.allSatisfy { $0.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-") }, "\(headers)")
        }
    }
}

/// Headers a test service received.
final class Seen: Sendable {
    let values = Mutex<[String]>([])
}

/// Records the `traceparent` of every request the service receives.
struct CaptureTraceparent<Context: RequestContext>: RouterMiddleware {
    let seen: Seen

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let header = request.headers[.traceparent] { seen.values.withLock { $0.append(header) } }
        return try await next(request, context)
    }
}

/// Log lines a test logger wrote, with the metadata its provider added.
final class LogLines: Sendable {
    struct Line: Sendable {
        var message: String
        var metadata: Logger.Metadata
    }

    private let lines = Mutex<[Line]>([])
    var all: [Line] { lines.withLock { $0 } }
    func append(_ line: Line) { lines.withLock { $0.append(line) } }
}

/// Keeps every line in `LogLines`, merging handler, provider and call metadata as a real handler does.
struct RecordingLogHandler: LogHandler {
    let lines: LogLines
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        lines.append(LogLines.Line(message: "\(event.message)", metadata: merged))
    }
}
