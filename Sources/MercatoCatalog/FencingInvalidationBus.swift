import MercatoCache
import MercatoCore
import MercatoFences

/// Adds read-your-writes to a bus: before an event goes out, the primary's WAL position is recorded as
/// the merchant's fence here and sent along, so no instance refills from a replica behind the write.
public struct FencingInvalidationBus: InvalidationBus {
    let inner: any InvalidationBus
    let fences: WriteFences
    let position: @Sendable () async throws -> WALPosition

    public init(inner: any InvalidationBus, fences: WriteFences, position: @escaping @Sendable () async throws -> WALPosition) {
        self.inner = inner
        self.fences = fences
        self.position = position
    }

    public func publish(_ event: InvalidationEvent) async throws {
        try await inner.publish(await fenced(event))
    }

    public func publish(_ events: [InvalidationEvent]) async throws {
        var fencedEvents: [InvalidationEvent] = []
        for event in events { fencedEvents.append(await fenced(event)) }
        try await inner.publish(fencedEvents)
    }

    private func fenced(_ event: InvalidationEvent) async -> InvalidationEvent {
        var event = event
        do {
            let now = try await position()
            fences.record(merchant: WriteFences.merchant(ofNamespace: event.namespace), at: now)
            FenceReport.current?.note(now)
            event.walPosition = now.description
        } catch {
            // Without the position, reads of this merchant must not trust any replica.
            fences.record(merchant: WriteFences.merchant(ofNamespace: event.namespace), at: WALPosition(value: .max))
        }
        return event
    }

    /// Facts carry their values: nothing is refilled from a database, so no fence is needed.
    public func push(_ facts: [PushedFact]) async {
        await inner.push(facts)
    }
}
