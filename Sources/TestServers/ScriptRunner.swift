import Foundation
import NIOCore
import NIOPosix
import Spawn

/// Why a test-owned server could not be started or stopped.
public struct TestServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Runs the repository's `scripts/*.sh` for tests that own servers.
enum ScriptRunner {
    /// Runs `scripts/<name>` with `arguments` and returns its stdout (`RepositoryScript`).
    static func run(_ name: String, _ arguments: [String]) async throws -> String {
        try await RepositoryScript.run(name, arguments)
    }

    /// Starts a server with `start` on a free loopback port. A port is only known to be free when it is
    /// probed, and another process can take it before the server binds it, so a failed start tries another.
    static func onFreePort<Server>(attempts: Int, _ start: (Int) async throws -> Server) async throws -> Server {
        var lastError: (any Error)?
        for _ in 0..<attempts {
            do {
                return try await start(try freeLoopbackPort())
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestServerError("no server started in \(attempts) attempts")
    }

    /// A free port on 127.0.0.1, probed by binding it and released for the server.
    ///
    /// Below the kernel's ephemeral range (32768+): while a server is stopped, outgoing connections of the
    /// test process must not be able to take its port, or restarting it fails.
    static func freeLoopbackPort() throws -> Int {
        for _ in 0..<100 {
            let port = Int.random(in: 20_000..<32_000)
            if let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: port).wait() {
                try? channel.close().wait()
                return port
            }
        }
        throw TestServerError("no free loopback port between 20000 and 32000")
    }
}
