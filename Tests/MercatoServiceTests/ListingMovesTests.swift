import MercatoCache
@testable import MercatoCatalog
import MercatoCore
import MercatoStorage
import Testing

/// What a product write's moves do to cached listing pages: `CacheNamespace.listingMoves` turns a
/// re-projection's before and after into moves per scope, and `SortedPage.survives` decides each page.
@Suite("Listing moves of product writes")
struct ListingMovesTests {
    static let product = ProductID.random()
    static let scope = MerchantID.random().description
    static func entry(position: Int64, mask: Int64 = 1) -> ListingProjector.Entry {
        ListingProjector.Entry(position: position, createdAt: 1_000 + position, salesCount: 0, inStock: true, audienceMask: mask)
    }

    /// A position-sorted page: items at positions `keys` (the last one the row after the page), cursor `low`.
    static func page(_ keys: [Int64], low: Int64?, hasNext: Bool, holding product: ProductID? = nil) -> SortedPage {
        var items = keys.enumerated().map { SortedPage.Item(product: "other-\($0.offset)", key: $0.element) }
        if let product, let index = items.indices.first(where: { items[$0].key == 20 }) { items[index].product = product.description }
        return SortedPage(low: low, high: hasNext ? keys.last : nil, descending: false, items: items, hasNext: hasNext)
    }

    static func moves(_ change: ListingProjector.ListingChange, cardChanged: Bool = false, dimension: String = CacheNamespace.positionDimension) -> [SortMove] {
        (CacheNamespace.listingMoves(product: product, change: change, cardChanged: cardChanged)[scope] ?? [])
            .filter { $0.dimension == dimension || $0.dimension == CacheNamespace.cardDimension }
    }

    @Test("A product leaving a scope drops the pages that hold it or whose range it sat in, and no other")
    func leaving() {
        let moves = Self.moves(ListingProjector.ListingChange(before: [Self.scope: Self.entry(position: 20)]))
        #expect(moves == [SortMove(dimension: CacheNamespace.positionDimension, from: 20, to: nil, product: Self.product.description)])
        #expect(!Self.page([10, 20, 30], low: nil, hasNext: true, holding: Self.product).survives(moves))
        #expect(Self.page([40, 50, 60], low: 30, hasNext: true).survives(moves), "a later page")
        #expect(Self.page([1, 2, 3], low: nil, hasNext: true).survives(moves), "an earlier page")
        // Not held but inside the range (hidden from this page's audience, say): dropped, to be safe.
        #expect(!Self.page([10, 15, 30], low: nil, hasNext: true).survives(moves))
    }

    @Test("A product entering a scope drops the pages whose range, up to the row after them, it enters")
    func entering() {
        let moves = Self.moves(ListingProjector.ListingChange(after: [Self.scope: Self.entry(position: 25)]))
        #expect(!Self.page([10, 20, 30], low: nil, hasNext: true).survives(moves))
        #expect(Self.page([1, 2, 3], low: nil, hasNext: true).survives(moves), "it sorts after this page's next row")
        #expect(!Self.page([1, 2, 3], low: nil, hasNext: false).survives(moves), "the last page grows")
        #expect(Self.page([30, 40], low: 26, hasNext: false).survives(moves), "it sorts before this page's cursor")
    }

    @Test("A card change drops exactly the pages holding the product, in every sort")
    func cardChange() {
        let both = [Self.scope: Self.entry(position: 20)]
        let change = ListingProjector.ListingChange(before: both, after: both)
        #expect(Self.moves(change).isEmpty, "nothing a card shows changed")
        for dimension in [CacheNamespace.positionDimension, CacheNamespace.createdDimension, "EUR"] {
            let moves = Self.moves(change, cardChanged: true, dimension: dimension)
            #expect(!Self.page([10, 20, 30], low: nil, hasNext: true, holding: Self.product).survives(moves))
            #expect(Self.page([10, 20, 30], low: nil, hasNext: true).survives(moves))
        }
    }

    @Test("A position move keeps a page holding the product while it stays between its neighbours")
    func positionMove() {
        let within = Self.moves(ListingProjector.ListingChange(before: [Self.scope: Self.entry(position: 20)], after: [Self.scope: Self.entry(position: 22)]))
        #expect(Self.page([10, 20, 30], low: nil, hasNext: true, holding: Self.product).survives(within))
        let past = Self.moves(ListingProjector.ListingChange(before: [Self.scope: Self.entry(position: 20)], after: [Self.scope: Self.entry(position: 35)]))
        #expect(!Self.page([10, 20, 30], low: nil, hasNext: true, holding: Self.product).survives(past))
    }

    @Test("A change of audience, or a price appearing in a currency, is a leave and an enter")
    func audienceAndCurrency() {
        let audience = Self.moves(ListingProjector.ListingChange(
            before: [Self.scope: Self.entry(position: 20, mask: 1)], after: [Self.scope: Self.entry(position: 20, mask: 3)]))
        #expect(audience.map(\.to) == [nil, 20] && audience.map(\.from) == [20, nil])
        #expect(!Self.page([10, 20, 30], low: nil, hasNext: true, holding: Self.product).survives(audience))
        let both = [Self.scope: Self.entry(position: 20)]
        let priced = ListingProjector.ListingChange(before: both, after: both, minPrices: ["CHF": (before: nil, after: 900)])
        #expect(!Self.page([10, 15, 30], low: nil, hasNext: true).survives(Self.moves(priced)), "it now shows in CHF position pages")
        #expect(Self.moves(priced, dimension: "CHF").contains(SortMove(dimension: "CHF", from: nil, to: 900, product: Self.product.description)))
    }
}
