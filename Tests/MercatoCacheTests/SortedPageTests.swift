import MercatoCache
import Testing

/// `SortedPage.survives`: a sorted page stays valid exactly while it would show the same products in the
/// same order.
@Suite("Sorted pages under moves")
struct SortedPageTests {
    typealias Item = SortedPage.Item

    /// Bestselling (descending), first page of three items, more pages after: counts 90, 70, 50.
    let top = SortedPage(
        low: 50, high: nil, descending: true,
        items: [Item(product: "a", key: 90), Item(product: "b", key: 70), Item(product: "c", key: 50)], hasNext: true)

    func move(_ product: String?, _ from: Int64?, _ to: Int64?) -> SortMove {
        SortMove(dimension: "sales", from: from, to: to, product: product)
    }

    @Test func anItemMovingWithoutPassingANeighbourKeepsThePage() {
        #expect(top.survives([move("a", 90, 95)]))
        #expect(top.survives([move("b", 70, 85)]))
        #expect(top.survives([move("a", 90, 91), move("a", 91, 99)]), "a chain of moves is replayed in order")
    }

    @Test func anItemPassingANeighbourDropsThePage() {
        #expect(!top.survives([move("b", 70, 95)]))
        #expect(!top.survives([move("c", 50, 75)]))
        #expect(!top.survives([move("b", 70, 90)]) == ("b" > "a"), "a tie is ordered by id in the sort's direction")
    }

    @Test func simultaneousMovesAreJudgedByWhereTheyEnd() {
        // b passes a's old count but a moved further: the order is unchanged.
        #expect(top.survives([move("b", 70, 92), move("a", 90, 99)]))
    }

    @Test func theLastItemMayNotMoveTowardsTheNextPage() {
        #expect(!top.survives([move("c", 50, 49)]), "the next page's first item may now come before it")
        #expect(top.survives([move("c", 50, 60)]))
        var last = top
        last.hasNext = false
        #expect(last.survives([move("c", 50, 1)]), "with no next page nothing can pass it")
    }

    @Test func theFirstItemMayNotReachTheCursor() {
        // A second page (ascending prices): cursor 100, items 120 and 140, then more pages.
        let second = SortedPage(
            low: 100, high: 140, descending: false, items: [Item(product: "x", key: 120), Item(product: "y", key: 140)], hasNext: true)
        #expect(second.survives([move("x", 120, 101)]))
        #expect(!second.survives([move("x", 120, 100)]), "a tie with the cursor could go either way")
        #expect(!second.survives([move("x", 120, 90)]))
    }

    @Test func aProductFromElsewhereEnteringOrLeavingTheRangeDropsThePage() {
        #expect(!top.survives([move("z", 10, 60)]))
        #expect(!top.survives([move("z", 55, 10)]), "it was inside the range: the page was not as recorded")
        #expect(!top.survives([move(nil, 10, 60)]), "a move that names no product is judged by its range alone")
        #expect(top.survives([move("z", 10, 40)]), "below the page's range")
    }

    @Test func inconsistentChainsAndLeavingTheOrderDropThePage() {
        #expect(!top.survives([move("a", 80, 95)]), "the move does not start where the page stands")
        #expect(!top.survives([move("a", 90, nil)]))
    }
}
