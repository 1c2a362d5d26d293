import Hummingbird
import MercatoCore
import MercatoHTTPBoundary
import MercatoInventoryContract
import HummingbirdTesting
@testable import MercatoCheckout
import Synchronization
import Testing
import TestSupport

/// How calls to a slow or failing internal service are retried.
@Suite("Service calls")
struct ServiceCallTests {
    /// A timed-out attempt is not retried (it used the whole budget; a retry would double the wait), while
    /// a 503 is. Counted on the service side, so nothing here depends on how long anything took.
    @Test func aTimedOutCallIsNotRetriedButA503Is() async throws {
        let arrivals = Atomic<Int>(0)
        let callGaveUp = Atomic<Bool>(false)
        let router = Router()
        router.get("/slow") { _, _ -> String in
            arrivals.add(1, ordering: .relaxed)
            // Answers only after the caller has given up (its 3 s timeout), whenever that is.
            try await poll("the caller gives up", timeout: .seconds(60)) { callGaveUp.load(ordering: .relaxed) }
            return "late"
        }
        router.get("/unavailable") { _, _ -> Response in
            arrivals.add(1, ordering: .relaxed)
            return Response(status: .serviceUnavailable)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // A timeout long enough that the first attempt arrives even on a loaded machine; a retry would be sent
            // at once after it, so it would have arrived by the time the call gives up.
            let service = ServiceHTTPClient(
                name: "inventory", baseURL: "http://127.0.0.1:\(port)", policy: CallPolicy(timeout: .seconds(3), retries: 1, backoff: .milliseconds(1)))
            await #expect(throws: DependencyError.self) { _ = try await service.send(.GET, "/slow", body: nil) }
            callGaveUp.store(true, ordering: .relaxed)
            #expect(arrivals.load(ordering: .relaxed) == 1, "a timed-out call was sent again (or never arrived)")
            await #expect(throws: DependencyError.self) { _ = try await service.send(.GET, "/unavailable", body: nil) }
            #expect(arrivals.load(ordering: .relaxed) == 3, "a 503 is retried once")
            try await service.client.shutdown()
        }
    }

    /// The inventory client tells its errors apart by status and problem type, never by the wording of a
    /// detail: a `not-found` whose detail happens to read like an unknown reservation stays a `not-found`.
    @Test func theInventoryClientReadsTheProblemTypeNotTheDetail() async throws {
        let router = Router()
        router.post("/v1/inventory/merchants/:merchant/reservations/:key/commit") { _, context -> Response in
            let key = context.parameters.get("key") ?? ""
            let type = key == "unknown" ? InventoryAPI.unknownReservationType : "not-found"
            return Problem(status: .notFound, type: type, title: "Not found", detail: "no reservation '\(key)'").response()
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let http = ServiceHTTPClient(
                name: "inventory", baseURL: "http://127.0.0.1:\(try #require(client.port))", policy: CallPolicy(timeout: .seconds(30), retries: 0, backoff: .zero))
            let inventory = HTTPInventoryClient(http: http)
            let merchant = MerchantID.random()
            await #expect(throws: InventoryError.unknownReservation("unknown")) { _ = try await inventory.commit(merchantID: merchant, key: "unknown") }
            await #expect(throws: MercatoError.notFound("no reservation 'other'")) { _ = try await inventory.commit(merchantID: merchant, key: "other") }
            try await http.client.shutdown()
        }
    }
}
