import Foundation
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Why a test-owned redis-server could not be started or stopped.
public struct OwnedRedisError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A redis-server owned by one test, started and stopped with scripts/redis.sh, so the test can
/// kill and restart it.
public struct OwnedRedisServer: Sendable {
    public let port: Int
    public let directory: String

    /// Starts a new server on a free loopback port.
    public static func start() throws -> OwnedRedisServer {
        // The port is only known to be free when it is probed; another process can take it before
        // redis-server binds it, so a failed start tries another port.
        var lastError: (any Error)?
        for _ in 0..<5 {
            let server = OwnedRedisServer(port: try Self.freeLoopbackPort(), directory: NSTemporaryDirectory() + "redisclient-\(UUID().uuidString)")
            do {
                try server.start()
                return server
            } catch {
                lastError = error
                try? FileManager.default.removeItem(atPath: server.directory)
            }
        }
        throw lastError ?? OwnedRedisError("could not start redis-server")
    }

    public var url: String { "redis://127.0.0.1:\(self.port)" }

    /// Starts (or restarts) the server.
    public func start() throws {
        let output = try Self.runScript(["start", String(self.port), self.directory])
        guard output.split(separator: "\n").last.map(String.init) == self.url else { throw OwnedRedisError("scripts/redis.sh did not report \(self.url): \(output)") }
    }

    /// Stops the server (the test's way of simulating an outage).
    public func stop() throws {
        _ = try Self.runScript(["stop", self.directory])
    }

    /// Stops the server and deletes its directory.
    public func destroy() {
        try? self.stop()
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    /// Runs scripts/redis.sh with posix_spawn and waitpid.
    ///
    /// Not Foundation's Process: it hands its blocked signal mask (SIGTERM included) down to the
    /// daemonized server, and its exit monitoring can miss the child under the test runner.
    /// Output goes to a file, not a pipe, since the daemon would inherit the pipe's write end.
    private static func runScript(_ arguments: [String]) throws -> String {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/redis.sh").path
        let outputPath = NSTemporaryDirectory() + "redis-sh-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }

        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = (["/bin/bash", script] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, "/bin/bash", &fileActions, &attributes, argv, environ)
        guard spawned == 0 else { throw OwnedRedisError("could not run scripts/redis.sh: errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7f == 0 && (status >> 8) & 0xff == 0 else { throw OwnedRedisError("scripts/redis.sh \(arguments.joined(separator: " ")) failed") }
        return try String(contentsOfFile: outputPath, encoding: .utf8)
    }

    /// Lets the kernel pick a free port on 127.0.0.1, then releases it for redis-server.
    private static func freeLoopbackPort() throws -> Int {
        // Below the kernel's ephemeral range (32768+): while the server is stopped, outgoing
        // connections of the test process must not be able to take its port, or restarting fails.
        for _ in 0..<100 {
            let port = Int.random(in: 20_000..<32_000)
            if let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: port).wait() {
                try? channel.close().wait()
                return port
            }
        }
        throw OwnedRedisError("no free loopback port between 20000 and 32000")
    }
}

