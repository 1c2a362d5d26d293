import Foundation
import MercatoCore
import MercatoTaxContract

/// The tax service as checkout sees it: in-process for the embedded setup, HTTP otherwise.
public protocol TaxClient: Sendable {
    /// Quotes tax for lines shipped to `country`. Throws `TaxError` for bad input, `DependencyError` when the service fails.
    func quote(country: String, lines: [TaxableLine]) async throws -> TaxQuote
}

/// Tax computed in this process.
public struct LocalTaxClient: TaxClient {
    public init() {}

    public func quote(country: String, lines: [TaxableLine]) async throws -> TaxQuote {
        try TaxCalculator.quote(country: country, lines: lines)
    }
}

/// Tax over HTTP (`TAX_URL`), speaking `TaxAPI`. A quote changes nothing, so it may be retried.
public struct HTTPTaxClient: TaxClient {
    let http: ServiceHTTPClient

    public init(http: ServiceHTTPClient) { self.http = http }

    public func quote(country: String, lines: [TaxableLine]) async throws -> TaxQuote {
        let body = try TaxAPI.encoder.encode(TaxAPI.QuoteRequest(country: country, lines: lines))
        let response = try await http.send(.POST, TaxAPI.quotePath, body: body)
        switch response.status {
        case 200:
            guard let quote = (try? TaxAPI.decoder.decode(TaxAPI.QuoteBody.self, from: response.body))?.quote else {
                throw DependencyError.rejected(service: "tax", status: 200, detail: "unreadable quote")
            }
            return quote
        case 422 where response.problemType == "unsupported-country":
            throw TaxError.unsupportedCountry(country)
        default:
            throw DependencyError.rejected(service: "tax", status: response.status, detail: response.problemDetail ?? "status \(response.status)")
        }
    }
}
