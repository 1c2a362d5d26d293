import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MercatoCore
import MercatoEdge
import MercatoHTTP
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import TestServers
import TestSupport

/// Holds the responses of requests marked `X-Test-Hold` once they are computed, until the test lets them
/// go: a fill read before a write that reaches the edge after the write's purge (the in-flight race).
final class ResponseHold: Sendable {
    private let state = Mutex<(arrived: Int, released: Bool, waiters: [CheckedContinuation<Void, Never>])>((0, false, []))

    static let header = HTTPField.Name("X-Test-Hold")!

    /// Held responses so far.
    var arrived: Int { state.withLock { $0.arrived } }

    func hold() async {
        await withCheckedContinuation { continuation in
            let resume = state.withLock { state -> Bool in
                state.arrived += 1
                if state.released { return true }
                state.waiters.append(continuation)
                return false
            }
            if resume { continuation.resume() }
        }
    }

    func release() {
        let waiters = state.withLock { state in
            state.released = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Answers as `inner` does; a request marked `X-Test-Hold` waits for `hold` after its response is computed
/// (the conformance responder inside has already collected the body).
struct HoldingResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == BasicRequestContext {
    let inner: Inner
    let hold: ResponseHold

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let response = try await inner.respond(to: request, context: context)
        if request.headers[ResponseHold.header] != nil { await hold.hold() }
        return response
    }
}

/// The app served live with a real varnishd in front of it (`scripts/varnish.sh`, `deploy/varnish/mercato.vcl`),
/// purging it after every write.
struct EdgeSetup: Sendable {
    /// Clients through the edge and straight to the app.
    let edge: Buyers
    let app: Buyers
    let varnish: OwnedVarnish
    let deps: AppDependencies
    let fixture: Fixture

    var store: String { "/v1/stores/\(fixture.slug)" }
    var admin: [(String, String)] { [("Authorization", "Bearer \(fixture.token)")] }
    var purger: EdgePurger { deps.edge! }

    /// Whether this run can start Varnish; in CI a missing varnishd fails the run instead of skipping.
    static var available: Bool {
        if OwnedVarnish.isInstalled { return true }
        if ContinuousIntegration.isActive { Issue.record("varnishd is not installed (.ci/run installs varnish and varnish-modules)") }
        return false
    }

    /// Seeds a catalog, serves it on loopback with an edge in front; `afterAppStopped` runs with the edge
    /// still up once the app has stopped.
    static func with(
        products: Int = 30, edge tweak: @escaping @Sendable (inout EdgePurgeOptions) -> Void = { _ in }, hold: ResponseHold = ResponseHold(),
        _ body: @Sendable @escaping (EdgeSetup) async throws -> Void, afterAppStopped: (@Sendable (Buyers, EdgeSetup) async throws -> Void)? = nil
    ) async throws {
        try await Harness.withDatabase(.sqlite) { database in
            let fixture = try await Harness.seed(database, products: products)
            let port = try OwnedVarnish.freePort()
            var options = EdgePurgeOptions(nodes: [try #require(EdgeNode(url: "http://127.0.0.1:\(port)"))])
            tweak(&options)
            let deps = try await Harness.dependencies(database: database, options: HTTPOptions(maxBodyBytes: 64 * 1024), edge: options)
            let log = ContractLog()
            defer { log.recordIssues() }
            let contract = try Contract.served.get()
            let app = buildApplication(
                deps, wrappingRouter: { HoldingResponder(inner: ConformanceResponder(inner: $0, contract: contract, log: log), hold: hold) },
                hostname: "127.0.0.1", port: 0, services: [], logger: Harness.logger)
            let started = Mutex<OwnedVarnish?>(nil)
            do {
                try await Buyers.with("http://127.0.0.1:\(port)") { edge in
                    let last = Mutex<EdgeSetup?>(nil)
                    try await app.test(.live) { client in
                        let appPort = try #require(client.port)
                        let varnish = OwnedVarnish(port: port, backend: "127.0.0.1:\(appPort)")
                        started.withLock { $0 = varnish }
                        try await varnish.start()
                        try await Buyers.with("http://127.0.0.1:\(appPort)") { direct in
                            let setup = EdgeSetup(edge: edge, app: direct, varnish: varnish, deps: deps, fixture: fixture)
                            last.withLock { $0 = setup }
                            try await body(setup)
                        }
                    }
                    if let afterAppStopped, let setup = last.withLock({ $0 }) { try await afterAppStopped(edge, setup) }
                }
            } catch {
                await started.withLock { $0 }?.destroy()
                throw error
            }
            await started.withLock { $0 }?.destroy()
        }
    }

    /// A product of the public storefront (listed first in the whole catalog).
    func product(offset: Int = 0) async throws -> ProductDetail {
        let listing = try await app.send(.GET, "\(store)/products?limit=\(offset + 1)").decode(ListingPage.self)
        let item = try #require(listing.items.dropFirst(offset).first)
        return try await app.send(.GET, "\(store)/products/\(item.id)").decode(ProductDetail.self)
    }

    /// Sets every variant's price in EUR (the default market's currency) to `amount`.
    func setPrice(_ product: ProductDetail, amount: Int64) async throws {
        for variant in product.variants {
            let priced = try await app.send(
                .PUT, "/v1/admin/variants/\(variant.id)/price", headers: admin, json: #"{"currency": "EUR", "amount": \#(amount)}"#)
            #expect(priced.status == 200, "\(priced.text)")
        }
    }
}

extension HTTPAnswer {
    /// What the edge says it did: hit, miss, pass or stale-if-error.
    var edge: String? { header("X-Edge") }
}

@Suite("The edge tier (a real Varnish in front of the app)")
struct EdgeTests {
    @Test func detailsAndListingsAreEdgeHitsOnTheSecondRequestWithoutTheirKeys() async throws {
        guard EdgeSetup.available else { return }
        try await EdgeSetup.with { setup in
            let product = try await setup.product()
            for path in ["\(setup.store)/products?limit=5", "\(setup.store)/products/\(product.id)", "\(setup.store)/categories"] {
                let first = try await setup.edge.send(.GET, path)
                #expect(first.status == 200 && first.edge == "miss", "\(path): \(first.edge ?? "-")")
                let second = try await setup.edge.send(.GET, path)
                #expect(second.status == 200 && second.edge == "hit", "\(path): \(second.edge ?? "-")")
                #expect(second.body == first.body)
                #expect(second.header("xkey") == nil && second.header("Surrogate-Key") == nil && second.header("Surrogate-Control") == nil)
                // The app lets the edge it purges keep the answer longer than s-maxage.
                #expect(try await setup.app.send(.GET, path).header("Surrogate-Control") == "max-age=600")
                // A client's revalidation is answered by the edge.
                let etag = try #require(second.header("ETag"))
                let revalidated = try await setup.edge.send(.GET, path, headers: [("If-None-Match", etag)])
                #expect(revalidated.status == 304)
            }
            // Admin and checkout routes are never cached.
            let admin = try await setup.edge.send(.GET, "/v1/admin/categories", headers: setup.admin)
            let again = try await setup.edge.send(.GET, "/v1/admin/categories", headers: setup.admin)
            #expect(admin.status == 200 && admin.edge != "hit" && again.edge != "hit")
        }
    }

    @Test func priceWriteIsFreshAtTheEdgeForTheDetailAndEveryListingShowingItWhileAnotherDetailStaysAHit() async throws {
        guard EdgeSetup.available else { return }
        try await EdgeSetup.with { setup in
            let product = try await setup.product()
            let other = try await setup.product(offset: 1)
            let pages = [
                "\(setup.store)/products?limit=50", "\(setup.store)/products?limit=50&sort=price_asc",
                "\(setup.store)/products?limit=50&sort=price_desc", "\(setup.store)/products?limit=50&in_stock=true",
            ]
            let detail = "\(setup.store)/products/\(product.id)", otherDetail = "\(setup.store)/products/\(other.id)"
            for path in pages + [detail, otherDetail] {
                _ = try await setup.edge.send(.GET, path)
                #expect(try await setup.edge.send(.GET, path).edge == "hit", "\(path)")
            }
            let newPrice: Int64 = 1_234_567
            try await setup.setPrice(product, amount: newPrice)
            // The next read through the edge, right after the write's response, is fresh everywhere it shows.
            let fresh = try await setup.edge.send(.GET, detail).decode(ProductDetail.self)
            #expect(fresh.variants.allSatisfy { $0.price?.amount == newPrice })
            var shown = 0
            for path in pages {
                let page = try await setup.edge.send(.GET, path)
                let direct = try await setup.app.send(.GET, path).decode(ListingPage.self)
                #expect(try page.decode(ListingPage.self).items.map(\.id) == direct.items.map(\.id), "\(path)")
                // A page that shows the product (or moved: price order) is fetched again and shows the new price.
                if direct.items.contains(where: { $0.id == product.id }) || path.contains("sort=price") {
                    shown += 1
                    #expect(page.edge != "hit", "\(path) was served from the edge after the write")
                    let listed = try page.decode(ListingPage.self).items.first { $0.id == product.id }
                    if let listed { #expect(listed.price?.amount == newPrice, "\(path)") }
                }
            }
            #expect(shown >= 3)
            let untouched = try await setup.edge.send(.GET, otherDetail)
            #expect(untouched.edge == "hit", "an unrelated product's detail was purged")
            #expect(setup.purger.stats.failed == 0)
        }
    }

    @Test func checkoutThatSellsTheLastUnitMakesInStockFalseAtTheEdgeAtOnce() async throws {
        guard EdgeSetup.available else { return }
        try await EdgeSetup.with { setup in
            let product = try await setup.product()
            for (index, variant) in product.variants.enumerated() {
                let set = try await setup.app.send(
                    .PUT, "/v1/admin/variants/\(variant.id)/stock", headers: setup.admin, json: #"{"quantity": \#(index == 0 ? 1 : 0)}"#)
                #expect(set.status == 200, "\(set.text)")
            }
            let detail = "\(setup.store)/products/\(product.id)", inStock = "\(setup.store)/products?limit=100&in_stock=true"
            let all = "\(setup.store)/products?limit=100"
            for path in [detail, inStock, all] {
                _ = try await setup.edge.send(.GET, path)
                #expect(try await setup.edge.send(.GET, path).edge == "hit", "\(path)")
            }
            #expect(try await setup.edge.send(.GET, detail).decode(ProductDetail.self).inStock)
            #expect(try await setup.edge.send(.GET, inStock).decode(ListingPage.self).items.contains { $0.id == product.id })
            let checkout = try await setup.app.createCheckout(store: setup.fixture.slug, lines: [(product.variants[0].id, 1)])
            #expect(checkout.status == 201, "\(checkout.text)")
            let sold = try await setup.edge.send(.GET, detail).decode(ProductDetail.self)
            #expect(!sold.inStock && sold.variants.allSatisfy { $0.stock == 0 })
            #expect(!(try await setup.edge.send(.GET, inStock).decode(ListingPage.self).items.contains { $0.id == product.id }))
            let card = try #require(try await setup.edge.send(.GET, all).decode(ListingPage.self).items.first { $0.id == product.id })
            #expect(!card.inStock)
        }
    }

    @Test func aRestrictedListingNeverReachesAnAnonymousClientThroughTheEdge() async throws {
        guard EdgeSetup.available else { return }
        // 120 products hold restricted ones (see CachingTests).
        try await EdgeSetup.with(products: 120) { setup in
            let token = try await setup.app.send(.POST, "/v1/admin/storefront-tokens", headers: setup.admin, json: #"{"customer_group": "wholesale"}"#)
            let wholesale = [("X-Storefront-Token", try #require(token.object["token"] as? String))]
            let path = "\(setup.store)/products?limit=100"
            #expect(try await setup.app.send(.GET, path, headers: wholesale).header("Surrogate-Control") == nil)
            let restricted = try await setup.edge.send(.GET, path, headers: wholesale)
            let restrictedAgain = try await setup.edge.send(.GET, path, headers: wholesale)
            #expect(restricted.status == 200 && restrictedAgain.edge != "hit", "a private answer was stored at the edge")
            let publicIDs = try await setup.app.send(.GET, path).decode(ListingPage.self).items.map(\.id)
            let wholesaleIDs = try restricted.decode(ListingPage.self).items.map(\.id)
            try #require(Set(wholesaleIDs) != Set(publicIDs), "the catalog has nothing only wholesale sees")
            for _ in 0..<2 {
                let anonymous = try await setup.edge.send(.GET, path)
                #expect(try anonymous.decode(ListingPage.self).items.map(\.id) == publicIDs)
            }
            // And the other way round: a public object never answers a token holder.
            #expect(try await setup.edge.send(.GET, path, headers: wholesale).decode(ListingPage.self).items.map(\.id) == wholesaleIDs)
        }
    }

    @Test func twoMarketsNeverGetEachOthersPricesHoweverTheMarketIsWritten() async throws {
        guard EdgeSetup.available else { return }
        try await EdgeSetup.with { setup in
            let path = "\(setup.store)/products?limit=10"
            let german = try await setup.app.send(.GET, path + "&market=DE")
            let british = try await setup.app.send(.GET, path + "&market=GB")
            #expect(try german.decode(ListingPage.self).items.first?.price?.currency == "EUR")
            #expect(try british.decode(ListingPage.self).items.first?.price?.currency == "GBP")
            let spellings: [(String, [(String, String)], HTTPAnswer)] = [
                (path + "&market=DE", [], german), (path + "&market=GB", [], british), (path + "&market=gb", [], british),
                (path, [("X-Market", "gb")], british), (path, [("X-Market", "DE")], german), (path + "&market=de", [], german),
                (path, [("X-Market", "GB")], british),
            ]
            for _ in 0..<2 {
                for (uri, headers, expected) in spellings {
                    let answer = try await setup.edge.send(.GET, uri, headers: headers)
                    #expect(answer.body == expected.body, "\(uri) \(headers)")
                }
            }
        }
    }

    @Test func withVarnishStoppedWritesSucceedAndTheFailedPurgeIsRetriedWhenItReturns() async throws {
        guard EdgeSetup.available else { return }
        try await EdgeSetup.with { setup in
            let product = try await setup.product()
            try await setup.varnish.stop()
            try await setup.setPrice(product, amount: 4_321)
            let failed = setup.purger.stats
            #expect(failed.failed >= 1 && failed.pendingKeys > 0, "\(failed)")
            try await setup.varnish.start()
            try await poll("the failed purge is retried once Varnish is back", timeout: .seconds(60)) {
                let stats = setup.purger.stats
                return stats.retried >= 1 && stats.pendingKeys == 0 && stats.sent > failed.sent
            }
            #expect(setup.purger.stats.droppedKeys == 0)
            let metric = await Harness.metric(
                setup.deps, "mercato_edge_purges_total{node=\"\(setup.varnish.url)\",outcome=\"failed\"}")
            #expect((metric ?? 0) >= 1)
        }
    }

    @Test func aFillComputedBeforeAWriteAndArrivingAfterItsPurgeIsNotServedAfterTheWrite() async throws {
        guard EdgeSetup.available else { return }
        let hold = ResponseHold()
        // No second send: the VCL alone must close the race.
        try await EdgeSetup.with(edge: { $0.repurgeDelay = .zero }, hold: hold) { setup in
            let product = try await setup.product()
            let detail = "\(setup.store)/products/\(product.id)"
            let oldPrice = try #require(product.variants.first?.price?.amount)
            // A fill read before the write...
            async let inFlight = setup.edge.send(.GET, detail, headers: [(ResponseHold.header.rawName, "1")])
            try await poll("the fill is computed", timeout: .seconds(30)) { hold.arrived == 1 }
            // ...the write and its purge while the fill is in flight (xkey skips objects being fetched)...
            try await setup.setPrice(product, amount: oldPrice + 1)
            hold.release()
            let old = try await inFlight.decode(ProductDetail.self)
            #expect(old.variants.first?.price?.amount == oldPrice)
            // ...is not stored: every read after the write's response is fresh.
            for _ in 0..<3 {
                let read = try await setup.edge.send(.GET, detail).decode(ProductDetail.self)
                #expect(read.variants.first?.price?.amount == oldPrice + 1)
            }
            #expect(try await setup.edge.send(.GET, detail).edge == "hit")
        }
    }

    @Test func withTheAppStoppedTheEdgeKeepsServingWhatItHoldsAndFailsTheRest() async throws {
        guard EdgeSetup.available else { return }
        let cached = Mutex<String?>(nil)
        try await EdgeSetup.with({ setup in
            let product = try await setup.product()
            let detail = "\(setup.store)/products/\(product.id)"
            _ = try await setup.edge.send(.GET, detail)
            #expect(try await setup.edge.send(.GET, detail).edge == "hit")
            cached.withLock { $0 = detail }
        }, afterAppStopped: { edge, setup in
            let detail = try #require(cached.withLock { $0 })
            let served = try await edge.send(.GET, detail)
            #expect(served.status == 200 && served.edge == "hit")
            let uncached = try await edge.send(.GET, "\(setup.store)/products?limit=7")
            #expect(uncached.status.code >= 500)
        })
    }
}
