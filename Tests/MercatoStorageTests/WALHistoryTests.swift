import MercatoCore
import MercatoStorage
@testable import MercatoSQL
import Testing
import MercatoFences

/// How far behind the primary a replica is, in time, from the primary's sampled WAL positions.
@Suite struct WALHistoryTests {
    let start = ContinuousClock.now

    func position(_ value: UInt64) -> WALPosition { WALPosition(value: value) }

    @Test func aReplicaAtTheHeadHasNoLag() {
        var history = WALHistory(span: .seconds(2))
        history.record(position(100), at: start)
        #expect(history.lag(of: position(100), at: start + .seconds(5)) == .zero)
        #expect(history.lag(of: position(150), at: start + .seconds(5)) == .zero, "ahead of the last sample: not behind")
        #expect(history.lagBytes(of: position(100)) == 0)
    }

    @Test func lagIsTheAgeOfTheFirstPositionTheReplicaHasNotReplayed() {
        var history = WALHistory(span: .seconds(2))
        history.record(position(100), at: start)
        history.record(position(200), at: start + .milliseconds(100))
        history.record(position(300), at: start + .milliseconds(200))
        let now = start + .milliseconds(250)
        // Replayed up to 150: the primary passed it at +100 ms.
        #expect(history.lag(of: position(150), at: now) == .milliseconds(150))
        #expect(history.lag(of: position(200), at: now) == .milliseconds(50))
        #expect(history.lag(of: position(50), at: now) == .milliseconds(250))
        #expect(history.lagBytes(of: position(150)) == 150)
    }

    @Test func positionsThatDoNotAdvanceAreIgnored() {
        var history = WALHistory(span: .seconds(2))
        history.record(position(100), at: start)
        history.record(position(100), at: start + .seconds(1))
        history.record(position(90), at: start + .seconds(1))
        #expect(history.head == position(100))
        #expect(history.lag(of: position(99), at: start + .seconds(1)) == .seconds(1), "the primary was past 99 since the first sample")
    }

    @Test func forgottenSamplesNeverUnderstateALagLongerThanTheSpan() {
        var history = WALHistory(span: .seconds(2))
        for step in 0..<100 { history.record(position(UInt64(step + 1) * 10), at: start + .milliseconds(100 * step)) }
        let now = start + .milliseconds(9_900)
        // A replica stuck at the very first position is ~9.9 s behind; the history only spans 2 s, but says at least that.
        #expect(history.lag(of: position(10), at: now) >= .seconds(2))
        // A replica 0.5 s behind is measured exactly.
        #expect(history.lag(of: position(940), at: now) == .milliseconds(500))
    }
}
