import MercatoCore
import MercatoStorage
import Testing

@Suite("Listing projection")
struct ListingProjectorTests {
    let merchant = MerchantID.random()
    let root = CategoryID.random()
    let child = CategoryID.random()
    let restricted = CategoryID.random()

    var parents: [CategoryID: CategoryID] { [child: root, restricted: root] }
    var masks: [CategoryID: AudienceMask] {
        [root: .all, child: .all, restricted: VisibilityRule(groups: [.wholesale]).mask]
    }

    func facts(_ categories: [CategoryID], variants: [(Int64, [Money])]) -> ListingProjector.ProductFacts {
        ListingProjector.ProductFacts(
            id: .random(), merchantID: merchant, position: 1, createdAt: 1, salesCount: 1, status: .active,
            categoryIDs: categories, variants: variants.map { (stock: $0.0, prices: $0.1) })
    }

    let eur = CurrencyCode("EUR")!
    let usd = CurrencyCode("USD")!

    @Test func productAppearsInItsCategoryEveryAncestorAndTheWholeCatalog() {
        let projection = ListingProjector.project(facts([child], variants: [(0, [])]), categoryMasks: masks, parents: parents)
        #expect(Set(projection.scopes.keys) == [child.sql, root.sql, merchant.sql])
        #expect(projection.scopes.values.allSatisfy { $0 == .all })
    }

    @Test func restrictedOnlyProductIsHiddenFromThePublicEverywhere() {
        let projection = ListingProjector.project(facts([restricted], variants: [(1, [])]), categoryMasks: masks, parents: parents)
        let anonymous = Audience(market: Market.named("DE")!, group: .public)
        let trade = Audience(market: Market.named("DE")!, group: .wholesale)
        for mask in projection.scopes.values {
            #expect(!mask.contains(anonymous))
            #expect(mask.contains(trade))
        }
        #expect(!projection.audienceMask.contains(anonymous))
    }

    @Test func aPublicPathWinsOverARestrictedOne() {
        let projection = ListingProjector.project(facts([restricted, child], variants: [(1, [])]), categoryMasks: masks, parents: parents)
        let anonymous = Audience(market: Market.named("FR")!, group: .public)
        #expect(projection.scopes[root.sql]?.contains(anonymous) == true)
        #expect(projection.scopes[restricted.sql]?.contains(anonymous) == false)
        #expect(projection.audienceMask.contains(anonymous))
    }

    @Test func minimumPricePerCurrencyAndStockAcrossVariants() {
        let projection = ListingProjector.project(
            facts([], variants: [
                (0, [Money(currency: eur, amount: 500), Money(currency: usd, amount: 700)]),
                (0, [Money(currency: eur, amount: 300)]),
                (2, [Money(currency: eur, amount: 900), Money(currency: usd, amount: 650)]),
            ]),
            categoryMasks: masks, parents: parents)
        #expect(projection.minPrices == [eur: 300, usd: 650])
        #expect(projection.inStock)
        #expect(projection.audienceMask == .all, "a product in no category is visible to everyone")
        let soldOut = ListingProjector.project(facts([], variants: [(0, []), (0, [])]), categoryMasks: masks, parents: parents)
        #expect(!soldOut.inStock)
    }
}

@Suite("Audience masks")
struct AudienceMaskTests {
    @Test func rulesAdmitExactlyTheirAudiences() {
        let rule = VisibilityRule(groups: [.member, .wholesale], markets: ["US", "CA"])
        for group in CustomerGroup.allCases {
            for market in Market.all {
                let expected = group != .public && (market.code == "US" || market.code == "CA")
                #expect(rule.mask.contains(Audience(market: market, group: group)) == expected)
            }
        }
        #expect(VisibilityRule.public.mask == .all)
        #expect(AudienceMask.all.rawValue == (1 << 51) - 1)
    }

    @Test func marketsAreSeventeenWithStableIndexes() {
        #expect(Market.all.count == 17)
        #expect(Market.all.enumerated().allSatisfy { $0.offset == $0.element.index })
        #expect(Market.named("de")?.currency.code == "EUR")
        #expect(Market.named("US")?.pricesIncludeTax == false)
    }
}
