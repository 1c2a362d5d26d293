import Foundation
import Spawn

/// A Varnish edge started for a run with the repository's `scripts/varnish.sh` (and `deploy/varnish/mercato.vcl`),
/// on a loopback port chosen before the server starts, so the server can be told where to purge.
public struct StartedEdge: Sendable {
    public let port: Int
    public let directory: URL

    public var url: String { "http://127.0.0.1:\(port)" }

    /// A port on 127.0.0.1 that was free a moment ago (the kernel's choice for port 0).
    public static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError.target("no socket for a free port: errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard bound == 0 else { throw BenchError.target("could not bind a free port: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        guard named == 0 else { throw BenchError.target("could not read the free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts varnishd on `port` in front of `backend` (`http://host:port`), its work folder under `directory`.
    public static func start(port: Int, backend: String, directory: URL) async throws -> StartedEdge {
        let edge = StartedEdge(port: port, directory: directory.appendingPathComponent("varnish-\(port)"))
        let hostPort = backend.replacingOccurrences(of: "http://", with: "").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        _ = try await RepositoryScript.run("varnish.sh", ["start", String(port), edge.directory.path, hostPort])
        return edge
    }

    public func stop() async {
        _ = try? await RepositoryScript.run("varnish.sh", ["stop", directory.path])
    }
}
