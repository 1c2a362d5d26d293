import Foundation
import HTTPTypes
import Hummingbird
import MercatoCatalog
import MercatoCheckout
import MercatoCore
import MercatoHTTPBoundary
import MercatoInventory
import MercatoInventoryContract
import MercatoJSON

/// The buyer's checkout: create, shipping address (tax), complete (idempotent), and reads by token.
struct CheckoutRoutes {
    let checkout: CheckoutService
    let reads: StorefrontReads
    let maxBodyBytes: Int
    let debugHeaders: Bool

    func register(on router: Router<BasicRequestContext>) {
        let counted = router.group().add(middleware: ExternalCallCountMiddleware(exposeHeaders: debugHeaders))
        counted.post("/v1/stores/:merchant/checkouts") { request, context in
            let merchant = try context.parameters.require("merchant")
            let group = try reads.group(token: request.headers[.storefrontToken], merchantSlug: merchant)
            let command = try await self.command(CheckoutInput.self, request).validated(marketHeader: request.headers[.market])
            let created = try await checkout.create(merchantSlug: merchant, group: group, command)
            return JSONBytes.response(try CheckoutRenderer.checkout(created.checkout, token: created.token), status: .created, headers: [.cacheControl: "no-store"])
        }
        counted.put("/v1/checkouts/:id/shipping-address") { request, context in
            let id = try Self.id(context, as: CheckoutID.self)
            let address = try await self.command(ShippingAddress.self, request)
            let updated = try await checkout.setShippingAddress(id, token: request.headers[.checkoutToken], address)
            return JSONBytes.response(try CheckoutRenderer.checkout(updated, token: nil), headers: [.cacheControl: "no-store"])
        }
        counted.post("/v1/checkouts/:id/complete") { request, context in
            let id = try Self.id(context, as: CheckoutID.self)
            let completion = try CompletionRequest(
                idempotencyKey: request.headers[.idempotencyKey], body: try await JSONBody.read(request, limit: maxBodyBytes))
            let answer = try await checkout.complete(id, token: request.headers[.checkoutToken], completion)
            var headers: HTTPFields = [.cacheControl: "no-store"]
            if answer.replayed { headers[.idempotentReplayed] = "true" }
            if answer.status >= 400 {
                headers[.contentType] = "application/problem+json"
                return Response(status: .init(code: answer.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
            }
            return JSONBytes.response(answer.body, status: .init(code: answer.status), headers: headers)
        }
        counted.get("/v1/checkouts/:id") { request, context in
            let view = try await checkout.checkout(try Self.id(context, as: CheckoutID.self), token: request.headers[.checkoutToken])
            return JSONBytes.response(try CheckoutRenderer.checkout(view, token: nil), headers: [.cacheControl: "private, no-store"])
        }
        counted.get("/v1/orders/:id") { request, context in
            let order = try await checkout.order(try Self.id(context, as: OrderID.self), token: request.headers[.checkoutToken])
            return JSONBytes.response(try CheckoutRenderer.order(order), headers: [.cacheControl: "private, no-store"])
        }
    }

    /// A request body decoded against its schema; `validated()` on it gives the service's command.
    func command<Body: JSONRequestBody>(_ type: Body.Type, _ request: Request) async throws -> Body {
        try await JSONBody.decode(type, from: request, limit: maxBodyBytes)
    }

    static func id<Tag>(_ context: BasicRequestContext, as: Identifier<Tag>.Type) throws -> Identifier<Tag> {
        let raw = try context.parameters.require("id")
        guard let id = Identifier<Tag>(raw) else { throw MercatoError.notFound("no such id '\(raw)'") }
        return id
    }
}

/// Counts the inventory and tax calls a request made and reports them (non-production) as
/// `X-Mercato-Inventory-Calls` and `X-Mercato-Tax-Calls`.
struct ExternalCallCountMiddleware<Context: RequestContext>: RouterMiddleware {
    let exposeHeaders: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let counter = ExternalCallCounter()
        do {
            var response = try await ExternalCallCounter.$current.withValue(counter) { try await next(request, context) }
            if exposeHeaders { response.headers.append(contentsOf: Self.headers(counter)) }
            return response
        } catch {
            // The counts travel with the error, so failed steps (409, 503, …) report them too; the problem
            // itself is made at the boundary (`ProblemMiddleware`).
            guard exposeHeaders else { throw error }
            throw AnnotatedError(error, headers: Self.headers(counter))
        }
    }

    static func headers(_ counter: ExternalCallCounter) -> HTTPFields {
        [.mercatoInventoryCalls: String(counter.inventory), .mercatoTaxCalls: String(counter.tax)]
    }
}

extension CheckoutError: ProblemConvertible {
    public var problem: Problem {
        switch self {
        case .idempotencyKeyMissing:
            Problem(status: .badRequest, type: "idempotency-key-required", title: "Idempotency-Key required",
                    detail: "send an Idempotency-Key header (1–255 printable ASCII characters) so a retried request cannot place a second order")
        case .idempotencyKeyReused:
            Problem(status: .unprocessableContent, type: "idempotency-key-reused", title: "Idempotency-Key reused",
                    detail: "this Idempotency-Key was already used on this checkout with a different request body")
        case .alreadyCompleted(let order):
            Problem(status: .conflict, type: "checkout-completed", title: "Checkout already completed",
                    detail: "this checkout already has order \(order) (placed with another Idempotency-Key)")
        case .addressRequired:
            Problem(status: .conflict, type: "shipping-address-required", title: "Shipping address required",
                    detail: "set the shipping address (PUT /v1/checkouts/{id}/shipping-address) before completing; tax depends on it")
        case .notOpen(let status):
            Problem(status: .conflict, type: "checkout-not-open", title: "Checkout not open", detail: "this checkout is \(status)")
        case .countryMismatch(let expected, let got):
            Problem(status: .unprocessableContent, type: "validation", title: "Validation failed",
                    detail: "'country' must be \(expected): this checkout was priced for market \(expected), not \(got); create a checkout for market \(got) instead")
        }
    }
}

extension DependencyError: ProblemConvertible {
    /// A dependency that is down is a 503 the client may retry; one that refused us is a 502.
    public var problem: Problem {
        switch self {
        case .unavailable(let service, let detail):
            var problem = Problem(status: .serviceUnavailable, type: "\(service)-unavailable", title: "\(service.capitalized) service unavailable", detail: detail)
            problem.extraHeaders[.retryAfter] = "1"
            return problem
        case .rejected(let service, let status, let detail):
            return Problem(status: .badGateway, type: "\(service)-error", title: "\(service.capitalized) service error", detail: "\(service) answered \(status): \(detail)")
        }
    }
}

extension HTTPField.Name {
    /// The token returned when a checkout is created; guards the checkout and its order.
    public static let checkoutToken = HTTPField.Name("X-Checkout-Token")!
    public static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    /// Set on a `complete` answer replayed from an earlier request with the same key.
    public static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
    /// Inventory-service calls this request made (non-production only).
    public static let mercatoInventoryCalls = HTTPField.Name("X-Mercato-Inventory-Calls")!
    /// Tax-service calls this request made (non-production only).
    public static let mercatoTaxCalls = HTTPField.Name("X-Mercato-Tax-Calls")!
}
