import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One answer as the benchmark sees it.
struct Answer: Sendable {
    var status: Int
    var body: Data
    var counters: ServerCounters
    var etag: String? = nil

    var object: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
}

/// HTTP/1.1 keep-alive client for load: a pool of `connections` to one target.
final class BenchClient: Sendable {
    let base: String
    let client: HTTPClient

    init(base: String, connections: Int) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections))
        configuration.timeout = .init(connect: .seconds(2))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    /// Sends a request; a transport failure is status 0.
    func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], json: String? = nil) async -> Answer {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 8 << 20)
            let headers = response.headers
            let counters = ServerCounters(
                statements: headers.first(name: "X-Mercato-Statements").flatMap(Int.init),
                cache: headers.first(name: "X-Mercato-Cache"),
                inventoryCalls: headers.first(name: "X-Mercato-Inventory-Calls").flatMap(Int.init),
                taxCalls: headers.first(name: "X-Mercato-Tax-Calls").flatMap(Int.init),
                edge: headers.first(name: "X-Edge"))
            return Answer(status: Int(response.status.code), body: Data(body.readableBytesView), counters: counters, etag: headers.first(name: "ETag"))
        } catch {
            return Answer(status: 0, body: Data(), counters: ServerCounters())
        }
    }
}

extension HTTPMethodName {
    var nio: HTTPMethod {
        switch self {
        case .GET: .GET
        case .POST: .POST
        case .PUT: .PUT
        case .PATCH: .PATCH
        case .DELETE: .DELETE
        }
    }
}
