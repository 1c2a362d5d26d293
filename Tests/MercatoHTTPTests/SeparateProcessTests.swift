import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MercatoBench
import Synchronization
import Testing
import TestSupport

/// The `mercato` executable built beside the test bundle.
func mercatoExecutable() throws -> URL {
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mercato")
    guard FileManager.default.isExecutableFile(atPath: beside.path) else {
        throw BenchError.target("mercato executable not found at \(beside.path); build it with `swift build` first")
    }
    return beside
}

@Suite("Separate processes")
struct SeparateProcessTests {
    @Test("The embedded server prints the demo admin token once, when it creates it")
    func theDemoTokenIsPrintedOnlyWhenCreated() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mercato-banner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data").path
        let mercato = try mercatoExecutable()
        var tokens: [String?] = []
        for run in 1...2 {
            let server = try ServerProcess(
                executable: mercato, arguments: ["serve", "--port", "0", "--data-dir", data], environment: [:], logDirectory: directory, name: "serve-\(run)")
            defer { server.stop() }
            _ = try await server.url(readyLine: "Mercato is serving on")
            tokens.append(server.value(after: "demo admin token:"))
        }
        let stored = try String(contentsOfFile: data + "/demo-admin-token", encoding: .utf8)
        #expect(tokens[0] == stored, "the first start shows the token it created")
        #expect(tokens[1] == nil, "a later start does not print it again")
    }

    @Test("Cart to order with inventory and tax as their own processes over HTTP; inventory down gives 503")
    func cartToOrder() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mercato-procs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data").path
        var processes: [ServerProcess] = []
        let mercato = try mercatoExecutable()
        defer { for process in processes.reversed() { process.stop() } }

        let tax = try ServerProcess(
            executable: mercato, arguments: ["tax-service", "--port", "0", "--latency", "20ms"], environment: [:], logDirectory: directory, name: "tax")
        processes.append(tax)
        let taxURL = try await tax.url(readyLine: "tax service on")
        // The inventory service migrates the shared SQLite file first; the API server then seeds the demo store.
        let inventory = try ServerProcess(
            executable: mercato, arguments: ["inventory-service", "--port", "0", "--data-dir", data, "--latency", "20ms..40ms"], environment: [:],
            logDirectory: directory, name: "inventory")
        processes.append(inventory)
        let inventoryURL = try await inventory.url(readyLine: "inventory service on")
        let api = try ServerProcess(
            executable: mercato, arguments: ["serve", "--port", "0", "--data-dir", data, "--seed-demo", "always"],
            environment: ["INVENTORY_URL": inventoryURL, "TAX_URL": taxURL, "MERCATO_SERVICE_TIMEOUT_MS": "2000"], logDirectory: directory, name: "api")
        processes.append(api)
        let base = try await api.url(readyLine: "Mercato is serving on")

        try await Buyers.with(base) { buyers in
            let listing = try await buyers.send(.GET, "/v1/stores/demo/products?limit=10&in_stock=true")
            let items = try #require(listing.object["items"] as? [[String: Any]])
            var variant: String?
            for item in items where variant == nil {
                let detail = try await buyers.send(.GET, "/v1/stores/demo/products/\(try #require(item["id"] as? String))")
                variant = (detail.object["variants"] as? [[String: Any]])?.first { ($0["stock"] as? Int ?? 0) >= 2 }?["id"] as? String
            }
            let chosen = try #require(variant)

            let checkout = try await buyers.createCheckout(store: "demo", lines: [(chosen, 2)])
            #expect(checkout.status == 201, "\(checkout.text)")
            #expect(try #require(checkout.inventoryCalls) <= 2)
            #expect(checkout.taxCalls == 0)
            let addressed = try await buyers.setAddress(checkout)
            #expect(addressed.status == 200, "\(addressed.text)")
            #expect(addressed.taxCalls == 1)
            let order = try await buyers.complete(checkout, key: "proc-order-1")
            #expect(order.status == 201, "\(order.text)")
            #expect(order.inventoryCalls == 1)
            let orderID = try #require(order.object["id"] as? String)
            let read = try await buyers.send(.GET, "/v1/orders/\(orderID)", headers: [("X-Checkout-Token", try #require(checkout.object["token"] as? String))])
            #expect(read.status == 200)
            #expect(read.object["status"] as? String == "placed")

            // The inventory process goes away: checkout answers 503 with Retry-After, not a 500 or a hang.
            inventory.stop()
            let down = try await buyers.createCheckout(store: "demo", lines: [(chosen, 1)])
            #expect(down.status == 503, "\(down.text)")
            #expect(down.header("Retry-After") != nil)
        }
    }
}

/// Spans received by a minimal OTLP/HTTP (JSON) collector.
final class ReceivedSpans: Sendable {
    struct Span: Sendable {
        var service: String
        var traceID: String
        var spanID: String
        var parentSpanID: String
        var name: String
        var kind: Int
    }

    let spans = Mutex<[Span]>([])

    func add(_ body: Data) {
        guard let root = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return }
        var found: [Span] = []
        for resourceSpans in root["resourceSpans"] as? [[String: Any]] ?? [] {
            let attributes = (resourceSpans["resource"] as? [String: Any])?["attributes"] as? [[String: Any]] ?? []
            let service = attributes.first { $0["key"] as? String == "service.name" }
                .flatMap { ($0["value"] as? [String: Any])?["stringValue"] as? String } ?? "?"
            for scope in resourceSpans["scopeSpans"] as? [[String: Any]] ?? [] {
                for span in scope["spans"] as? [[String: Any]] ?? [] {
                    found.append(Span(
                        service: service, traceID: span["traceId"] as? String ?? "", spanID: span["spanId"] as? String ?? "",
                        parentSpanID: span["parentSpanId"] as? String ?? "", name: span["name"] as? String ?? "",
                        kind: (span["kind"] as? Int) ?? Int(span["kind"] as? String ?? "") ?? 0))
                }
            }
        }
        spans.withLock { $0 += found }
    }
}

@Suite("Tracing across processes")
struct TracingProcessTests {
    @Test("One checkout is one trace across the API server and the inventory and tax services")
    func oneTrace() async throws {
        let received = ReceivedSpans()
        let router = Router()
        router.post("/v1/traces") { request, _ -> HTTPResponse.Status in
            received.add(Data(buffer: try await request.body.collect(upTo: 16 << 20)))
            return .ok
        }
        let collector = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Harness.logger)
        try await collector.test(.live) { client in
            let otel = [
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(try #require(client.port))", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_TRACES_SAMPLER": "parentbased_always_on",
            ]
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mercato-trace-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let data = directory.appendingPathComponent("data").path
            let mercato = try mercatoExecutable()
            var processes: [ServerProcess] = []
            defer { for process in processes.reversed() { process.stop() } }
            let tax = try ServerProcess(executable: mercato, arguments: ["tax-service", "--port", "0"], environment: otel, logDirectory: directory, name: "tax")
            processes.append(tax)
            let taxURL = try await tax.url(readyLine: "tax service on")
            let inventory = try ServerProcess(
                executable: mercato, arguments: ["inventory-service", "--port", "0", "--data-dir", data], environment: otel, logDirectory: directory, name: "inventory")
            processes.append(inventory)
            let inventoryURL = try await inventory.url(readyLine: "inventory service on")
            let api = try ServerProcess(
                executable: mercato, arguments: ["serve", "--port", "0", "--data-dir", data, "--seed-demo", "always"],
                environment: otel.merging(["INVENTORY_URL": inventoryURL, "TAX_URL": taxURL]) { $1 }, logDirectory: directory, name: "api")
            processes.append(api)
            let base = try await api.url(readyLine: "Mercato is serving on")

            let traceHex = "4bf92f3577b34da6a3ce929d0e0e4736"
            let traceparent = "00-\(traceHex)-00f067aa0ba902b7-01"
            try await Buyers.with(base) { buyers in
                let items = try #require(try await buyers.send(.GET, "/v1/stores/demo/products?limit=5&in_stock=true").object["items"] as? [[String: Any]])
                let detail = try await buyers.send(.GET, "/v1/stores/demo/products/\(try #require(items.first?["id"] as? String))")
                let variant = try #require((detail.object["variants"] as? [[String: Any]])?.first { ($0["stock"] as? Int ?? 0) > 0 }?["id"] as? String)
                let created = try await buyers.send(
                    .POST, "/v1/stores/demo/checkouts", headers: [("traceparent", traceparent)],
                    json: #"{"email": "trace@example.com", "lines": [{"variant_id": "\#(variant)", "quantity": 1}]}"#)
                #expect(created.status == 201, "\(created.text)")
                let id = try #require(created.object["id"] as? String), token = try #require(created.object["token"] as? String)
                let addressed = try await buyers.send(
                    .PUT, "/v1/checkouts/\(id)/shipping-address", headers: [("traceparent", traceparent), ("X-Checkout-Token", token)],
                    json: #"{"name": "T", "line1": "1 Trace Road", "city": "Spanville", "postal_code": "1000", "country": "\#(created.object["market"] as? String ?? "")"}"#)
                #expect(addressed.status == 200, "\(addressed.text)")
            }

            // OTLP/JSON as swift-otel writes it carries ids as protobuf JSON bytes (base64); accept hex too.
            let bytes = stride(from: 0, to: traceHex.count, by: 2).map { UInt8(traceHex.dropFirst($0).prefix(2), radix: 16)! }
            let traceIDs: Set<String> = [traceHex, Data(bytes).base64EncodedString()]
            // Each process exports in its own batches: wait until every service span's parent has arrived too.
            let complete = try await poll(timeout: .seconds(30)) {
                let spans = received.spans.withLock { $0 }.filter { traceIDs.contains($0.traceID) }
                let apiIDs = Set(spans.filter { $0.service == "mercato" }.map(\.spanID))
                let downstream = spans.filter { $0.service != "mercato" && $0.kind == 2 }
                return Set(spans.map(\.service)).isSuperset(of: ["mercato", "mercato-inventory", "mercato-tax"])
                    && downstream.allSatisfy { apiIDs.contains($0.parentSpanID) }
            }
            let spans = received.spans.withLock { $0 }.filter { traceIDs.contains($0.traceID) }
            #expect(complete != nil, "services in the trace: \(Set(spans.map(\.service)))")
            for span in spans { print("trace span: \(span.service) \(span.kind) \(span.name) \(span.spanID) ← \(span.parentSpanID)") }
            // Server spans of the services are children of client spans of the API server.
            let apiSpans = Dictionary(spans.filter { $0.service == "mercato" }.map { ($0.spanID, $0) }) { first, _ in first }
            let serverKind = 2, clientKind = 3
            for service in ["mercato-inventory", "mercato-tax"] {
                let servers = spans.filter { $0.service == service && $0.kind == serverKind }
                #expect(!servers.isEmpty, "\(service) has no server span in the trace")
                for server in servers {
                    let parent = apiSpans[server.parentSpanID]
                    #expect(parent?.kind == clientKind, "\(service) span \(server.name) has parent \(parent?.name ?? "outside the API server")")
                }
            }
            #expect(spans.contains { $0.service == "mercato" && $0.kind == serverKind && $0.name.contains("checkouts") })
            #expect(spans.contains { $0.service == "mercato" && $0.name == "inventory.reserve" })
            #expect(spans.contains { $0.service == "mercato-inventory" && $0.name.hasPrefix("db ") })
        }
    }
}
