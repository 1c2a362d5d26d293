import NIOCore
import TestServers
import Testing

@testable import Redis
import TestSupport
/// Kills and restarts a redis-server owned by the test, with a client and a subscriber attached.
@Suite("Server restart", .enabled(if: TestServer.isEnabled, "set REDIS_URL or CI (starts its own redis-server)"))
struct RestartIntegrationTests {
    @Test func clientAndSubscriberRecoverAfterTheServerRestarts() async throws {
        try await OwnedRedisServer.with { server in
            var configuration = try RedisConfiguration(url: server.url)
            configuration.commandTimeout = .seconds(1)
            configuration.connectTimeout = .seconds(1)
            configuration.reconnectInitialDelay = .milliseconds(20)
            configuration.reconnectMaximumDelay = .milliseconds(300)
            let client = RedisClient(configuration: configuration)
            defer { Task { await client.close() } }
            let subscriber = RedisSubscriber(configuration: configuration, channels: ["invalidations"])
            let events = Recorder<RedisSubscriberEvent>()

            try await withThrowingTaskGroup(of: Void.self) { group throws in
                group.addTask { try await subscriber.run() }
                group.addTask { for await event in subscriber.events { events.append(event) } }

                // Up and running.
                try await client.set("k", to: "before")
                #expect(try await poll(timeout: .seconds(10)) { events.all.contains(.subscribed) } != nil)
                #expect(try await client.publish("one", to: "invalidations") == 1)
                #expect(try await poll(timeout: .seconds(10)) { events.all.count == 2 } != nil)

                try await server.stop()
                // The subscriber says at once that it is no longer hearing anything.
                #expect(try await poll(timeout: .seconds(10)) { events.all.contains(.disconnected) } != nil)

                // Down: every command fails, quickly, with a clear error.
                let clock = ContinuousClock()
                for _ in 0..<5 {
                    let start = clock.now
                    await #expect(throws: RedisError.self) { try await client.get("k") }
                    #expect(clock.now - start < .seconds(6))  // fails fast rather than hanging (generous for loaded CI machines)
                }
                #expect(!events.all.contains(.reconnected))

                try await server.start()

                // Up again: the pool reconnects (data is gone: the server keeps nothing on disk).
                #expect(try await poll(timeout: .seconds(10)) { (try? await client.ping()) == "PONG" } != nil)
                #expect(try await client.get("k") == nil)

                // The subscriber subscribed again and says so, then receives new messages.
                #expect(try await poll(timeout: .seconds(10)) { events.all.contains(.reconnected) } != nil)
                #expect(try await client.publish("two", to: "invalidations") == 1)
                #expect(try await poll(timeout: .seconds(10)) { events.all.count == 5 } != nil)
                #expect(events.all == [
                    .subscribed,
                    .message(RedisPubSubMessage(channel: "invalidations", payload: ByteBuffer(string: "one"))),
                    .disconnected,
                    .reconnected,
                    .message(RedisPubSubMessage(channel: "invalidations", payload: ByteBuffer(string: "two"))),
                ])
                group.cancelAll()
            }
        }
    }
}
