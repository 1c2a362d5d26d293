import AsyncHTTPClient
import Foundation
import Logging
import MercatoCore
import MercatoTelemetry
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Why a call to another service did not give an answer we can use.
public enum DependencyError: Error, Sendable, Equatable {
    /// The service could not be reached, timed out or answered 5xx, after the allowed retries.
    case unavailable(service: String, detail: String)
    /// The service refused our request (4xx we did not expect): a bug on one side, not the buyer's.
    case rejected(service: String, status: Int, detail: String)
}

/// A response from another service: status, problem type (for problem+json) and body bytes.
struct ServiceResponse: Sendable {
    var status: Int
    var body: Data
    /// The problem's `type` without the `https://mercato.dev/problems/` prefix, when the body is a problem.
    var problemType: String?
    var problemDetail: String?
}

/// How calls to one service behave: a per-attempt timeout and bounded retries.
public struct CallPolicy: Sendable, Equatable {
    /// Longest one attempt may take.
    public var timeout: Duration
    /// Extra attempts after a transport failure (not a timeout) or 502/503/504; used only for idempotent calls.
    public var retries: Int
    /// Pause before a retry.
    public var backoff: Duration

    public init(timeout: Duration = .seconds(2), retries: Int = 1, backoff: Duration = .milliseconds(50)) {
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
    }
}

/// JSON over HTTP/1.1 to one internal service (inventory or tax), with keep-alive connections.
///
/// Runs as a Service so its connections close cleanly when the server shuts down.
public final class ServiceHTTPClient: Service, Sendable {
    let name: String
    let baseURL: String
    let client: HTTPClient
    let policy: CallPolicy

    /// `maximumConnections`: keep-alive connections to the service (concurrent calls beyond it queue).
    public init(name: String, baseURL: String, policy: CallPolicy, maximumConnections: Int = 64) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.policy = policy
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maximumConnections)
        configuration.timeout = .init(connect: .seconds(1))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }

    /// Sends one call; transport failures and 502/503/504 are retried up to the policy's limit
    /// (callers only send idempotent calls), other statuses are returned to the caller.
    func send(_ method: HTTPMethod, _ path: String, body: Data?) async throws(DependencyError) -> ServiceResponse {
        var attempt = 0
        while true {
            do {
                let response = try await once(method, path, body: body)
                if [502, 503, 504].contains(response.status), attempt < policy.retries {
                    attempt += 1
                    try? await Task.sleep(for: policy.backoff)
                    continue
                }
                if response.status >= 500 {
                    throw DependencyError.unavailable(service: name, detail: "\(name) service answered \(response.status): \(response.problemDetail ?? "no detail")")
                }
                return response
            } catch let error as DependencyError {
                throw error
            } catch {
                // A timed-out attempt has used the whole budget: a retry would double the buyer's wait for a
                // service that is slow, not gone (measured by the fault suite: a 503 after 8 s with a 2 s timeout).
                let timedOut = (error as? HTTPClientError) == .deadlineExceeded
                if attempt < policy.retries, !timedOut, !Task.isCancelled {
                    attempt += 1
                    try? await Task.sleep(for: policy.backoff)
                    continue
                }
                throw DependencyError.unavailable(service: name, detail: "\(name) service did not answer: \(Self.describe(error))")
            }
        }
    }

    private func once(_ method: HTTPMethod, _ path: String, body: Data?) async throws -> ServiceResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        // The service continues this request's trace (its log lines carry the same trace id).
        // With an OpenTelemetry tracer, AsyncHTTPClient injects the client span's context itself.
        if let trace = RequestTrace.current, !trace.fromTracer { request.headers.add(name: "traceparent", value: trace.traceparent) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        let (seconds, attoseconds) = policy.timeout.components
        let response = try await client.execute(request, timeout: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        let data = Data(buffer: bytes)
        var problemType: String?
        var problemDetail: String?
        if response.headers.first(name: "Content-Type")?.hasPrefix("application/problem+json") == true,
           let problem = try? JSONDecoder().decode(ProblemBody.self, from: data)
        {
            problemType = problem.type.components(separatedBy: "/").last
            problemDetail = problem.detail
        }
        return ServiceResponse(status: Int(response.status.code), body: data, problemType: problemType, problemDetail: problemDetail)
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded { return "timed out" }
            if error == .connectTimeout { return "connect timed out" }
        }
        return String(describing: error)
    }

    struct ProblemBody: Decodable {
        var type: String
        var detail: String?
    }
}
