import HTTPTypes
import Hummingbird
import Synchronization

/// The methods each route template of a router answers, for `RouteMethodsMiddleware`.
///
/// Filled once all routes are registered (`record(_:)`): middleware has to be added to a Hummingbird
/// router before the routes it wraps, but only the finished router knows its routes.
public final class RouteMethods: Sendable {
    /// A route template split into segments; nil marks a capture.
    struct Template: Sendable {
        var segments: [String?]
        var methods: Set<HTTPRequest.Method>
    }

    private let templates = Mutex<[Template]>([])

    public init() {}

    /// Records every route of `router`.
    public func record<Context>(_ router: Router<Context>) {
        var byPath: [String: Set<HTTPRequest.Method>] = [:]
        for route in router.routes { byPath[route.path.description, default: []].insert(route.method) }
        let built = byPath.map { path, methods in
            // Captures are written `{id}` (or `:id`).
            Template(segments: path.split(separator: "/").map { $0.hasPrefix("{") || $0.hasPrefix(":") ? nil : String($0) }, methods: methods)
        }
        templates.withLock { $0 = built }
    }

    /// The methods routes matching `path` answer (empty: no route has this path).
    public func methods(for path: String) -> Set<HTTPRequest.Method> {
        let segments = path.split(separator: "/")
        return templates.withLock { templates in
            var methods: Set<HTTPRequest.Method> = []
            for template in templates where template.segments.count == segments.count {
                if zip(template.segments, segments).allSatisfy({ $0.0 == nil || $0.0! == $0.1 }) { methods.formUnion(template.methods) }
            }
            return methods
        }
    }
}

/// RFC 9110 method semantics the router does not give: a path that exists answers a method it does not
/// support with `405` and an `Allow` header, not `404`.
public struct RouteMethodsMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteMethods

    public init(_ routes: RouteMethods) { self.routes = routes }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Looked up only when the router found nothing: the hot path pays nothing for it.
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            throw methodNotAllowed(request) ?? error
        }
    }

    /// The 405 for a path that exists under other methods, or nil.
    func methodNotAllowed(_ request: Request) -> Problem? {
        let allowed = routes.methods(for: request.uri.path)
        guard !allowed.isEmpty, !allowed.contains(request.method) else { return nil }
        var methods = allowed.map(\.rawValue)
        if allowed.contains(.get) { methods.append("HEAD") }
        let list = methods.sorted().joined(separator: ", ")
        var problem = Problem(
            status: .methodNotAllowed, type: "method-not-allowed", title: "Method Not Allowed",
            detail: "\(request.method.rawValue) is not allowed on this path; allowed: \(list)")
        problem.extraHeaders[.allow] = list
        return problem
    }
}

/// Answers `HEAD` as the wrapped responder answers `GET`, without the body (RFC 9110 §9.3.2: the same
/// headers, `Content-Length` included). A wrapper around the whole router, because the router picks the
/// route by method before any middleware runs.
public struct HeadAsGetResponder<Wrapped: HTTPResponder>: HTTPResponder {
    public typealias Context = Wrapped.Context
    let wrapped: Wrapped

    public init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    public func respond(to request: Request, context: Context) async throws -> Response {
        guard request.method == .head else { return try await wrapped.respond(to: request, context: context) }
        var head = request.head
        head.method = .get
        var response = try await wrapped.respond(to: Request(head: head, body: request.body), context: context)
        // Declares GET's length and writes nothing (the server would otherwise send `Content-Length: 0`).
        response.body = ResponseBody(contentLength: response.body.contentLength) { writer in try await writer.finish(nil) }
        return response
    }
}
