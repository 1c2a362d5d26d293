import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MercatoCore
import MercatoStorage
import NIOCore

/// An RFC 9457 problem detail, rendered as `application/problem+json`.
public struct Problem: Error, Sendable {
    public var status: HTTPResponse.Status
    public var type: String
    public var title: String
    public var detail: String
    public var extraHeaders: HTTPFields = [:]

    public init(status: HTTPResponse.Status, type: String, title: String, detail: String) {
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
    }

    /// The problem for any error: domain errors keep their meaning, unknown errors become an opaque 500.
    static func from(_ error: any Error) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let error as MercatoError:
            switch error {
            case .notFound(let detail): return Problem(status: .notFound, type: "not-found", title: "Not found", detail: detail)
            case .validation(let field, let message):
                var problem = Problem(status: .unprocessableContent, type: "validation", title: "Invalid field '\(field)'", detail: message)
                problem.title = "Validation failed"
                problem.detail = message
                return problem
            case .badRequest(let detail): return Problem(status: .badRequest, type: "bad-request", title: "Bad request", detail: detail)
            case .conflict(let detail): return Problem(status: .conflict, type: "conflict", title: "Conflict", detail: detail)
            case .unauthorized(let detail):
                var problem = Problem(status: .unauthorized, type: "unauthorized", title: "Unauthorized", detail: detail)
                problem.extraHeaders[.wwwAuthenticate] = "Bearer"
                return problem
            }
        case let error as HTTPError:
            let detail: String = switch error.status {
            case .notFound: "no route matches this path"
            case .contentTooLarge: "the request body is larger than the limit"
            case .methodNotAllowed: "this method is not allowed on this path"
            default: error.body ?? error.status.reasonPhrase
            }
            return Problem(status: error.status, type: slug(error.status.reasonPhrase), title: error.status.reasonPhrase, detail: detail)
        case let error as any HTTPResponseError:
            return Problem(status: error.status, type: slug(error.status.reasonPhrase), title: error.status.reasonPhrase, detail: error.status.reasonPhrase)
        default:
            return Problem(status: .internalServerError, type: "internal", title: "Internal server error", detail: "an unexpected error occurred; it has been logged")
        }
    }

    static func slug(_ text: String) -> String {
        text.lowercased().replacingOccurrences(of: " ", with: "-")
    }

    func response() -> Response {
        var json = JSONWriter(capacity: 256)
        json.raw("{"); json.key("type"); json.string("https://mercato.dev/problems/\(type)")
        json.raw(","); json.key("title"); json.string(title)
        json.raw(","); json.key("status"); json.int(Int64(status.code))
        json.raw(","); json.key("detail"); json.string(detail)
        json.raw("}")
        var headers = extraHeaders
        headers[.contentType] = "application/problem+json"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: json.bytes)))
    }
}

/// Turns every thrown error into a problem response; logs the unexpected ones once with detail.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let problem = Problem.from(error)
            if problem.status == .internalServerError {
                context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            }
            return problem.response()
        }
    }
}

/// Counts SQL statements per request (task local) and reports them in `X-Mercato-Statements`.
struct StatementCountMiddleware<Context: RequestContext>: RouterMiddleware {
    let exposeHeader: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let counter = StatementCounter()
        var response = try await StatementCounter.$current.withValue(counter) {
            try await next(request, context)
        }
        if exposeHeader {
            response.headers[.mercatoStatements] = String(counter.value)
        }
        return response
    }
}

extension HTTPField.Name {
    /// Number of SQL statements the request ran (non-production only).
    public static let mercatoStatements = HTTPField.Name("X-Mercato-Statements")!
    /// Storefront token carrying a customer group.
    public static let storefrontToken = HTTPField.Name("X-Storefront-Token")!
    /// Market (country) override for storefront reads.
    public static let market = HTTPField.Name("X-Market")!
    /// Which cache tier answered (non-production only).
    public static let mercatoCache = HTTPField.Name("X-Mercato-Cache")!
    /// Edge purge keys (Fastly-style) …
    public static let surrogateKey = HTTPField.Name("Surrogate-Key")!
    /// … and the same for Varnish's xkey module.
    public static let xkey = HTTPField.Name("xkey")!
}
