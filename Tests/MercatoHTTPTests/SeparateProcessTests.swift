import Foundation
import Testing

/// A `mercato` subcommand running as its own process, its output in a file.
final class MercatoProcess: @unchecked Sendable {
    let process = Process()
    let output: URL

    /// Starts `mercato <arguments>` and waits until its output shows a line starting with `readyPrefix`;
    /// returns the rest of that line (e.g. the URL it serves on).
    init(_ arguments: [String], environment: [String: String] = [:], directory: URL, name: String) throws {
        output = directory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = try Self.binary()
        process.arguments = arguments
        // Only what the process needs: CI's DATABASE_URL / REDIS_URL must not leak in.
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": directory.path, "LOG_LEVEL": "warning"]
        env.merge(environment) { $1 }
        process.environment = env
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// The first output line containing `marker`, waiting up to `timeout`.
    func line(containing marker: String, timeout: Duration = .seconds(180)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
            guard process.isRunning else { throw ProcessFailure(message: "exited early: \(text)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ProcessFailure(message: "no '\(marker)' within \(timeout): \((try? String(contentsOf: output, encoding: .utf8)) ?? "")")
    }

    /// The `http://…` URL printed on the ready line.
    func url(readyLine marker: String) async throws -> String {
        let line = try await line(containing: marker)
        guard let range = line.range(of: #"http://[0-9.]+:[0-9]+"#, options: .regularExpression) else { throw ProcessFailure(message: "no URL in '\(line)'") }
        return String(line[range])
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// The `mercato` executable built beside the test bundle.
    static func binary() throws -> URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mercato")
        guard FileManager.default.isExecutableFile(atPath: beside.path) else {
            throw ProcessFailure(message: "mercato executable not found at \(beside.path); build it with `swift build` first")
        }
        return beside
    }

    struct ProcessFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

@Suite("Separate processes")
struct SeparateProcessTests {
    @Test("Cart to order with inventory and tax as their own processes over HTTP; inventory down gives 503")
    func cartToOrder() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mercato-procs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data").path
        var processes: [MercatoProcess] = []
        defer { for process in processes.reversed() { process.stop() } }

        let tax = try MercatoProcess(["tax-service", "--port", "0", "--latency", "20ms"], directory: directory, name: "tax")
        processes.append(tax)
        let taxURL = try await tax.url(readyLine: "tax service on")
        // The inventory service migrates the shared SQLite file first; the API server then seeds the demo store.
        let inventory = try MercatoProcess(
            ["inventory-service", "--port", "0", "--data-dir", data, "--latency", "20ms..40ms"], directory: directory, name: "inventory")
        processes.append(inventory)
        let inventoryURL = try await inventory.url(readyLine: "inventory service on")
        let api = try MercatoProcess(
            ["serve", "--port", "0", "--data-dir", data, "--seed-demo", "always"],
            environment: ["INVENTORY_URL": inventoryURL, "TAX_URL": taxURL, "MERCATO_SERVICE_TIMEOUT_MS": "2000"], directory: directory, name: "api")
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
