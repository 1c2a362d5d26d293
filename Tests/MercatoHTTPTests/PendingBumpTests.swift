import Logging
@testable import MercatoCache
import Redis
import Testing

/// A write whose shared bump failed must not leave readers on the generation before it.
@Suite("Shared generations with a bump pending", .enabled(if: RedisHarness.enabled))
struct PendingBumpTests {
    @Test func aNamespaceWhoseBumpIsPendingIsNeverCachedUnderTheOldGeneration() async throws {
        let logger = Logger(label: "test")
        let configuration = try RedisConfiguration(url: try #require(RedisHarness.url))
        let generations = SharedGenerations(
            client: RedisClient(configuration: configuration, logger: logger), availability: RedisAvailability(logger: logger), logger: logger,
            keyspace: RedisKeyspace(prefix: "pending-\(UInt32.random(in: 0 ... .max)):"))
        let namespace = "shop#product:p1"
        try await generations.publish(InvalidationEvent(namespace: namespace, surrogateKeys: []))
        let before = await generations.generation(of: namespace)
        #expect(before.hasSuffix("@") == false && before.contains("@"), "a shared token: \(before)")
        // As `publish` leaves it when the INCR or PUBLISH fails: the write committed, its bump did not land.
        _ = generations.pending.withLock { $0.insert(namespace) }
        let first = await generations.generation(of: namespace), second = await generations.generation(of: namespace)
        #expect(first != before && second != before && first != second, "\(before) \(first) \(second): each read must be uncacheable")
        // Once the retry lands, readers share the new generation again.
        await generations.retryPending()
        let after = await generations.generation(of: namespace)
        #expect(!generations.hasPending && after != before && after.contains("@"), "\(after)")
        #expect(await generations.generation(of: namespace) == after)
    }
}
