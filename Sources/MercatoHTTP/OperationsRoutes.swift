import HTTPTypes
import Hummingbird
import MercatoCore
import MercatoHTTPBoundary
import MercatoStorage
import MercatoSQL
import NIOCore

/// `/health` (process is up), `/ready` (database answers) and `/metrics` (Prometheus).
struct OperationsRoutes {
    let database: any DatabaseClient
    let metrics: ServerMetrics
    /// Required as a bearer token by `/metrics` when set.
    let metricsToken: String?
    static let ok = ByteBuffer(string: "{\"status\":\"ok\"}")

    func register(on router: Router<BasicRequestContext>) {
        router.get("/health") { _, _ in
            JSONBytes.response(Self.ok)
        }
        router.get("/ready") { _, _ in
            do {
                _ = try await database.query("SELECT 1")
            } catch {
                var problem = Problem(status: .serviceUnavailable, type: "not-ready", title: "Not ready", detail: "the database does not answer")
                problem.extraHeaders[.retryAfter] = "5"
                throw problem
            }
            return JSONBytes.response(Self.ok)
        }
        router.get("/metrics") { request, _ in
            if let metricsToken {
                guard let sent = BearerToken.parse(request.headers[.authorization]), Secrets.same(sent, metricsToken) else { throw MercatoError.unauthorized("/metrics needs 'Authorization: Bearer <MERCATO_METRICS_TOKEN>'") }
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: await metrics.exposition())))
        }
    }
}
