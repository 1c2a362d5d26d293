import MercatoCore
/// A merchant's catalog changed: cached responses of that merchant must not be served any more.
public struct InvalidationEvent: Sendable, Hashable, Codable {
    /// The cache namespace (the merchant's slug: storefront URLs carry it, so keys can be built without a query).
    public var namespace: String
    /// What changed, for edge purges by surrogate key and finer invalidation later.
    public var surrogateKeys: [String]
    /// The primary's WAL position after the write (with read replicas), so refills elsewhere wait for it.
    public var walPosition: String?
    /// What the write moved in the namespace's sort dimensions, so values it did not touch stay valid
    /// (nil: not described, every value of the namespace is invalid).
    public var moves: [SortMove]?

    public init(namespace: String, surrogateKeys: [String], walPosition: String? = nil, moves: [SortMove]? = nil) {
        self.namespace = namespace
        self.surrogateKeys = surrogateKeys
        self.walPosition = walPosition
        self.moves = moves
    }
}

/// A small fact pushed to every instance instead of invalidated (e.g. a variant's stock level), with
/// the version its write gave it: a receiver keeps the highest version, so order of arrival does not matter.
public struct PushedFact: Sendable, Hashable, Codable {
    public var key: String
    public var value: Int64
    public var version: Int64

    public init(key: String, value: Int64, version: Int64) {
        self.key = key
        self.value = value
        self.version = version
    }
}

/// Where pushed facts land on an instance.
public protocol FactSink: Sendable {
    /// Applies facts; each replaces what is held only if its version is newer.
    func apply(_ facts: [PushedFact])
    /// Pushes may have been lost (a dropped subscription): forget every fact, reload on demand.
    func reset()
}

/// Delivers invalidation events to every instance's caches. `publish` returns once local caches
/// are invalidated and the event is handed to the transport, so a write's response never races its purge.
public protocol InvalidationBus: Sendable {
    func publish(_ event: InvalidationEvent) async throws
    /// Publishes one write's events in order; a decorator may act once for all of them (one edge purge per write).
    func publish(_ events: [InvalidationEvent]) async throws
    /// Applies facts here, then hands them to the transport for every other instance.
    func push(_ facts: [PushedFact]) async
}

extension InvalidationBus {
    public func publish(_ events: [InvalidationEvent]) async throws {
        for event in events { try await publish(event) }
    }
}

/// The embedded bus: one process, so publishing applies the event to the local generations directly.
public struct InProcessInvalidationBus: InvalidationBus {
    let generations: GenerationMap
    let facts: (any FactSink)?

    public init(generations: GenerationMap, facts: (any FactSink)? = nil) {
        self.generations = generations
        self.facts = facts
    }

    public func publish(_ event: InvalidationEvent) async throws {
        let generation = generations.bump(event.namespace)
        if let moves = event.moves { generations.changes.record(event.namespace, generation: generation, moves: moves) }
    }

    public func push(_ facts: [PushedFact]) async {
        self.facts?.apply(facts)
    }
}
