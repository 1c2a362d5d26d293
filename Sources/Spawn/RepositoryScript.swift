import Foundation

/// The repository's `scripts/*.sh`, run for the servers that tests and benchmarks own (redis, PostgreSQL
/// replicas, Varnish), found next to the sources this binary was built from.
public enum RepositoryScript {
    /// A script that exited with a failure: its command line and the end of its stderr.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `scripts/<name>` with `arguments` and returns its stdout.
    ///
    /// Through `ChildProcess`, not Foundation's Process, whose blocked signal mask would reach the servers
    /// the scripts daemonize (they would then ignore the signals that stop them). The exit is polled, so a
    /// script that takes seconds holds no thread: neither one of the few cooperative threads concurrent
    /// tests share, nor NIO's blocking pool, which resolves host names.
    public static func run(_ name: String, _ arguments: [String]) async throws -> String {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/\(name)").path
        let outputPath = NSTemporaryDirectory() + "\(name)-\(UUID().uuidString).out"
        let errorPath = outputPath + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: outputPath)
            try? FileManager.default.removeItem(atPath: errorPath)
        }
        let child = try ChildProcess.spawn(executable: "/bin/bash", arguments: [script] + arguments, stdout: outputPath, stderr: errorPath)
        guard try await child.exit().succeeded else {
            let stderr = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            throw Failure(description: "scripts/\(name) \(arguments.joined(separator: " ")) failed:\n\(stderr.suffix(2000))")
        }
        return try String(contentsOfFile: outputPath, encoding: .utf8)
    }
}
