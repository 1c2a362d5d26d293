import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MercatoCore
import MercatoHTTPBoundary
import MercatoInventory
import MercatoInventoryContract
import MercatoStorage
import MercatoSQL
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import MercatoInventoryStore
import TestSupport

/// A real HTTP client for tests that need concurrency or separate processes (keep-alive pool of 64).
final class Buyers: Sendable {
    let base: String
    let client: HTTPClient

    /// Longer than `Harness.leaseTimeout`, the longest a request may wait for a database connection.
    static let deadline: Duration = Harness.leaseTimeout + .seconds(30)

    init(base: String) {
        self.base = base
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        // 200 buyers share 64 connections: on a loaded machine a request may queue for a connection longer than the
        // 10 s default (it surfaces as getConnectionFromPoolTimeout). The server side may in turn wait up to
        // `Harness.leaseTimeout` (60 s) for a database connection, so a request's deadline is longer than that:
        // these tests check outcomes, and a deadline that fires first reports load on CI, not a bug.
        configuration.timeout = .init(connect: .seconds(90), read: .seconds(90))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Runs `body` with a client and always shuts it down.
    static func with<T: Sendable>(_ base: String, _ body: (Buyers) async throws -> T) async throws -> T {
        let buyers = Buyers(base: base)
        do {
            let result = try await body(buyers)
            try await buyers.client.shutdown()
            return result
        } catch {
            try? await buyers.client.shutdown()
            throw error
        }
    }

    func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], json: String? = nil) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await client.execute(request, timeout: TimeAmount(Self.deadline))
        let body = try await response.body.collect(upTo: 1 << 20)
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return HTTPAnswer(status: HTTPResponse.Status(code: Int(response.status.code)), headers: fields, body: Array(buffer: body))
    }

    /// A purchasable variant of the store (first listed product, first variant) with its stock set by the admin API.
    func variant(store: String, token: String, stock: Int) async throws -> String {
        let listing = try await send(.GET, "/v1/stores/\(store)/products?limit=5&in_stock=true").decode(ListingPage.self)
        let product = try #require(listing.items.first?.id)
        let detail = try await send(.GET, "/v1/stores/\(store)/products/\(product)").decode(ProductDetail.self)
        let id = try #require(detail.variants.first?.id)
        let set = try await send(.PUT, "/v1/admin/variants/\(id)/stock", headers: [("Authorization", "Bearer \(token)")], json: #"{"quantity": \#(stock)}"#)
        #expect(set.status == 200, "\(set.text)")
        return id
    }

    /// Several distinct purchasable variants (from different products), each with `stock` units.
    func variants(store: String, token: String, count: Int, stock: Int) async throws -> [String] {
        let listing = try await send(.GET, "/v1/stores/\(store)/products?limit=\(count)").decode(ListingPage.self)
        var ids: [String] = []
        for item in listing.items.prefix(count) {
            let detail = try await send(.GET, "/v1/stores/\(store)/products/\(item.id)").decode(ProductDetail.self)
            let id = try #require(detail.variants.first?.id)
            let set = try await send(.PUT, "/v1/admin/variants/\(id)/stock", headers: [("Authorization", "Bearer \(token)")], json: #"{"quantity": \#(stock)}"#)
            #expect(set.status == 200, "\(set.text)")
            ids.append(id)
        }
        try #require(ids.count == count)
        return ids
    }

    func createCheckout(store: String, lines: [(String, Int)]) async throws -> HTTPAnswer {
        let body = lines.map { #"{"variant_id": "\#($0.0)", "quantity": \#($0.1)}"# }.joined(separator: ",")
        return try await send(.POST, "/v1/stores/\(store)/checkouts", json: #"{"email": "buyer@example.com", "lines": [\#(body)]}"#)
    }

    func setAddress(_ checkout: HTTPAnswer) async throws -> HTTPAnswer {
        let object = checkout.object
        let id = object["id"] as? String ?? "", token = object["token"] as? String ?? "", country = object["market"] as? String ?? ""
        return try await send(
            .PUT, "/v1/checkouts/\(id)/shipping-address", headers: [("X-Checkout-Token", token)],
            json: #"{"name": "Ada Lovelace", "line1": "1 Main Street", "city": "Springfield", "postal_code": "12345", "country": "\#(country)"}"#)
    }

    func complete(_ checkout: HTTPAnswer, key: String, body: String? = nil) async throws -> HTTPAnswer {
        let object = checkout.object
        return try await send(
            .POST, "/v1/checkouts/\(object["id"] as? String ?? "")/complete",
            headers: [("X-Checkout-Token", object["token"] as? String ?? ""), ("Idempotency-Key", key)], json: body)
    }
}

/// Direct database checks for what HTTP cannot show.
enum Ledger {
    static func stock(_ database: any DatabaseClient, variant: String) async throws -> Int64 {
        try await database.query("SELECT stock FROM variants WHERE id = $1", try #require(VariantID(variant)).sql).first?.int(0) ?? -1
    }

    static func reservations(_ database: any DatabaseClient, merchant: MerchantID, status: String) async throws -> Int64 {
        try await database.query("SELECT COUNT(*) FROM reservations WHERE merchant_id = $1 AND status = $2", merchant.sql, .text(status)).first?.int(0) ?? -1
    }

    static func negativeStock(_ database: any DatabaseClient, merchant: MerchantID) async throws -> Int64 {
        try await database.query("SELECT COUNT(*) FROM variants WHERE merchant_id = $1 AND stock < 0", merchant.sql).first?.int(0) ?? -1
    }

    static func orders(_ database: any DatabaseClient, merchant: MerchantID) async throws -> Int64 {
        try await database.query("SELECT COUNT(*) FROM orders WHERE merchant_id = $1 AND status = 'placed'", merchant.sql).first?.int(0) ?? -1
    }
}

/// Runs the inventory service over real HTTP in this process (with injected faults), for `body`.
func withInventoryService(
    _ database: any DatabaseClient, faults: FaultInjection, _ body: @Sendable @escaping (String) async throws -> Void
) async throws {
    try await withInventoryService(database, options: ServiceServerOptions(faults: faults), body)
}

/// Runs the inventory service as the CLI builds it, on a free loopback port, with no sweeper (tests sweep
/// themselves) and no stock publication, for `body`.
func withInventoryService(
    _ database: any DatabaseClient, options: ServiceServerOptions, _ body: @Sendable @escaping (String) async throws -> Void
) async throws {
    let app = buildInventoryApplication(
        store: InventoryStore(database: database), options: options, reservationTTL: .seconds(600), expiryInterval: nil,
        onStockChange: { _, _ in }, logger: Harness.logger)
    try await app.test(.live) { client in
        try await body("http://127.0.0.1:\(try #require(client.port))")
    }
}

/// Proves calls overlap without measuring time: each request waits at the door until `parties` requests are
/// inside together (or `patience` runs out), and the most that were ever inside at once is recorded. Calls a
/// client makes in parallel all get in together; calls it makes one after another never do.
final class Rendezvous: Sendable {
    let parties: Int
    let patience: Duration
    private let state = Mutex<(inside: Int, most: Int)>((0, 0))

    init(parties: Int, patience: Duration) {
        self.parties = parties
        self.patience = patience
    }

    /// The most requests that were inside at the same time.
    var most: Int { state.withLock { $0.most } }

    func arrive() async {
        state.withLock { state in
            state.inside += 1
            state.most = max(state.most, state.inside)
        }
        // Waits for the others (an event), bounded by `patience` for calls that never come.
        _ = try? await poll(timeout: patience) { self.state.withLock { $0.most >= self.parties } }
    }

    func leave() {
        state.withLock { $0.inside -= 1 }
    }
}

/// Sends every request of a test service through a `Rendezvous`.
struct RendezvousMiddleware<Context: RequestContext>: RouterMiddleware {
    let rendezvous: Rendezvous

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        await rendezvous.arrive()
        defer { rendezvous.leave() }
        return try await next(request, context)
    }
}

/// An inventory service whose requests meet at `rendezvous` first.
func withInventoryService(
    _ database: any DatabaseClient, rendezvous: Rendezvous, _ body: @Sendable @escaping (String) async throws -> Void
) async throws {
    try await withInventoryService(database, options: ServiceServerOptions(middleware: [RendezvousMiddleware(rendezvous: rendezvous)]), body)
}
