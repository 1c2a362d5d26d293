import Foundation
import HTTPTypes
import Hummingbird
import MercatoAdmin
import MercatoCore
import MercatoHTTPBoundary

/// The request context of the admin API: the server's context plus the merchant the bearer token
/// belongs to, set by `AdminAuthentication` before any admin handler runs.
struct AdminRequestContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    private var authenticated: Merchant?

    init(context: BasicRequestContext) {
        coreContext = context.coreContext
        authenticated = nil
    }

    /// The token's merchant. Fails closed: a handler reached without authentication answers 401.
    var merchant: Merchant {
        get throws {
            guard let authenticated else { throw MercatoError.unauthorized("an admin token is required") }
            return authenticated
        }
    }

    mutating func authenticate(as merchant: Merchant) {
        authenticated = merchant
    }
}

/// Authenticates every admin request once (the handlers take the merchant from the context), then holds
/// each merchant's writes to its `AdminWriteLimit`: a write past it is `429` with `Retry-After`.
struct AdminAuthentication: RouterMiddleware {
    typealias Context = AdminRequestContext
    let admin: AdminService
    let limiter: AdminWriteLimiter?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let merchant = try await admin.authenticate(authorization: request.headers[.authorization])
        if let limiter, request.method != .get, request.method != .head, case .wait(let seconds) = limiter.take(merchant: merchant.id.description) {
            throw AdminWriteLimited(retryAfter: Int(seconds.rounded(.up)))
        }
        var context = context
        context.authenticate(as: merchant)
        return try await next(request, context)
    }
}

/// A merchant wrote faster than its limit allows.
struct AdminWriteLimited: ProblemConvertible {
    /// Whole seconds until the next write is allowed (at least 1).
    let retryAfter: Int

    var problem: Problem {
        var problem = Problem(
            status: .tooManyRequests, type: "rate-limited", title: "Too many requests",
            detail: "this store's admin writes are over their rate limit; retry after \(max(1, retryAfter)) s")
        problem.extraHeaders[.retryAfter] = String(max(1, retryAfter))
        return problem
    }
}
