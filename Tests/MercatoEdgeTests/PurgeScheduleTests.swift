import Testing
@testable import MercatoEdge

@Suite struct PurgeScheduleTests {
    let start = ContinuousClock.now
    let options = EdgePurgeOptions(
        nodes: [EdgeNode(url: "http://127.0.0.1:6081")!, EdgeNode(url: "http://127.0.0.1:6082")!], repurgeDelay: .seconds(2), maxAttempts: 3,
        backoff: .milliseconds(50), maxBackoff: .milliseconds(150), queueLimit: 6)

    @Test func failedSendIsRetriedAfterItsBackoffThenGivenUp() {
        var schedule = PurgeSchedule(options: options)
        let purge = Purge(hard: ["p:1"])
        #expect(schedule.failed(node: 1, purge: purge, attempt: 1, now: start) == 0)
        #expect(schedule.nextDue == start + .milliseconds(50))
        #expect(schedule.takeDue(now: start + .milliseconds(49), nodes: 2).isEmpty)
        let due = schedule.takeDue(now: start + .milliseconds(50), nodes: 2)
        #expect(due == [PurgeSchedule.Send(node: 1, purge: purge, attempt: 2)])
        #expect(schedule.nextDue == nil)
        // The second retry waits twice as long; the third attempt is the last.
        _ = schedule.failed(node: 1, purge: purge, attempt: 2, now: start)
        #expect(schedule.nextDue == start + .milliseconds(100))
        _ = schedule.takeDue(now: start + .seconds(1), nodes: 2)
        #expect(schedule.failed(node: 1, purge: purge, attempt: 3, now: start) == 1)
        #expect(schedule.pendingKeys == 0)
    }

    @Test func failuresOfOneNodeMergeIntoOneRetryThatKeepsTheEarlierDueAndFullAttempts() {
        var schedule = PurgeSchedule(options: options)
        _ = schedule.failed(node: 0, purge: Purge(hard: ["p:1"]), attempt: 2, now: start)
        _ = schedule.failed(node: 0, purge: Purge(hard: ["p:2"], soft: ["l:1:sales"]), attempt: 1, now: start + .milliseconds(10))
        let due = schedule.takeDue(now: start + .seconds(1), nodes: 2)
        #expect(due == [PurgeSchedule.Send(node: 0, purge: Purge(hard: ["p:1", "p:2"], soft: ["l:1:sales"]), attempt: 2)])
    }

    @Test func sentPurgeIsSentToEveryNodeAgainAfterTheDelayCoalescingCloseOnes() {
        var schedule = PurgeSchedule(options: options)
        _ = schedule.sent(Purge(hard: ["p:1"]), now: start)
        _ = schedule.sent(Purge(hard: ["s:2"]), now: start + .milliseconds(30))
        _ = schedule.sent(Purge(hard: ["p:3"]), now: start + .milliseconds(500))
        // Never early: the merged repeat is due at the later of the two.
        #expect(schedule.takeDue(now: start + .milliseconds(2_010), nodes: 2).isEmpty)
        let due = schedule.takeDue(now: start + .milliseconds(2_030), nodes: 2)
        #expect(due == [0, 1].map { PurgeSchedule.Send(node: $0, purge: Purge(hard: ["p:1", "s:2"]), attempt: 1) })
        #expect(schedule.takeDue(now: start + .milliseconds(2_500), nodes: 2).map(\.purge) == [Purge(hard: ["p:3"]), Purge(hard: ["p:3"])])
    }

    @Test func dueRetryJoinsADueRepeatForItsNode() {
        var schedule = PurgeSchedule(options: options)
        _ = schedule.sent(Purge(hard: ["p:1"]), now: start)
        _ = schedule.failed(node: 1, purge: Purge(hard: ["p:9"]), attempt: 1, now: start + .seconds(2))
        let due = schedule.takeDue(now: start + .seconds(3), nodes: 2)
        #expect(due == [
            PurgeSchedule.Send(node: 0, purge: Purge(hard: ["p:1"]), attempt: 1),
            PurgeSchedule.Send(node: 1, purge: Purge(hard: ["p:1", "p:9"]), attempt: 2),
        ])
    }

    @Test func beyondTheLimitRepeatsAreDroppedFirstThenTheMostTriedRetries() {
        var schedule = PurgeSchedule(options: options)
        #expect(schedule.sent(Purge(hard: ["a", "b"]), now: start) == 0)
        #expect(schedule.failed(node: 0, purge: Purge(hard: ["c", "d"]), attempt: 2, now: start) == 0)
        #expect(schedule.failed(node: 1, purge: Purge(hard: ["e", "f"]), attempt: 1, now: start) == 0)
        #expect(schedule.pendingKeys == 6)
        // One more key: the repeat (2 keys) goes first.
        #expect(schedule.failed(node: 1, purge: Purge(hard: ["g"]), attempt: 1, now: start) == 2)
        #expect(schedule.pendingKeys == 5)
        // Three more: node 0's retry (attempt 3, the most tried) goes.
        #expect(schedule.failed(node: 1, purge: Purge(hard: ["h", "i"]), attempt: 1, now: start) == 2)
        #expect(schedule.takeDue(now: start + .seconds(10), nodes: 2).map(\.node) == [1])
    }

    @Test func zeroRepurgeDelaySchedulesNoSecondSend() {
        var options = options
        options.repurgeDelay = .zero
        var schedule = PurgeSchedule(options: options)
        #expect(schedule.sent(Purge(hard: ["p:1"]), now: start) == 0)
        #expect(schedule.nextDue == nil)
    }
}

@Suite struct PurgeTests {
    @Test func keyHardAnywhereIsNeverAlsoSoft() {
        let purge = Purge(hard: ["p:1"], soft: ["p:1", "l:1:sales"]).merged(with: Purge(soft: ["p:2"], ))
        #expect(purge.hard == ["p:1"])
        #expect(purge.soft == ["l:1:sales", "p:2"])
        #expect(Purge(hard: ["x"]).merged(with: Purge(soft: ["x"])) == Purge(hard: ["x"]))
        #expect(Purge(soft: ["x"]).merged(with: Purge(hard: ["x"])) == Purge(hard: ["x"]))
    }

    @Test func keysSplitByTheGivenRule() {
        let purge = Purge(keys: ["p:1", "c:2:sales", "m:3"], softly: { $0.hasSuffix(":sales") })
        #expect(purge == Purge(hard: ["p:1", "m:3"], soft: ["c:2:sales"]))
    }

    @Test func longKeyListsBecomeSeveralRequestsUnderTheHeaderLimit() {
        let keys = (1...1_000).map { "p:\($0)" }
        let requests = Purge(hard: keys, soft: ["l:1:sales"]).requests(maxHeaderBytes: 1_000)
        #expect(requests.count > 1)
        #expect(requests.allSatisfy { $0.hard.utf8.count <= 1_000 })
        #expect(Set(requests.flatMap { $0.hard.split(separator: " ").map(String.init) }) == Set(keys))
        #expect(requests.map(\.soft).filter { !$0.isEmpty } == ["l:1:sales"])
        #expect(Purge().requests().isEmpty)
    }
}

@Suite struct EdgeNodeTests {
    @Test func parsesHostAndPort() {
        #expect(EdgeNode(url: "http://127.0.0.1:6081")?.description == "http://127.0.0.1:6081")
        #expect(EdgeNode(url: "http://varnish.internal/")?.port == 80)
        #expect(EdgeNode(url: "http://[::1]:6081")?.host == "::1")
        #expect(EdgeNode(url: "http://[::1]:6081")?.description == "http://[::1]:6081")
    }

    @Test(arguments: ["", "127.0.0.1:6081", "https://edge:443", "http://", "http://edge:0", "http://edge:x", "http://edge:6081/purge", "http://u@edge"])
    func rejects(_ text: String) {
        #expect(EdgeNode(url: text) == nil)
    }

    @Test func backoffDoublesUpToItsBound() {
        let options = EdgePurgeOptions(backoff: .milliseconds(50), maxBackoff: .milliseconds(300))
        #expect((2...6).map(options.delay(beforeAttempt:)) == [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(300), .milliseconds(300)])
    }
}
