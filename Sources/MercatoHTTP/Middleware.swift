import HTTPTypes
import Hummingbird
import MercatoHTTPEdge
import MercatoStorage

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
