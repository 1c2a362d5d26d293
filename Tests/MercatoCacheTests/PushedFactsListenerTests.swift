import Foundation
import Logging
@testable import MercatoCache
import MetricsTestKit
import NIOCore
import Redis
import Synchronization
import Testing

/// Records what reaches an instance's facts.
final class RecordingFactSink: FactSink {
    let applied = Mutex<[PushedFact]>([])
    let resets = Atomic<Int>(0)

    func apply(_ facts: [PushedFact]) { applied.withLock { $0 += facts } }
    func reset() { resets.add(1, ordering: .relaxed) }
}

@Suite("Pushed facts over the invalidation channel")
struct PushedFactsListenerTests {
    /// A listener wired as in the server; nothing here connects to Redis (events are handed in directly).
    static func listener(_ sink: RecordingFactSink, metrics: TestMetrics = TestMetrics()) throws -> (InvalidationListener, SharedGenerations) {
        let logger = Logger(label: "test")
        let configuration = try RedisConfiguration(url: "redis://127.0.0.1:1")
        let generations = SharedGenerations(
            client: RedisClient(configuration: configuration, logger: logger), availability: RedisAvailability(logger: logger), logger: logger, facts: sink,
            metricsFactory: metrics)
        return (InvalidationListener(configuration: configuration, generations: generations, logger: logger) {}, generations)
    }

    static func message(_ message: InvalidationMessage, _ generations: SharedGenerations) throws -> RedisSubscriberEvent {
        .message(RedisPubSubMessage(channel: generations.keyspace.invalidationChannel, payload: ByteBuffer(bytes: try JSONEncoder().encode(message))))
    }

    @Test func pushedLevelsAreAppliedAndALostSubscriptionForgetsThem() async throws {
        let sink = RecordingFactSink()
        let (listener, generations) = try Self.listener(sink)
        let level = PushedFact(key: "v1", value: 4, version: 9)
        await listener.handle(try Self.message(
            InvalidationMessage(namespace: "", generation: 0, surrogateKeys: [], sentAt: 0, facts: [level]), generations))
        #expect(sink.applied.withLock { $0 } == [level])
        // Pushes sent while the subscription was down are lost: the facts must be reloaded, not trusted.
        await listener.handle(.reconnected)
        #expect(sink.resets.load(ordering: .relaxed) == 1)
        // Another instance whose push failed asks every instance to forget its facts once Redis is back.
        await listener.handle(try Self.message(
            InvalidationMessage(namespace: "", generation: 0, surrogateKeys: [], sentAt: 0, resetFacts: true), generations))
        #expect(sink.resets.load(ordering: .relaxed) == 2)
    }

    @Test func describedMovesAreLoggedUnderTheirGeneration() async throws {
        let (listener, generations) = try Self.listener(RecordingFactSink())
        let move = SortMove(dimension: "EUR", from: 100, to: 200)
        for generation in [UInt64(3), 4] {
            await listener.handle(try Self.message(
                InvalidationMessage(namespace: "s#price-order:root", generation: generation, surrogateKeys: [], sentAt: 0, moves: [move]), generations))
        }
        #expect(generations.changeLog.moves(of: "s#price-order:root", after: 2, upTo: 4) == [move, move])
        #expect(generations.moves(of: "s#price-order:root", from: "2@run", to: "4@run") == [move, move])
        #expect(generations.moves(of: "s#price-order:root", from: "2@run", to: "4@other") == nil, "another run of Redis: unknown")
        await listener.handle(.reconnected)
        #expect(generations.changeLog.moves(of: "s#price-order:root", after: 2, upTo: 4) == nil, "a lost subscription forgets the log")
    }

    /// What the listener receives and its reconnects are counted, and each received event's write → purge lag
    /// recorded; the subscription state (not a metric) follows the connection.
    @Test func receivedEventsReconnectsAndLagAreRecorded() async throws {
        let metrics = TestMetrics()
        let (listener, generations) = try Self.listener(RecordingFactSink(), metrics: metrics)
        await listener.handle(.subscribed)
        #expect(listener.subscription.isSubscribed && listener.subscription.isListening)
        for generation in [UInt64(1), 2] {
            await listener.handle(try Self.message(
                InvalidationMessage(namespace: "s", generation: generation, surrogateKeys: [], sentAt: Date().timeIntervalSince1970 - 0.5), generations))
        }
        await listener.handle(try Self.message(
            InvalidationMessage(namespace: "", generation: 0, surrogateKeys: [], sentAt: Date().timeIntervalSince1970, facts: []), generations))
        await listener.handle(.disconnected)
        #expect(!listener.subscription.isListening)
        await listener.handle(.reconnected)
        #expect(listener.subscription.isListening)
        #expect(try metrics.expectCounter("mercato_invalidations_received_total").totalValue == 3)
        #expect(try metrics.expectCounter("mercato_invalidation_reconnects_total").totalValue == 1)
        let lags = try metrics.expectTimer("mercato_invalidation_lag_seconds").values
        #expect(lags.count == 3)
        #expect(lags.prefix(2).allSatisfy { $0 >= 500_000_000 }, "published half a second before arrival: \(lags) ns")
        #expect(try metrics.expectCounter("mercato_invalidations_published_total").totalValue == 0)
    }
}
