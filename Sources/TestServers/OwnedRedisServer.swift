import Foundation

/// A redis-server owned by one test, started and stopped with scripts/redis.sh, so the test can
/// kill and restart it.
public struct OwnedRedisServer: Sendable {
    public let port: Int
    public let directory: String

    /// Runs `body` with a new server, then stops it and deletes its directory.
    public static func with<T: Sendable>(_ body: (OwnedRedisServer) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let result = try await body(server)
            await server.destroy()
            return result
        } catch {
            await server.destroy()
            throw error
        }
    }

    /// Starts a new server on a free loopback port.
    public static func start() async throws -> OwnedRedisServer {
        try await ScriptRunner.onFreePort(attempts: 5) { port in
            let server = OwnedRedisServer(port: port, directory: NSTemporaryDirectory() + "redisclient-\(UUID().uuidString)")
            do {
                try await server.start()
                return server
            } catch {
                try? FileManager.default.removeItem(atPath: server.directory)
                throw error
            }
        }
    }

    public var url: String { "redis://127.0.0.1:\(self.port)" }

    /// Starts (or restarts) the server.
    public func start() async throws {
        let output = try await ScriptRunner.run("redis.sh", ["start", String(self.port), self.directory])
        guard output.split(separator: "\n").last.map(String.init) == self.url else { throw TestServerError("scripts/redis.sh did not report \(self.url): \(output)") }
    }

    /// Stops the server (the test's way of simulating an outage).
    public func stop() async throws {
        _ = try await ScriptRunner.run("redis.sh", ["stop", self.directory])
    }

    /// Stops the server and deletes its directory.
    public func destroy() async {
        try? await self.stop()
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}
