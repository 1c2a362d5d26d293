import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Why an edge did not acknowledge a purge.
public enum PurgeError: Error, Sendable, Equatable {
    /// No answer within the timeout, or no connection.
    case unreachable(node: String, detail: String)
    /// The edge answered, but not 200 (403: this address is not in the VCL's `purgers` ACL).
    case refused(node: String, status: Int)
}

/// Sends one purge to one edge and returns once it is acknowledged.
public protocol PurgeTransport: Sendable {
    func send(_ purge: Purge, to node: EdgeNode, timeout: Duration) async throws(PurgeError)
    /// Closes connections; sends after it fail.
    func shutdown() async
}

/// `PURGE / HTTP/1.1` with `xkey-purge` (hard) and `xkey-softpurge` (soft) headers, as `deploy/varnish/mercato.vcl`
/// accepts them, over keep-alive connections.
public final class HTTPPurgeTransport: PurgeTransport {
    let client: HTTPClient

    public init() {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        configuration.timeout = .init(connect: .milliseconds(500))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func send(_ purge: Purge, to node: EdgeNode, timeout: Duration) async throws(PurgeError) {
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        for (hard, soft) in purge.requests() {
            var request = HTTPClientRequest(url: node.description + "/")
            request.method = .RAW(value: "PURGE")
            if !hard.isEmpty { request.headers.add(name: "xkey-purge", value: hard) }
            if !soft.isEmpty { request.headers.add(name: "xkey-softpurge", value: soft) }
            let status: UInt
            do {
                let response = try await client.execute(request, deadline: deadline)
                status = response.status.code
                _ = try await response.body.collect(upTo: 64 * 1024)
            } catch {
                throw .unreachable(node: node.description, detail: String(describing: error))
            }
            guard status == 200 else { throw .refused(node: node.description, status: Int(status)) }
        }
    }

    public func shutdown() async {
        try? await client.shutdown()
    }
}
