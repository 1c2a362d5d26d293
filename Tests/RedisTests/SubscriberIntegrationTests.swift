import NIOCore
import Testing

@testable import Redis
import TestSupport
@Suite("Subscriber against redis-server", .enabled(if: TestServer.isEnabled, "set REDIS_URL (see scripts/redis.sh)"))
struct SubscriberIntegrationTests {
    @Test(arguments: [true, false])
    func receivesChannelAndPatternMessages(useRESP3: Bool) async throws {
        var configuration = try TestServer.configuration()
        configuration.useRESP3 = useRESP3
        let prefix = TestServer.uniqueKey("pubsub")
        let subscriber = RedisSubscriber(configuration: configuration, channels: [prefix + ":a", prefix + ":b"], patterns: [prefix + ":p.*"])
        let publisher = RedisClient(configuration: configuration)
        defer { Task { await publisher.close() } }
        let events = Recorder<RedisSubscriberEvent>()

        try await withThrowingTaskGroup(of: Void.self) { group throws in
            group.addTask { try await subscriber.run() }
            group.addTask { for await event in subscriber.events { events.append(event) } }

            #expect(try await poll(timeout: .seconds(10)) { events.all.contains(.subscribed) } != nil)
            let payload = ByteBuffer(bytes: [0, 13, 10, 255])
            #expect(try await publisher.publish(payload, to: prefix + ":a") == 1)
            #expect(try await publisher.publish("two", to: prefix + ":b") == 1)
            #expect(try await publisher.publish("three", to: prefix + ":p.x") == 1)
            #expect(try await publisher.publish("nobody", to: prefix + ":c") == 0)
            #expect(try await poll(timeout: .seconds(10)) { events.all.count == 4 } != nil)
            #expect(events.all == [
                .subscribed,
                .message(RedisPubSubMessage(channel: prefix + ":a", payload: payload)),
                .message(RedisPubSubMessage(channel: prefix + ":b", payload: ByteBuffer(string: "two"))),
                .message(RedisPubSubMessage(channel: prefix + ":p.x", payload: ByteBuffer(string: "three"), pattern: prefix + ":p.*")),
            ])
            group.cancelAll()
        }
    }

    @Test func runEndsOnCancellationAndFinishesTheStream() async throws {
        let subscriber = RedisSubscriber(configuration: try TestServer.configuration(), channels: [TestServer.uniqueKey("cancel")])
        let task = Task { try await subscriber.run() }
        var iterator = subscriber.events.makeAsyncIterator()
        #expect(await iterator.next() == .subscribed)
        task.cancel()
        try await task.value
        #expect(await iterator.next() == nil)
        await #expect(throws: RedisError.self) { try await subscriber.run() }
    }
}
