import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// What the purger has done so far (the same counts `/metrics` exports), for tests and the bench.
public struct EdgePurgeStats: Sendable, Equatable {
    /// Sends acknowledged by an edge (first, retried and second sends).
    public var sent = 0
    /// Sends that failed or timed out.
    public var failed = 0
    /// Retries sent (each also counts as sent or failed).
    public var retried = 0
    /// Keys given up (attempts spent or queue full): their objects live until their TTL.
    public var droppedKeys = 0
    /// Keys waiting for a retry or a second send.
    public var pendingKeys = 0
}

/// Purges the edge caches after writes: every edge in parallel, the write waiting at most `options.timeout`;
/// what fails is retried from a bounded queue, and every purge is sent once more after `options.repurgeDelay`.
///
/// Runs as a Service: its loop sends the retries and second sends when due, and closes the connections
/// at shutdown.
public final class EdgePurger: Service, Sendable {
    public let options: EdgePurgeOptions
    let transport: any PurgeTransport
    let metrics: EdgePurgeMetrics
    let logger: Logger
    let state: Mutex<(schedule: PurgeSchedule, stats: EdgePurgeStats)>
    /// How often the loop looks for due sends: the granularity of retries and second sends, not of purges.
    let tick: Duration

    public init(
        options: EdgePurgeOptions, transport: any PurgeTransport = HTTPPurgeTransport(), factory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger, tick: Duration = .milliseconds(20)
    ) {
        self.options = options
        self.transport = transport
        self.metrics = EdgePurgeMetrics(nodes: options.nodes, factory: factory)
        self.logger = logger
        self.state = Mutex((PurgeSchedule(options: options), EdgePurgeStats()))
        self.tick = tick
    }

    public var stats: EdgePurgeStats {
        state.withLock { state in
            var stats = state.stats
            stats.pendingKeys = state.schedule.pendingKeys
            return stats
        }
    }

    /// Sends `purge` to every edge at once and returns when each has acknowledged it or failed (at most
    /// `options.timeout`); failures are queued for retry, and the purge's second send is scheduled.
    public func purge(_ purge: Purge) async {
        guard !purge.isEmpty, !options.nodes.isEmpty else { return }
        let now = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for node in options.nodes.indices {
                group.addTask { await self.send(PurgeSchedule.Send(node: node, purge: purge, attempt: 1)) }
            }
        }
        drop(state.withLock { $0.schedule.sent(purge, now: now) })
    }

    /// Sends what is due now (retries and second sends), each node in parallel.
    public func sendDue(now: ContinuousClock.Instant = .now) async {
        let due = state.withLock { $0.schedule.takeDue(now: now, nodes: options.nodes.count) }
        guard !due.isEmpty else { return }
        await withTaskGroup(of: Void.self) { group in
            for send in due { group.addTask { await self.send(send) } }
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.sendDue()
                let next = self.state.withLock { $0.schedule.nextDue }
                let wake = min(next ?? .now + self.tick, .now + self.tick)
                do { try await Task.sleep(until: wake) } catch { break }
            }
        }
        await transport.shutdown()
    }

    /// Sends one purge to one node; a failure is queued for retry.
    func send(_ send: PurgeSchedule.Send) async {
        let node = metrics.nodes[send.node]
        if send.attempt > 1 { node.retried.increment() }
        let start = ContinuousClock.now
        do {
            try await transport.send(send.purge, to: options.nodes[send.node], timeout: options.timeout)
            node.sent.increment()
            node.duration.recordNanoseconds(Int64((ContinuousClock.now - start) / .nanoseconds(1)))
            state.withLock { state in
                state.stats.sent += 1
                if send.attempt > 1 { state.stats.retried += 1 }
            }
        } catch {
            node.failed.increment()
            let dropped = state.withLock { state in
                state.stats.failed += 1
                if send.attempt > 1 { state.stats.retried += 1 }
                return state.schedule.failed(node: send.node, purge: send.purge, attempt: send.attempt, now: .now)
            }
            logger.warning(
                "edge purge failed", metadata: ["node": "\(options.nodes[send.node])", "attempt": "\(send.attempt)", "error": "\(error)"])
            drop(dropped)
        }
    }

    private func drop(_ keys: Int) {
        guard keys > 0 else { return }
        metrics.dropped.increment(by: keys)
        state.withLock { $0.stats.droppedKeys += keys }
        logger.error("edge purge keys dropped; their objects stay until their TTL", metadata: ["keys": "\(keys)"])
    }
}
