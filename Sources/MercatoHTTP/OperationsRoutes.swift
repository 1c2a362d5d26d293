import HTTPTypes
import Hummingbird
import MercatoStorage
import NIOCore

/// `/health` (process is up) and `/ready` (database answers).
struct OperationsRoutes {
    let database: any SQLDatabase
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
    }
}

/// JSON responses from pre-rendered bytes.
enum JSONBytes {
    static func response(_ buffer: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: buffer))
    }

    static func response(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        response(ByteBuffer(bytes: bytes), status: status, headers: headers)
    }
}
