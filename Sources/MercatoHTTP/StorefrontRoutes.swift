import HTTPTypes
import Hummingbird
import MercatoCatalog
import MercatoCore

/// Public storefront reads: categories, listing, product detail.
struct StorefrontRoutes {
    let catalog: CatalogService

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/stores/:merchant/categories") { request, context in
            let merchant = try context.parameters.require("merchant")
            let response = try await catalog.categories(
                merchantSlug: merchant, marketCode: Self.market(request), storefrontToken: request.headers[.storefrontToken])
            return Self.render(response)
        }
        router.get("/v1/stores/:merchant/products") { request, context in
            let listing = try Self.listingRequest(request, merchant: try context.parameters.require("merchant"))
            return Self.render(try await catalog.listing(listing))
        }
        router.get("/v1/stores/:merchant/products/:product") { request, context in
            let response = try await catalog.product(
                merchantSlug: try context.parameters.require("merchant"), reference: try context.parameters.require("product"),
                marketCode: Self.market(request), storefrontToken: request.headers[.storefrontToken])
            return Self.render(response)
        }
    }

    static let listingParameters: Set<String> = ["category", "sort", "limit", "cursor", "market", "in_stock"]

    /// Validates query parameters; anything unknown or malformed is a 4xx naming it.
    static func listingRequest(_ request: Request, merchant: String) throws(MercatoError) -> ListingRequest {
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
            marketCode: market(request), inStockOnly: inStock, storefrontToken: request.headers[.storefrontToken])
    }

    /// `market` query parameter, else the `X-Market` header.
    static func market(_ request: Request) -> String? {
        request.uri.queryParameters.get("market") ?? request.headers[.market]
    }

    static func render(_ response: CatalogResponse) -> Response {
        var headers: HTTPFields = [:]
        // Until the cache layer lands: personalised answers are never shared; public ones briefly.
        headers[.cacheControl] = response.personalised ? "private, no-store" : "public, max-age=0, s-maxage=30"
        headers[.vary] = "X-Market, X-Storefront-Token"
        return JSONBytes.response(response.body, headers: headers)
    }
}
