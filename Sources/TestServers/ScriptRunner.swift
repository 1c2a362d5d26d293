import Foundation
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Why a test-owned server could not be started or stopped.
public struct TestServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Runs the repository's `scripts/*.sh` for tests that own servers.
enum ScriptRunner {
    /// Runs `scripts/<name>` with `arguments` (posix_spawn) and returns its stdout.
    ///
    /// Not Foundation's Process: it hands its blocked signal mask (SIGTERM, SIGINT, SIGQUIT included) down
    /// to daemonized servers, which then ignore the very signals that stop them, and its exit monitoring
    /// can miss the child under the test runner. Output goes to a file, not a pipe, since a daemon would
    /// inherit the pipe's write end and the reader would never see end-of-file. The exit is polled
    /// (`WNOHANG`) rather than waited for, so a script that takes seconds holds no thread: neither one of the
    /// few cooperative threads the concurrent tests share, nor NIO's blocking pool, which resolves host names.
    static func run(_ name: String, _ arguments: [String]) async throws -> String {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/\(name)").path
        let outputPath = NSTemporaryDirectory() + "\(name)-\(UUID().uuidString).out"
        let errorPath = outputPath + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: outputPath)
            try? FileManager.default.removeItem(atPath: errorPath)
        }
        let pid = try spawn(script: script, arguments: arguments, stdout: outputPath, stderr: errorPath)
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result == -1 && errno != EINTR { throw TestServerError("waitpid for scripts/\(name) failed: errno \(errno)") }
            // Not cancellable: the script must finish, or a half-started server would outlive the test.
            try? await Task.sleep(for: .milliseconds(20))
        }
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7f == 0 && (status >> 8) & 0xff == 0 else {
            let stderr = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            throw TestServerError("scripts/\(name) \(arguments.joined(separator: " ")) failed:\n\(stderr.suffix(2000))")
        }
        return try String(contentsOfFile: outputPath, encoding: .utf8)
    }

    /// Starts `bash script arguments` with default signal handling, stdin from /dev/null and output to files.
    private static func spawn(script: String, arguments: [String], stdout: String, stderr: String) throws -> pid_t {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&fileActions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

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
        guard spawned == 0 else { throw TestServerError("could not run \(script): errno \(spawned)") }
        return pid
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
