import NIOCore
import Testing

@testable import Redis
/// The pool's decisions, without sockets.
@Suite("Pool state")
struct PoolStateTests {
    private func isConnect(_ action: PoolState.LeaseAction) -> Bool {
        if case .connect = action { return true }
        return false
    }

    private func isWait(_ action: PoolState.LeaseAction) -> Bool {
        if case .wait = action { return true }
        return false
    }

    @Test func opensUpToTheLimitThenWaits() {
        var state = PoolState(maximumConnections: 2)
        let now = NIODeadline.now()
        #expect(self.isConnect(state.nextLeaseAction(now: now)))
        #expect(self.isConnect(state.nextLeaseAction(now: now)))
        #expect(self.isWait(state.nextLeaseAction(now: now)))
        #expect(state.connectionCount == 2)
    }

    @Test func afterAFailedConnectLeasesFailFastUntilTheBackoffPasses() {
        var configuration = RedisConfiguration()
        configuration.reconnectInitialDelay = .milliseconds(100)
        configuration.reconnectMaximumDelay = .milliseconds(400)
        var state = PoolState(maximumConnections: 4)
        let start = NIODeadline.now()

        #expect(self.isConnect(state.nextLeaseAction(now: start)))
        _ = state.connectFailed(error: .connectionFailed("refused"), now: start, configuration: configuration)
        #expect(state.connectionCount == 0)

        guard case .fail(let error) = state.nextLeaseAction(now: start + .milliseconds(50)) else {
            Issue.record("expected a fast failure inside the backoff window")
            return
        }
        #expect(error == .connectionFailed("refused"))

        // After the window one lease probes; others keep failing fast meanwhile.
        #expect(self.isConnect(state.nextLeaseAction(now: start + .milliseconds(100))))
        if case .fail = state.nextLeaseAction(now: start + .milliseconds(100)) {} else {
            Issue.record("a second lease must not connect while the probe is in flight")
        }

        // A second failure doubles the window.
        _ = state.connectFailed(error: .connectionFailed("refused"), now: start + .milliseconds(100), configuration: configuration)
        if case .fail = state.nextLeaseAction(now: start + .milliseconds(250)) {} else {
            Issue.record("expected the doubled backoff window")
        }
        #expect(self.isConnect(state.nextLeaseAction(now: start + .milliseconds(300))))
        let wasRecovering = state.connectSucceeded()
        #expect(wasRecovering)
        #expect(self.isConnect(state.nextLeaseAction(now: start + .milliseconds(300))))
    }

    @Test func closingRejectsLeases() {
        var state = PoolState(maximumConnections: 1)
        _ = state.close()
        guard case .fail(.clientClosed) = state.nextLeaseAction(now: .now()) else {
            Issue.record("expected clientClosed")
            return
        }
    }
}
