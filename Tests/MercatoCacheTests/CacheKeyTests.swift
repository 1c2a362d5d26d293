import MercatoCache
import Testing

@Suite("Cache keys")
struct CacheKeyTests {
    /// A key is made from generations read from a source: a bump between two reads gives another key for
    /// the same inputs, so a value loaded before a write is never found by a request after it.
    @Test func aBumpBetweenTwoReadsGivesAnotherKeyForTheSameInputs() async throws {
        let generations = GenerationMap()
        let (cache, _) = makeCache()
        let before = CacheKey("P", under: await generations.stamp("shop"), inputs: ["shop", "mug"])
        _ = try await cache.value(for: before) { "old price" }
        _ = generations.bump("shop")
        let after = CacheKey("P", under: await generations.stamp("shop"), inputs: ["shop", "mug"])
        let (value, outcome) = try await cache.value(for: after) { "new price" }
        #expect(value == "new price")
        #expect(outcome == .miss)
        // The key from before the write never finds what was loaded after it: the newer fill superseded
        // its value, which is dropped.
        #expect(await cache.cachedValue(for: before) == nil)
    }

    /// Every generation a key was made under counts: a bump of any of them changes the key.
    @Test func everyGenerationOfTheKeyCounts() async throws {
        let generations = GenerationMap()
        let (cache, _) = makeCache()
        func key() async -> CacheKey {
            CacheKey("A", under: await generations.stamp("shop"), await generations.stamp("shop#stock:1"), inputs: ["shop", "v1"])
        }
        await cache.store(await key(), "5 units")
        #expect(await cache.cachedValue(for: await key()) == "5 units")
        _ = generations.bump("shop#stock:1")
        #expect(await cache.cachedValue(for: await key()) == nil)
    }
}
