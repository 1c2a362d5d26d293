import Hummingbird
import HummingbirdTesting
import MercatoCore
import MercatoHTTP
import MercatoHTTPBoundary
import MercatoStorage
import NIOCore
import NIOPosix
import Testing
import TestSupport

/// Slow and idle clients cannot hold the server: incomplete heads and idle keep-alive connections are
/// closed after the idle timeout, trickled bodies after the body timeout, and connections beyond the limit
/// are answered 503. Timeouts here are short and every wait is for an event (a close, a count), bounded
/// far above the timeout, so a server that never closes fails rather than hangs.
@Suite("Slow and idle clients")
struct SlowClientTests {
    static func serve(_ limits: ConnectionLimits, _ body: @Sendable @escaping (Int, AppDependencies) async throws -> Void) async throws {
        try await Harness.withDatabase(.sqlite) { database in
            _ = try await Harness.seed(database, products: 5)
            let deps = try await Harness.dependencies(
                database: database, options: HTTPOptions(maxBodyBytes: 64 * 1024, connectionLimits: limits))
            let contract = ContractLog()
            defer { contract.recordIssues() }
            let app = try Harness.application(deps, contract: contract)
            try await app.test(.live) { client in try await body(try #require(client.port), deps) }
        }
    }

    /// Sends `pieces` one by one, `pause` apart, until the server closes; returns how many were sent
    /// before the close was seen, and whatever the server answered.
    static func trickle(port: Int, first: String, pieces: [String], pause: Duration) async throws -> (sent: Int, answer: String) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: first))
            return try await withThrowingTaskGroup(of: (Int, String)?.self) { group in
                group.addTask {
                    var answer = ByteBuffer()
                    do { for try await var chunk in inbound { answer.writeBuffer(&chunk) } } catch {}
                    return (-1, String(buffer: answer))  // the server closed
                }
                group.addTask {
                    for (index, piece) in pieces.enumerated() {
                        try await Task.sleep(for: pause)
                        do { try await outbound.write(ByteBuffer(string: piece)) } catch { return (index, "") }
                    }
                    return nil  // every piece went out: the server never closed
                }
                var sent = pieces.count
                var answer = ""
                // The first to finish decides: a close before the last piece, or all pieces sent.
                if let first = try await group.next() {
                    if let (index, text) = first {
                        if index >= 0 { sent = index } else { answer = text; sent = -1 }
                    }
                }
                group.cancelAll()
                return (sent, answer)
            }
        }
    }

    @Test func aClientTricklingItsHeadersIsCutOffWhileOthersAreServed() async throws {
        try await Self.serve(ConnectionLimits(idleTimeout: .milliseconds(400), bodyTimeout: .seconds(30), maxConnections: 64)) { port, _ in
            async let slow = Self.trickle(
                port: port, first: "GET /health HTTP/1.1\r\nHost: slow\r\n",
                pieces: (0..<100).map { "X-Slow-\($0): 1\r\n" }, pause: .milliseconds(100))
            // While it trickles, everyone else is answered.
            for _ in 0..<20 {
                let answer = try await RawHTTP.exchange(port: port, Array("GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8))
                #expect(answer.hasPrefix("HTTP/1.1 200"))
            }
            let (sent, _) = try await slow
            #expect(sent < 100, "the server closed the connection before the head was complete (\(sent) of 100 header lines)")
        }
    }

    @Test func idleKeepAliveConnectionsAreReaped() async throws {
        try await Self.serve(ConnectionLimits(idleTimeout: .milliseconds(300), bodyTimeout: .seconds(30), maxConnections: 64)) { port, deps in
            // One request on a keep-alive connection, then nothing: the server closes it (`exchange` reads until the close).
            let answer = try await RawHTTP.exchange(port: port, Array("GET /health HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
            #expect(answer.hasPrefix("HTTP/1.1 200"))
            #expect(!answer.lowercased().contains("connection: close"), "the server kept the connection open until it was idle")
            try await Self.waitUntil { deps.connections.count == 0 }
        }
    }

    @Test func aTrickledBodyIsCutOff() async throws {
        try await Self.serve(ConnectionLimits(idleTimeout: .seconds(30), bodyTimeout: .milliseconds(400), maxConnections: 64)) { port, _ in
            let head = "POST /v1/admin/products HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer mk_x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            let (sent, _) = try await Self.trickle(port: port, first: head, pieces: Array(repeating: " ", count: 99), pause: .milliseconds(100))
            #expect(sent < 99, "the server closed the connection before the body was complete (\(sent) of 99 bytes)")
        }
    }

    @Test func connectionsBeyondTheLimitAreAnswered503() async throws {
        try await Self.serve(ConnectionLimits(idleTimeout: .seconds(30), bodyTimeout: .seconds(30), maxConnections: 2)) { port, deps in
            func open() async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
                try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
            }
            let first = try await open()
            let second = try await open()
            try await Self.waitUntil { deps.connections.count == 2 }
            let refused = try await RawHTTP.exchange(port: port, Array("GET /health HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
            let (head, body) = RawHTTP.split(refused)
            #expect(head.hasPrefix("HTTP/1.1 503"))
            #expect(head.lowercased().contains("retry-after: 1"))
            #expect(body.contains("too-many-connections"))
            try await first.executeThenClose { _, _ in }
            try await Self.waitUntil { deps.connections.count == 1 }
            let admitted = try await RawHTTP.exchange(port: port, Array("GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8))
            #expect(admitted.hasPrefix("HTTP/1.1 200"))
            try await second.executeThenClose { _, _ in }
        }
    }

    /// Waits for a condition the server reaches on its own, failing after 10 s (`timeUntil`).
    static func waitUntil(_ condition: @Sendable () -> Bool) async throws {
        try #require(try await poll(timeout: .seconds(10)) { condition() } != nil, "the condition was not reached within 10 s")
    }
}
