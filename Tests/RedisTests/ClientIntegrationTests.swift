import Foundation
import NIOCore
import Testing
import TestSupport

@testable import Redis
@Suite("Client against redis-server", .enabled(if: TestServer.isEnabled, "set REDIS_URL (see scripts/redis.sh)"))
struct ClientIntegrationTests {
    @Test(arguments: [true, false])
    func typedCommandsRoundTrip(useRESP3: Bool) async throws {
        var configuration = try TestServer.configuration()
        configuration.useRESP3 = useRESP3
        let client = RedisClient(configuration: configuration)
        defer { Task { await client.close() } }
        let key = TestServer.uniqueKey("typed")

        // Binary-safe: CR, LF and zero bytes survive both ways, in keys and values.
        let binary: [UInt8] = [0, 13, 10, 36, 45, 49, 13, 10, 0, 255]
        let binaryKey = ByteBuffer(bytes: Array((key + ":bin\r\n\0").utf8))
        try await client.set(binaryKey, to: binary)
        #expect(try await client.get(binaryKey) == ByteBuffer(bytes: binary))
        #expect(try await client.get(key + ":missing") == nil)

        #expect(try await client.set(key + ":nx", to: "first", expiration: .seconds(10), condition: .ifNotExists))
        #expect(try await !client.set(key + ":nx", to: "second", condition: .ifNotExists))
        #expect(try await client.get(key + ":nx").map { String(buffer: $0) } == "first")
        let ttl = try await client.send(RedisCommand(["TTL", key + ":nx"])).int
        #expect(ttl.map { (1...10).contains($0) } == true)
        // Not whole seconds, so PX is used; long enough to survive a loaded CI machine.
        try await client.set(key + ":px", to: "x", expiration: .milliseconds(60_500))
        #expect(try await client.send(RedisCommand(["PTTL", key + ":px"])).int.map { (1...60_500).contains($0) } == true)
        #expect(try await !client.set(key + ":xx", to: "x", condition: .ifExists))

        #expect(try await client.mget([binaryKey, key + ":missing", key + ":nx"]) == [ByteBuffer(bytes: binary), nil, ByteBuffer(string: "first")])

        #expect(try await client.incr(key + ":n") == 1)
        #expect(try await client.incr(key + ":n") == 2)
        #expect(try await client.expire(key + ":n", seconds: 100))
        #expect(try await !client.expire(key + ":missing", seconds: 100))

        let hash = key + ":h"
        #expect(try await client.hset(hash, fields: ["a": "1", "b": ByteBuffer(bytes: binary)]) == 2)
        #expect(try await client.hget(hash, field: "a") == ByteBuffer(string: "1"))
        #expect(try await client.hget(hash, field: "zz") == nil)
        #expect(try await client.hmget(hash, fields: ["b", "zz", "a"]) == [ByteBuffer(bytes: binary), nil, ByteBuffer(string: "1")])
        #expect(try await client.hgetall(hash) == ["a": ByteBuffer(string: "1"), "b": ByteBuffer(bytes: binary)])
        #expect(try await client.hdel(hash, fields: ["a", "zz"]) == 1)
        #expect(try await client.hgetall(key + ":nohash") == [:])

        let script = "return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1}"
        let expected: RESPValue = .array([.bulkString(ByteBuffer(string: "k")), .bulkString(ByteBuffer(string: "v")), .integer(42)])
        #expect(try await client.eval(script, keys: ["k"], arguments: ["v", 41]) == expected)
        let sha = try await client.scriptLoad(script)
        #expect(sha.count == 40)
        #expect(try await client.evalsha(sha, keys: ["k"], arguments: ["v", 41]) == expected)
        await #expect(throws: RedisError.self) { try await client.evalsha(String(repeating: "0", count: 40)) }

        #expect(try await client.publish("nobody listens", to: key + ":channel") == 0)
        #expect(try await client.ping() == "PONG")
        #expect(try await client.del([binaryKey, key + ":nx", key + ":px", key + ":n", hash, key + ":missing"]) == 5)
    }

    @Test func serverErrorsAreThrownAndTheConnectionStaysUsable() async throws {
        let configuration = try TestServer.configuration()
        var single = configuration
        single.maximumConnections = 1
        let client = RedisClient(configuration: single)
        defer { Task { await client.close() } }
        let key = TestServer.uniqueKey("errors")

        try await client.set(key, to: "not a number")
        await #expect(throws: RedisError.server("ERR value is not an integer or out of range")) {
            try await client.incr(key)
        }
        await #expect(throws: RedisError.self) { try await client.send(RedisCommand(["NO-SUCH-COMMAND"])) }
        // The raw escape hatch.
        #expect(try await client.send(RedisCommand(["ECHO", "hi"])) == .bulkString(ByteBuffer(string: "hi")))
        #expect(try await client.del([key]) == 1)
        #expect(client.pool.connectionCount == 1)
    }

    @Test func pipelinesAThousandCommandsInOrder() async throws {
        let client = RedisClient(configuration: try TestServer.configuration())
        defer { Task { await client.close() } }
        let key = TestServer.uniqueKey("pipeline")

        let writes = (0..<1000).map { RedisCommand(["SET", "\(key):\($0)", "value-\($0)"]) }
        let written = try await client.pipeline(writes)
        #expect(written.count == 1000)
        #expect(written.allSatisfy { $0 == .simpleString("OK") })

        let reads = (0..<1000).map { RedisCommand(["GET", "\(key):\($0)"]) }
        let values = try await client.pipeline(reads)
        #expect(values.map(\.string) == (0..<1000).map { "value-\($0)" })

        // An error in the middle is thrown only after every reply was read.
        await #expect(throws: RedisError.self) {
            try await client.pipeline([RedisCommand(["INCR", "\(key):1"]), RedisCommand(["PING"])])
        }
        #expect(try await client.ping() == "PONG")
        #expect(try await client.del((0..<1000).map { "\(key):\($0)" }) == 1000)
    }

    @Test func fiftyConcurrentTasksShareOneClient() async throws {
        var configuration = try TestServer.configuration()
        configuration.maximumConnections = 8
        let client = RedisClient(configuration: configuration)
        defer { Task { await client.close() } }
        let key = TestServer.uniqueKey("concurrent")

        try await withThrowingTaskGroup(of: Void.self) { group throws in
            for task in 0..<50 {
                group.addTask {
                    for step in 0..<20 {
                        try await client.incr(key + ":counter")
                        let own = "\(key):\(task)"
                        try await client.set(own, to: "\(task)-\(step)")
                        #expect(try await client.get(own) == ByteBuffer(string: "\(task)-\(step)"))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await client.get(key + ":counter") == ByteBuffer(string: "1000"))
        #expect(client.pool.connectionCount <= 8)
        try await client.del([key + ":counter"] + (0..<50).map { "\(key):\($0)" })
    }

    @Test func poolNeverOpensMoreThanItsLimit() async throws {
        var configuration = try TestServer.configuration()
        let name = "pool-limit-\(UInt32.random(in: 0...UInt32.max))"
        configuration.clientName = name
        configuration.maximumConnections = 3
        let client = RedisClient(configuration: configuration)
        defer { Task { await client.close() } }
        let observer = RedisClient(configuration: try TestServer.configuration())
        defer { Task { await observer.close() } }

        let maximumSeen = Recorder<Int>()
        try await withThrowingTaskGroup(of: Void.self) { group throws in
            for _ in 0..<40 {
                group.addTask {
                    for _ in 0..<25 {
                        try await client.ping()
                        maximumSeen.append(client.pool.connectionCount)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(maximumSeen.all.max() == 3, "all three connections are used, never more")
        #expect(try await Self.connections(named: name, seenBy: observer).count == 3)
    }

    @Test func waitingForABusyPoolTimesOut() async throws {
        var configuration = try TestServer.configuration()
        let name = "busy-pool-\(UInt32.random(in: 0...UInt32.max))"
        configuration.clientName = name
        configuration.maximumConnections = 1
        configuration.connectionWaitTimeout = .milliseconds(200)
        let client = RedisClient(configuration: configuration)
        defer { Task { await client.close() } }
        let key = TestServer.uniqueKey("busy")

        try await withThrowingTaskGroup(of: Void.self) { group throws in
            group.addTask {
                // Holds the only connection for three seconds.
                _ = try await client.send(RedisCommand(["BLPOP", key, 3]))
            }
            try await Self.waitUntilBlocked(clientNamed: name)
            let clock = ContinuousClock()
            let start = clock.now
            await #expect(throws: RedisError.poolTimeout(.milliseconds(200))) { try await client.ping() }
            // Well under the 3 s hold, with room for a loaded CI machine: the pool gave up, it did not wait.
            #expect(clock.now - start < .milliseconds(2500))
            try await group.waitForAll()
        }
        #expect(try await client.ping() == "PONG")
    }

    @Test func aCommandThatBlocksTimesOutAndClosesItsConnection() async throws {
        var configuration = try TestServer.configuration()
        configuration.commandTimeout = .milliseconds(300)
        configuration.maximumConnections = 1
        let client = RedisClient(configuration: configuration)
        defer { Task { await client.close() } }

        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: RedisError.commandTimeout(command: "BLPOP", timeout: .milliseconds(300))) {
            try await client.send(RedisCommand(["BLPOP", TestServer.uniqueKey("never"), 0]))
        }
        let elapsed = clock.now - start
        // BLPOP 0 blocks forever: any finite bound shows the timeout fired (generous for loaded CI machines).
        #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(10))
        // The timed-out connection is replaced transparently.
        #expect(try await client.ping() == "PONG")
    }

    @Test func closingAConnectionFailsItsPendingCommands() async throws {
        var configuration = try TestServer.configuration()
        let name = "closing-\(UInt32.random(in: 0...UInt32.max))"
        configuration.clientName = name
        let connection = try await RedisConnection.connect(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group throws in
            group.addTask {
                await #expect(throws: RedisError.connectionClosed) {
                    try await connection.send(RedisCommand(["BLPOP", TestServer.uniqueKey("never"), 0]))
                }
            }
            try await Self.waitUntilBlocked(clientNamed: name)
            await connection.close()
            try await group.waitForAll()
        }
        #expect(connection.isClosed)
        await #expect(throws: RedisError.connectionClosed) { try await connection.send(RedisCommand(["PING"])) }
    }

    /// Waits until the server shows the connection named `name` blocked in BLPOP: the command is on the wire.
    static func waitUntilBlocked(clientNamed name: String) async throws {
        let observer = RedisClient(configuration: try TestServer.configuration())
        defer { Task { await observer.close() } }
        try await poll("\(name) is blocked in BLPOP", timeout: .seconds(10)) {
            try await connections(named: name, seenBy: observer).contains { $0.contains(" cmd=blpop") }
        }
    }

    /// The server's `CLIENT LIST` lines of the connections named `name`.
    static func connections(named name: String, seenBy observer: RedisClient) async throws -> [Substring] {
        let clients = try await observer.send(RedisCommand(["CLIENT", "LIST"])).string ?? ""
        return clients.split(separator: "\n").filter { $0.contains(" name=\(name) ") }
    }

    @Test func handshakeNamesSelectsAndAuthenticates() async throws {
        let base = try TestServer.configuration()
        let admin = RedisClient(configuration: base)
        defer { Task { await admin.close() } }
        let user = "redisclient-test-\(UInt32.random(in: 0...UInt32.max))"
        _ = try await admin.send(RedisCommand(["ACL", "SETUSER", user, "on", ">secret", "~*", "&*", "+@all"]))

        for useRESP3 in [true, false] {
            var configuration = base
            configuration.useRESP3 = useRESP3
            configuration.username = user
            configuration.password = "secret"
            configuration.clientName = "named-\(useRESP3)"
            configuration.database = 2
            let connection = try await RedisConnection.connect(configuration: configuration)
            #expect(connection.isRESP3 == useRESP3)
            let info = try await connection.send(RedisCommand(["CLIENT", "INFO"])).string ?? ""
            #expect(info.contains(" name=named-\(useRESP3) "))
            #expect(info.contains(" db=2 "))
            #expect(info.contains(" user=\(user) "))
            #expect(info.contains(" resp=\(useRESP3 ? 3 : 2)"))
            await connection.close()

            configuration.password = "wrong"
            await #expect(throws: RedisError.self) { try await RedisConnection.connect(configuration: configuration) }
        }
        _ = try await admin.send(RedisCommand(["ACL", "DELUSER", user]))
    }
}
