import MercatoCache
import Testing

@Suite("Change log")
struct ChangeLogTests {
    @Test func movesAreAnsweredOnlyForAnUnbrokenRunOfGenerations() {
        let log = ChangeLog(depth: 4)
        log.record("ns", generation: 1, moves: [SortMove(dimension: "EUR", from: 100, to: 200)])
        log.record("ns", generation: 2, moves: [])
        log.record("ns", generation: 4, moves: [SortMove(dimension: "EUR", from: 300, to: nil)])
        #expect(log.moves(of: "ns", after: 0, upTo: 2)?.count == 1)
        #expect(log.moves(of: "ns", after: 2, upTo: 2) == [])
        #expect(log.moves(of: "ns", after: 1, upTo: 4) == nil, "generation 3 described nothing: unknown")
        #expect(log.moves(of: "ns", after: 3, upTo: 1) == nil, "backwards")
        #expect(log.moves(of: "other", after: 0, upTo: 1) == nil)
        for generation in 5...9 { log.record("ns", generation: UInt64(generation), moves: []) }
        #expect(log.moves(of: "ns", after: 4, upTo: 9) == nil, "generation 5 was forgotten (depth 4)")
        #expect(log.moves(of: "ns", after: 5, upTo: 9) == [])
    }

    @Test func aMoveTouchesARangeWhenItStartsOrEndsInside() {
        let move = SortMove(dimension: "EUR", from: 100, to: 900)
        #expect(move.touches(low: 50, high: 150))
        #expect(move.touches(low: 800, high: nil))
        #expect(move.touches(low: nil, high: 100), "bounds are inclusive: ties are ordered by id")
        #expect(!move.touches(low: 200, high: 800), "jumping over a page leaves it as it was")
        #expect(!SortMove(dimension: "EUR", from: nil, to: nil).touches(low: nil, high: nil))
    }
}
