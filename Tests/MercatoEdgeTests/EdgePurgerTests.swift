import Logging
import MercatoCache
import MetricsTestKit
import Synchronization
import Testing
@testable import MercatoEdge

/// Records every send; nodes listed in `failing` fail until removed. No network, no clock waits.
final class RecordingTransport: PurgeTransport {
    struct Call: Equatable {
        var node: EdgeNode
        var purge: Purge
    }

    let state = Mutex<(calls: [Call], failing: Set<EdgeNode>, log: [String])>(([], [], []))

    var calls: [Call] { state.withLock { $0.calls } }
    func fail(_ node: EdgeNode, _ failing: Bool) { state.withLock { if failing { $0.failing.insert(node) } else { $0.failing.remove(node) } } }
    func note(_ line: String) { state.withLock { $0.log.append(line) } }
    var log: [String] { state.withLock { $0.log } }

    func send(_ purge: Purge, to node: EdgeNode, timeout: Duration) async throws(PurgeError) {
        let failing = state.withLock { state in
            state.calls.append(Call(node: node, purge: purge))
            state.log.append("purge \(purge.hard.sorted().joined(separator: " "))")
            return state.failing.contains(node)
        }
        if failing { throw .unreachable(node: node.description, detail: "down") }
    }

    func shutdown() async {}
}

/// A bus that notes each publish in the transport's log, so the order of publish and purge is visible.
struct NotingBus: InvalidationBus {
    let transport: RecordingTransport
    func publish(_ event: InvalidationEvent) async throws { transport.note("publish \(event.namespace)") }
    func push(_ facts: [PushedFact]) async { transport.note("push \(facts.count)") }
}

@Suite struct EdgePurgerTests {
    let a = EdgeNode(url: "http://127.0.0.1:6081")!
    let b = EdgeNode(url: "http://127.0.0.1:6082")!

    func purger(_ transport: RecordingTransport, metrics: TestMetrics = TestMetrics(), repurge: Duration = .seconds(2)) -> EdgePurger {
        EdgePurger(
            options: EdgePurgeOptions(nodes: [a, b], repurgeDelay: repurge, maxAttempts: 3, backoff: .milliseconds(50)),
            transport: transport, factory: metrics, logger: Logger(label: "test"))
    }

    @Test func purgeGoesToEveryNodeAndIsSentAgainAfterTheDelay() async {
        let transport = RecordingTransport()
        let purger = purger(transport)
        let before = ContinuousClock.now
        await purger.purge(Purge(hard: ["p:1"], soft: ["l:1:sales"]))
        #expect(Set(transport.calls.map(\.node)) == [a, b])
        #expect(purger.stats == EdgePurgeStats(sent: 2, pendingKeys: 2))
        await purger.sendDue(now: before + .seconds(1))
        #expect(transport.calls.count == 2)
        await purger.sendDue(now: .now + .seconds(2))
        #expect(transport.calls.count == 4)
        #expect(transport.calls.suffix(2).allSatisfy { $0.purge == Purge(hard: ["p:1"], soft: ["l:1:sales"]) })
        #expect(purger.stats == EdgePurgeStats(sent: 4))
    }

    @Test func failedNodeIsRetriedAndCountedWhileTheOtherIsNot() async throws {
        let transport = RecordingTransport()
        let metrics = TestMetrics()
        let purger = purger(transport, metrics: metrics, repurge: .zero)
        transport.fail(b, true)
        await purger.purge(Purge(hard: ["p:1"]))
        #expect(purger.stats == EdgePurgeStats(sent: 1, failed: 1, pendingKeys: 1))
        transport.fail(b, false)
        await purger.sendDue(now: .now + .seconds(1))
        #expect(transport.calls.last == RecordingTransport.Call(node: b, purge: Purge(hard: ["p:1"])))
        #expect(purger.stats == EdgePurgeStats(sent: 2, failed: 1, retried: 1))
        let failed = try metrics.expectCounter("mercato_edge_purges_total", [("node", b.description), ("outcome", "failed")])
        #expect(failed.totalValue == 1)
        let retried = try metrics.expectCounter("mercato_edge_purges_total", [("node", b.description), ("outcome", "retried")])
        #expect(retried.totalValue == 1)
        let sentA = try metrics.expectCounter("mercato_edge_purges_total", [("node", a.description), ("outcome", "sent")])
        #expect(sentA.totalValue == 1)
    }

    @Test func keysAreDroppedAndCountedWhenTheAttemptsAreSpent() async throws {
        let transport = RecordingTransport()
        let metrics = TestMetrics()
        let purger = purger(transport, metrics: metrics, repurge: .zero)
        transport.fail(a, true)
        await purger.purge(Purge(hard: ["p:1", "p:2"]))
        await purger.sendDue(now: .now + .seconds(10))
        await purger.sendDue(now: .now + .seconds(20))
        #expect(purger.stats == EdgePurgeStats(sent: 1, failed: 3, retried: 2, droppedKeys: 2))
        #expect(try metrics.expectCounter("mercato_edge_purge_dropped_keys_total").totalValue == 2)
    }

    @Test func busPurgesOnceAfterPublishingAllOfAWritesEvents() async throws {
        let transport = RecordingTransport()
        let bus = EdgePurgingInvalidationBus(inner: NotingBus(transport: transport), purger: purger(transport), softly: { $0.hasSuffix(":sales") })
        try await bus.publish([
            InvalidationEvent(namespace: "shop#product:1", surrogateKeys: ["p:1"]),
            InvalidationEvent(namespace: "shop#sales-order:root", surrogateKeys: ["l:7:sales"]),
            InvalidationEvent(namespace: "shop#prices", surrogateKeys: []),
        ])
        #expect(transport.log == ["publish shop#product:1", "publish shop#sales-order:root", "publish shop#prices", "purge p:1", "purge p:1"])
        #expect(transport.calls.map(\.purge) == [Purge(hard: ["p:1"], soft: ["l:7:sales"]), Purge(hard: ["p:1"], soft: ["l:7:sales"])])
        // Facts are the inner bus's business; an event without keys purges nothing.
        await bus.push([PushedFact(key: "v", value: 1, version: 1)])
        try await bus.publish(InvalidationEvent(namespace: "shop#prices", surrogateKeys: []))
        #expect(transport.log.suffix(2) == ["push 1", "publish shop#prices"])
        #expect(transport.calls.count == 2)
    }
}
