import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import MercatoHTTP
import Synchronization
import Testing
import TestSupport

@Suite("Admin write limit")
struct AdminWriteLimitTests {
    static let second: UInt64 = 1_000_000_000

    /// The bucket's invariant, step by step: a full bucket allows `burst` writes at once; then one more
    /// per `1 / rate` seconds, and the wait it names is exactly the time until the next whole token.
    @Test func aBucketAllowsItsBurstThenItsRate() {
        let limit = AdminWriteLimit(rate: 2, burst: 3)
        var bucket = TokenBucket(limit: limit, now: 0)
        for _ in 0 ..< 3 { #expect(bucket.take(limit: limit, now: 0) == .allowed) }
        #expect(bucket.take(limit: limit, now: 0) == .wait(seconds: 0.5))
        #expect(bucket.take(limit: limit, now: Self.second / 4) == .wait(seconds: 0.25))
        #expect(bucket.take(limit: limit, now: Self.second / 2) == .allowed)
        #expect(bucket.take(limit: limit, now: Self.second / 2) == .wait(seconds: 0.5))
        // Idle for a long time: full again, never more than the burst.
        #expect(bucket.isFull(limit: limit, now: 100 * Self.second))
        for _ in 0 ..< 3 { #expect(bucket.take(limit: limit, now: 100 * Self.second) == .allowed) }
        #expect(bucket.take(limit: limit, now: 100 * Self.second) != .allowed)
        #expect(bucket.tokens >= 0 && bucket.tokens <= limit.burst)
    }

    /// A clock that goes back adds nothing (and takes nothing away).
    @Test func aClockGoingBackAddsNoTokens() {
        let limit = AdminWriteLimit(rate: 1, burst: 1)
        var bucket = TokenBucket(limit: limit, now: 10 * Self.second)
        #expect(bucket.take(limit: limit, now: 10 * Self.second) == .allowed)
        #expect(bucket.take(limit: limit, now: 5 * Self.second) == .wait(seconds: 1))
        #expect(bucket.take(limit: limit, now: 11 * Self.second) == .allowed)
    }

    /// Each merchant has its own bucket: one merchant's burst leaves the other's allowance whole.
    @Test func merchantsHaveTheirOwnAllowance() {
        let clock = Atomic<UInt64>(0)
        let limiter = AdminWriteLimiter(limit: AdminWriteLimit(rate: 1, burst: 2)) { clock.load(ordering: .relaxed) }
        #expect(limiter.take(merchant: "a") == .allowed)
        #expect(limiter.take(merchant: "a") == .allowed)
        #expect(limiter.take(merchant: "a") == .wait(seconds: 1))
        #expect(limiter.take(merchant: "b") == .allowed)
        #expect(limiter.take(merchant: "b") == .allowed)
        clock.store(Self.second, ordering: .relaxed)
        #expect(limiter.take(merchant: "a") == .allowed)
        #expect(limiter.take(merchant: "a") == .wait(seconds: 1))
    }

    /// Over HTTP: past its burst a merchant's write is `429` with `Retry-After` and changes nothing; its
    /// reads, and another merchant's writes, go on. The rate is tiny, so no token comes back during the test
    /// however slow the machine is.
    @Test(arguments: Backend.available)
    func writesPastTheLimitAre429WithRetryAfter(backend: Backend) async throws {
        let options = HTTPOptions(maxBodyBytes: 64 * 1024, adminWriteLimit: AdminWriteLimit(rate: 0.001, burst: 3))
        try await Harness.withApp(backend, options: options) { client, fixture in
            let products = try await client.admin("/v1/admin/products?limit=1", token: fixture.token)
            let productID = try #require(products.ids.first)
            let product = try await client.admin("/v1/admin/products/\(productID)", token: fixture.token)
            let variant = try #require((product.object["variants"] as? [[String: Any]])?.first?["id"] as? String)
            for quantity in 1 ... 3 {
                let write = try await client.admin("/v1/admin/variants/\(variant)/stock", token: fixture.token, method: .put, body: #"{"quantity": \#(quantity)}"#)
                #expect(write.status == .ok, "\(write.detail)")
            }
            let refused = try await client.admin("/v1/admin/variants/\(variant)/stock", token: fixture.token, method: .put, body: #"{"quantity": 99}"#)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.problem?.type == "https://mercato.dev/problems/rate-limited")
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap(Int.init))
            #expect((1 ... 1000).contains(retryAfter), "Retry-After: \(retryAfter)")
            // Nothing changed, and reads are not limited.
            let after = try await client.admin("/v1/admin/products/\(productID)", token: fixture.token)
            #expect(after.status == .ok)
            let stock = (after.object["variants"] as? [[String: Any]])?.first { $0["id"] as? String == variant }?["stock"] as? Int
            #expect(stock == 3)
            // Another merchant's allowance is its own.
            let otherProducts = try await client.admin("/v1/admin/products?limit=1", token: fixture.tokens[1])
            let otherProduct = try await client.admin("/v1/admin/products/\(try #require(otherProducts.ids.first))", token: fixture.tokens[1])
            let otherVariant = try #require((otherProduct.object["variants"] as? [[String: Any]])?.first?["id"] as? String)
            let other = try await client.admin("/v1/admin/variants/\(otherVariant)/stock", token: fixture.tokens[1], method: .put, body: #"{"quantity": 5}"#)
            #expect(other.status == .ok, "\(other.detail)")
            // A bad token is still 401, not 429: authentication comes first.
            let stranger = try await client.admin("/v1/admin/variants/\(variant)/stock", token: "mk_bogus", method: .put, body: #"{"quantity": 1}"#)
            #expect(stranger.status == .unauthorized)
        }
    }
}
