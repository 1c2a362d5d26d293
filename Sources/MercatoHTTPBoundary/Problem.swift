import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MercatoCore
import MercatoJSON
import NIOCore

/// An RFC 9457 problem detail, rendered as `application/problem+json`.
public struct Problem: Error, Sendable {
    public var status: HTTPResponse.Status
    public var type: String
    public var title: String
    public var detail: String
    public var extraHeaders: HTTPFields = [:]
    /// RFC 9457 extension members, each a key and its value as raw JSON.
    public var members: [(key: String, json: [UInt8])] = []

    public init(status: HTTPResponse.Status, type: String, title: String, detail: String) {
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
    }

    /// The problem for any error: domain errors keep their meaning, unknown errors become an opaque 500.
    public static func from(_ error: any Error) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let convertible as any ProblemConvertible:
            return convertible.problem
        case let error as MercatoError:
            switch error {
            case .notFound(let detail): return Problem(status: .notFound, type: "not-found", title: "Not found", detail: detail)
            case .validation(_, let message):
                // One title for every validation problem: clients branch on `type`, people read `detail`.
                return Problem(status: .unprocessableContent, type: "validation", title: "Validation failed", detail: message)
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

    public static func slug(_ text: String) -> String {
        text.lowercased().replacingOccurrences(of: " ", with: "-")
    }

    /// The problem as an `application/problem+json` response.
    public func response() -> Response {
        var headers = extraHeaders
        headers[.contentType] = "application/problem+json"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: json)))
    }

    /// The problem's JSON body.
    public var json: [UInt8] {
        ProblemJSON.body(type: type, title: title, status: Int(status.code), detail: detail, members: members)
    }
}

/// A domain error that knows its HTTP problem (modules above the edge conform their errors).
public protocol ProblemConvertible: Error {
    var problem: Problem { get }
}

/// An error on its way to `ProblemMiddleware` with headers its answer must carry (a middleware inside the
/// boundary adds what it knows, e.g. the calls a failed checkout step made), so errors still become problems
/// in one place only.
public struct AnnotatedError: ProblemConvertible, CustomDebugStringConvertible {
    public let error: any Error
    public let headers: HTTPFields

    public init(_ error: any Error, headers: HTTPFields) {
        self.error = error
        self.headers = headers
    }

    public var problem: Problem {
        var problem = Problem.from(error)
        for field in headers { problem.extraHeaders[field.name] = field.value }
        return problem
    }

    public var debugDescription: String { String(reflecting: error) }
}

/// The error boundary: turns every thrown error into a problem response, and logs the unexpected ones once
/// with detail. Every router has it, and nothing else converts errors.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let problem = Problem.from(error)
            if problem.status == .internalServerError {
                context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            } else if problem.status == .serviceUnavailable {
                context.logger.warning("request failed: a dependency is unavailable", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            }
            return problem.response()
        }
    }
}

