import Logging
import MercatoCache
import Metrics

/// Adds edge purges to a bus: once the events are published (local caches invalidated, other instances
/// told), their surrogate keys are purged from every edge before `publish` returns, so a write's response
/// never precedes its purge (bounded by the purger's timeout).
///
/// Only the instance that made a write wraps its bus so: events heard from other instances are never
/// purged again, so each write reaches the edge once.
public struct EdgePurgingInvalidationBus: InvalidationBus {
    let inner: any InvalidationBus
    let purger: EdgePurger
    /// Keys whose stale copies may be served once while refetched (e.g. an order the roll-up moved).
    let softly: @Sendable (String) -> Bool

    public init(inner: any InvalidationBus, purger: EdgePurger, softly: @escaping @Sendable (String) -> Bool) {
        self.inner = inner
        self.purger = purger
        self.softly = softly
    }

    public func publish(_ event: InvalidationEvent) async throws {
        try await publish([event])
    }

    public func publish(_ events: [InvalidationEvent]) async throws {
        // The write has committed: purge even if telling the other instances failed.
        do {
            try await inner.publish(events)
        } catch {
            await purge(events)
            throw error
        }
        await purge(events)
    }

    public func push(_ facts: [PushedFact]) async {
        await inner.push(facts)
    }

    private func purge(_ events: [InvalidationEvent]) async {
        await purger.purge(Purge(keys: events.lazy.flatMap(\.surrogateKeys), softly: softly))
    }
}

extension EdgePurgingInvalidationBus {
    /// `bus` purging the edges of `options` after each publish, and the purger to run as a Service; without
    /// edges, `bus` itself and no purger. The one way a process that writes gets its edge purges.
    public static func wrapping(
        _ bus: any InvalidationBus, options: EdgePurgeOptions, softly: @escaping @Sendable (String) -> Bool,
        factory: any MetricsFactory = MetricsSystem.factory, logger: Logger
    ) -> (bus: any InvalidationBus, purger: EdgePurger?) {
        guard !options.nodes.isEmpty else { return (bus, nil) }
        let purger = EdgePurger(options: options, factory: factory, logger: logger)
        return (EdgePurgingInvalidationBus(inner: bus, purger: purger, softly: softly), purger)
    }
}
