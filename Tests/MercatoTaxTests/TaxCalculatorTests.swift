import MercatoCore
@testable import MercatoTaxContract
import Testing

@Suite("Tax quotes")
struct TaxCalculatorTests {
    @Test func inclusivePricesContainTheirTax() throws {
        // 119.00 € gross at 19 % holds exactly 19.00 € of VAT.
        let quote = try TaxCalculator.quote(country: "DE", lines: [TaxableLine(id: "a", unitPrice: 11_900, quantity: 1)])
        #expect(quote.lines == [TaxedLine(id: "a", rateBasisPoints: 1900, net: 10_000, tax: 1_900, gross: 11_900)])
        #expect(quote.pricesIncludeTax && quote.currency.code == "EUR")
    }

    @Test func exclusivePricesGetTaxAdded() throws {
        // Canada: 5 % GST on 19.99 × 3 = 59.97 → 2.9985 → 3.00.
        let quote = try TaxCalculator.quote(country: "CA", lines: [TaxableLine(id: "a", unitPrice: 1_999, quantity: 3)])
        #expect(quote.lines.first == TaxedLine(id: "a", rateBasisPoints: 500, net: 5_997, tax: 300, gross: 6_297))
        #expect(!quote.pricesIncludeTax && quote.currency.code == "CAD")
    }

    @Test func roundingIsPerLineHalfAwayFromZeroAndTotalsAddUp() throws {
        // 10.00 € at 19 % inclusive: 1000 × 1900 / 11900 = 159.66… → 160.
        // 0.05 € at 7 % reduced: 5 × 700 / 10700 = 0.327 → 0; 12.50 € reduced: 81.77… → 82.
        let quote = try TaxCalculator.quote(country: "de", lines: [
            TaxableLine(id: "shirt", unitPrice: 1_000, quantity: 1),
            TaxableLine(id: "sweet", unitPrice: 5, quantity: 1, taxClass: .reduced),
            TaxableLine(id: "book", unitPrice: 1_250, quantity: 1, taxClass: .reduced),
            TaxableLine(id: "voucher", unitPrice: 2_000, quantity: 2, taxClass: .zero),
        ])
        #expect(quote.lines.map(\.tax) == [160, 0, 82, 0])
        #expect(quote.lines.map(\.rateBasisPoints) == [1900, 700, 700, 0])
        #expect(quote.tax == 242 && quote.gross == 6_255 && quote.net + quote.tax == quote.gross)
        // Exact halves round away from zero: 50 % of 1 cent would be 0.5 → 1 (checked on the helper).
        #expect(TaxCalculator.divideRoundingHalfAway(5, 10) == 1)
        #expect(TaxCalculator.divideRoundingHalfAway(4, 10) == 0)
    }

    @Test func everyMarketHasARateAndDenmarkHasNoReducedOne() throws {
        for market in Market.all {
            let quote = try TaxCalculator.quote(country: market.code, lines: [TaxableLine(id: "x", unitPrice: 10_000, quantity: 1)])
            #expect(quote.lines[0].rateBasisPoints == market.vatRateBasisPoints)
            #expect(quote.net + quote.tax == quote.gross)
        }
        #expect(TaxCalculator.rate(.reduced, in: Market.named("DK")!) == 2500)
        #expect(try TaxCalculator.quote(country: "US", lines: [TaxableLine(id: "x", unitPrice: 999, quantity: 1)]).tax == 0)
    }

    @Test func badInputIsRefused() {
        #expect(throws: TaxError.unsupportedCountry("JP")) { try TaxCalculator.quote(country: "JP", lines: []) }
        #expect(throws: TaxError.self) { try TaxCalculator.quote(country: "DE", lines: [TaxableLine(id: "a", unitPrice: 100, quantity: 0)]) }
        #expect(throws: TaxError.self) { try TaxCalculator.quote(country: "DE", lines: [TaxableLine(id: "a", unitPrice: -1, quantity: 1)]) }
        #expect(throws: TaxError.self) {
            try TaxCalculator.quote(country: "DE", lines: [TaxableLine(id: "a", unitPrice: 1_000_000_000_000, quantity: 1_000_000)])
        }
    }
}
