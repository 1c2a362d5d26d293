import Foundation
import MercatoBench
import Testing

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
