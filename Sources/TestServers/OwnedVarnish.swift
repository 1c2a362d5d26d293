import Foundation

/// A varnishd owned by one test, in front of one backend, with the repository's VCL
/// (`deploy/varnish/mercato.vcl`), started and stopped with scripts/varnish.sh so the test can stop and
/// restart it.
public struct OwnedVarnish: Sendable {
    public let port: Int
    public let directory: String
    /// The backend's `host:port`.
    public let backend: String

    /// Whether varnishd and varnishtest are installed (`.ci/run` installs them).
    public static var isInstalled: Bool {
        ["/usr/sbin/varnishd", "/usr/bin/varnishd"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A free loopback port for an edge that is started later (the app must know where to purge before it runs).
    public static func freePort() throws -> Int {
        try ScriptRunner.freeLoopbackPort()
    }

    /// An edge on `port` (see `freePort`) in front of `backend` (`host:port`); not started yet.
    public init(port: Int, backend: String) {
        self.port = port
        self.backend = backend
        self.directory = NSTemporaryDirectory() + "varnish-\(UUID().uuidString)"
    }

    public var url: String { "http://127.0.0.1:\(self.port)" }

    /// Starts (or restarts, with an empty cache) the edge.
    public func start() async throws {
        let output = try await ScriptRunner.run("varnish.sh", ["start", String(self.port), self.directory, self.backend])
        guard output.split(separator: "\n").last.map(String.init) == self.url else {
            throw TestServerError("scripts/varnish.sh did not report \(self.url): \(output)")
        }
    }

    /// Stops the edge (the test's way of simulating an outage).
    public func stop() async throws {
        _ = try await ScriptRunner.run("varnish.sh", ["stop", self.directory])
    }

    /// Stops the edge and deletes its directory.
    public func destroy() async {
        try? await self.stop()
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}
