import HTTPTypes
import Hummingbird
import MercatoHTTPBoundary
import MercatoCache
import MercatoCatalog
import MercatoCore
import MercatoTelemetry

/// Public storefront reads: categories, listing, product detail, with HTTP caching (ETag, 304,
/// Cache-Control per category kind, surrogate keys for edge purges).
struct StorefrontRoutes {
    let reads: StorefrontReads
    let debugHeaders: Bool
    /// With an edge this instance purges: how long it may keep public answers (`max-age=N`), else nil.
    var surrogateControl: String? = nil

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/stores/:merchant/categories") { request, context in
            let merchant = try context.parameters.require("merchant")
            let group = try reads.group(token: request.headers[.storefrontToken], merchantSlug: merchant)
            let (response, outcome) = try await reads.categories(merchantSlug: merchant, marketCode: Self.market(request), group: group)
            return render(response, outcome, request: request, policy: .categories)
        }
        router.get("/v1/stores/:merchant/products") { request, context in
            let merchant = try context.parameters.require("merchant")
            let group = try reads.group(token: request.headers[.storefrontToken], merchantSlug: merchant)
            let (response, outcome) = try await reads.listing(try Self.listingRequest(request, merchant: merchant, group: group))
            return render(response, outcome, request: request, policy: .listing)
        }
        router.get("/v1/stores/:merchant/products/:product") { request, context in
            let merchant = try context.parameters.require("merchant")
            let group = try reads.group(token: request.headers[.storefrontToken], merchantSlug: merchant)
            let (response, outcome) = try await reads.product(
                merchantSlug: merchant, reference: try context.parameters.require("product"), marketCode: Self.market(request), group: group)
            return render(response, outcome, request: request, policy: .detail)
        }
    }

    static let listingParameters: Set<String> = ["category", "sort", "limit", "cursor", "market", "in_stock"]

    /// Validates query parameters; anything unknown or malformed is a 4xx naming it.
    static func listingRequest(_ request: Request, merchant: String, group: CustomerGroup) throws(MercatoError) -> ListingRequest {
        let query = request.uri.queryParameters
        for (key, _) in query where !listingParameters.contains(String(key)) {
            throw .badRequest("unknown query parameter '\(key)'; allowed: \(listingParameters.sorted().joined(separator: ", "))")
        }
        var sort = ListingSort.position
        if let raw = query.get("sort") {
            guard let parsed = ListingSort(rawValue: raw) else {
                throw .validation(field: "sort", message: "'sort' must be one of \(ListingSort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sort = parsed
        }
        var limit = 24
        if let raw = query.get("limit") {
            guard let parsed = Int(raw), (1...100).contains(parsed) else {
                throw .validation(field: "limit", message: "'limit' must be an integer from 1 to 100")
            }
            limit = parsed
        }
        var inStock = false
        if let raw = query.get("in_stock") {
            switch raw {
            case "true", "1": inStock = true
            case "false", "0": inStock = false
            default: throw .validation(field: "in_stock", message: "'in_stock' must be true or false")
            }
        }
        let category = query.get("category").flatMap { $0.isEmpty ? nil : $0 }
        let cursor = query.get("cursor").flatMap { $0.isEmpty ? nil : $0 }
        return ListingRequest(
            merchantSlug: merchant, category: category, sort: sort, limit: limit, cursor: cursor,
            marketCode: query.get("market") ?? request.headers[.market], inStockOnly: inStock, group: group)
    }

    /// `market` query parameter, else the `X-Market` header.
    static func market(_ request: Request) -> String? {
        request.uri.queryParameters.get("market") ?? request.headers[.market]
    }

    /// Shared-cache lifetimes per kind of response (README: "HTTP caching").
    enum CachePolicy {
        case listing, detail, categories

        func cacheControl(kind: CategoryKind?, personalised: Bool) -> String {
            // Restricted audiences get their own answers: never in a shared cache.
            if personalised { return "private, max-age=0, must-revalidate" }
            switch self {
            case .listing where kind == .brand || kind == .marketing:
                return "public, max-age=0, s-maxage=300, stale-while-revalidate=60, stale-if-error=300"
            case .listing:
                return "public, max-age=0, s-maxage=30, stale-while-revalidate=30, stale-if-error=300"
            case .detail:
                return "public, max-age=0, s-maxage=60, stale-while-revalidate=30, stale-if-error=300"
            case .categories:
                return "public, max-age=0, s-maxage=300, stale-while-revalidate=60, stale-if-error=300"
            }
        }
    }

    func render(_ response: CatalogResponse, _ outcome: CacheOutcome, request: Request, policy: CachePolicy) -> Response {
        var headers: HTTPFields = [
            .cacheControl: policy.cacheControl(kind: response.categoryKind, personalised: response.personalised),
            .eTag: response.etag,
            .vary: "X-Market, X-Storefront-Token",
        ]
        if !response.personalised {
            headers[.surrogateKey] = response.surrogateKeyHeader
            headers[.xkey] = response.surrogateKeyHeader
            // Never on a private answer: Varnish's built-in rules would then store it.
            if let surrogateControl { headers[.surrogateControl] = surrogateControl }
        }
        if debugHeaders { headers[.mercatoCache] = outcome.rawValue }
        RequestTimings.current?.cacheOutcome = outcome.rawValue
        if let ifNoneMatch = request.headers[.ifNoneMatch], Self.matches(ifNoneMatch, etag: response.etag) {
            return Response(status: .notModified, headers: headers)
        }
        return JSONBytes.response(response.body, headers: headers)
    }

    /// RFC 9110 If-None-Match: weak comparison over a list, or `*`.
    static func matches(_ header: String, etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }
}
