/// A merchant's catalog changed: cached responses of that merchant must not be served any more.
public struct InvalidationEvent: Sendable, Hashable, Codable {
    /// The cache namespace (the merchant's slug: storefront URLs carry it, so keys can be built without a query).
    public var namespace: String
    /// What changed, for edge purges by surrogate key and finer invalidation later.
    public var surrogateKeys: [String]

    public init(namespace: String, surrogateKeys: [String]) {
        self.namespace = namespace
        self.surrogateKeys = surrogateKeys
    }
}

/// Delivers invalidation events to every instance's caches. `publish` returns once local caches
/// are invalidated and the event is handed to the transport, so a write's response never races its purge.
public protocol InvalidationBus: Sendable {
    func publish(_ event: InvalidationEvent) async throws
}

/// The embedded bus: one process, so publishing applies the event to the local generations directly.
public struct InProcessInvalidationBus: InvalidationBus {
    let generations: GenerationMap

    public init(generations: GenerationMap) { self.generations = generations }

    public func publish(_ event: InvalidationEvent) async throws {
        generations.bump(event.namespace)
    }
}
