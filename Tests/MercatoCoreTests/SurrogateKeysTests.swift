import MercatoCache
import MercatoCatalog
import MercatoCore
import MercatoStorage
import Testing

/// What each write names for the edge: precise enough that a sale purges only its product's detail and a
/// listing event never purges details or the tree (`SurrogateKeys`' table).
@Suite struct SurrogateKeysTests {
    let merchant = MerchantID.random()
    let product = ProductID.random()
    let category = CategoryID.random()

    func keys(_ events: [InvalidationEvent]) -> Set<String> { Set(events.flatMap(\.surrogateKeys)) }

    @Test func saleThatCrossesNoZeroPurgesOnlyTheProductsDetail() {
        let events = CacheNamespace.stockEvents(
            slug: "s", merchantID: merchant, change: StockChange(products: [product], inStockMayHaveChanged: false))
        #expect(keys(events) == ["s:\(product)"])
    }

    @Test func stockCrossingZeroPurgesItsCardsAndTheInStockListings() {
        let events = CacheNamespace.stockEvents(
            slug: "s", merchantID: merchant, change: StockChange(products: [product], inStockMayHaveChanged: true))
        #expect(keys(events) == ["s:\(product)", "p:\(product)", "i:\(merchant)"])
    }

    @Test func priceWritePurgesTheProductAndThePriceOrderOfItsScopesInThatCurrency() {
        let move = SortMove(dimension: "EUR", from: 100, to: 90, product: product.description)
        let events = CacheNamespace.variantWriteEvents(
            slug: "s", merchantID: merchant, products: [product], scopes: [merchant.description, category.description], moves: [move])
        #expect(keys(events) == ["p:\(product)", "l:\(merchant):EUR", "c:\(category):EUR"])
        // Without moves every listing of the scopes may have changed.
        let undescribed = CacheNamespace.variantWriteEvents(slug: "s", merchantID: merchant, products: [product], scopes: [category.description])
        #expect(keys(undescribed) == ["p:\(product)", "c:\(category)"])
    }

    @Test func cardEditPurgesOnlyThePagesShowingTheProduct() {
        let entry = ListingProjector.Entry(position: 1, createdAt: 1, salesCount: 0, inStock: true, audienceMask: 1)
        let change = ListingProjector.ListingChange(before: [category.description: entry], after: [category.description: entry])
        let events = CacheNamespace.productWriteEvents(
            slug: "s", merchantID: merchant, changes: [product: change], cardChanged: true, slugsChanged: false)
        #expect(keys(events) == ["p:\(product)"])
    }

    @Test func repositionPurgesThePositionOrderOfItsScopeOnly() {
        let before = ListingProjector.Entry(position: 1, createdAt: 1, salesCount: 0, inStock: true, audienceMask: 1)
        var after = before
        after.position = 7
        let change = ListingProjector.ListingChange(before: [category.description: before], after: [category.description: after])
        let events = CacheNamespace.productWriteEvents(
            slug: "s", merchantID: merchant, changes: [product: change], cardChanged: false, slugsChanged: false)
        #expect(keys(events) == ["p:\(product)", "c:\(category):position"])
    }

    @Test func newProductInTheWholeCatalogPurgesEveryOrderOfItsListingsButNoDetailOrTree() {
        let entry = ListingProjector.Entry(position: 1, createdAt: 5, salesCount: 0, inStock: true, audienceMask: 1)
        let change = ListingProjector.ListingChange(after: [merchant.description: entry], minPrices: ["EUR": (nil, 100)])
        let events = CacheNamespace.productWriteEvents(
            slug: "s", merchantID: merchant, changes: [product: change], cardChanged: true, slugsChanged: true)
        #expect(keys(events) == ["p:\(product)", "l:\(merchant):position", "l:\(merchant):created", "l:\(merchant):sales", "l:\(merchant):EUR"])
        #expect(!keys(events).contains("m:\(merchant)"))
    }

    @Test func salesRollUpPurgesTheBestsellingOrderSoftly() {
        let events = CacheNamespace.salesEvents(slug: "s", merchantID: merchant, scopes: [merchant.description, category.description])
        #expect(keys(events) == ["l:\(merchant):sales", "c:\(category):sales"])
        #expect(keys(events).allSatisfy(SurrogateKeys.purgedSoftly))
        #expect(!SurrogateKeys.purgedSoftly("p:\(product)"))
        #expect(!SurrogateKeys.purgedSoftly("l:\(merchant):EUR"))
    }
}
