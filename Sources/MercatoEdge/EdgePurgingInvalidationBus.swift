import MercatoCache

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
