import MercatoCore
import Foundation
import Logging
import Metrics
import NIOCore
import Redis
import ServiceLifecycle
import Synchronization
import MercatoFences

/// Generations shared by every instance through Redis.
///
/// The authoritative counter of a namespace is `mercato:gen:<namespace>` (INCR on every write; names as in
/// `RedisKeyspace`). Each
/// instance keeps the values it has seen; a write publishes the new value on the invalidation channel
/// and every instance moves to it as the message arrives. A namespace not seen yet is read from Redis
/// once. When the subscription drops, messages may have been lost, so everything known is forgotten
/// (re-read on next use) and the near cache is flushed. While Redis is unreachable, reads use the last
/// known values (or a local epoch) and the Redis tier is skipped.
///
/// Tokens also carry the Redis server's `run_id`: a restarted Redis may come back empty (counters
/// restart at 0) or from an older snapshot (counters go back in time, next to entries stored under
/// them). Either way the run id changes, so no key built before the restart is built again.
public final class SharedGenerations: GenerationSource, InvalidationBus, Sendable {
    /// Where the counters and the invalidation channel live.
    public let keyspace: RedisKeyspace
    private let client: RedisClient
    let availability: RedisAvailability
    private let known = Mutex<[String: UInt64]>([:])
    private let changes = Atomic<UInt64>(0)

    public var revision: UInt64 { changes.load(ordering: .acquiring) }
    /// The Redis server's run id, read once per connection lifetime.
    private let runID = Mutex<String?>(nil)
    /// Numbers the tokens handed out while the shared generation cannot be read (see `localEpoch`).
    private let localTokens = Atomic<UInt64>(0)
    /// Writes whose INCR/PUBLISH failed: retried by `InvalidationListener` until Redis is back.
    let pending = Mutex<Set<String>>([])
    private let logger: Logger
    /// Whether this instance hears the invalidation channel (state that reads depend on, not a metric).
    let subscription = SubscriptionState()
    let metrics: InvalidationMetrics
    /// Where pushed facts land on this instance (and on every other, through the channel).
    let facts: (any FactSink)?
    /// Moves described by writes, by the shared generation they produced.
    let changeLog = ChangeLog()

    /// `metricsFactory`: where invalidation traffic is counted, by this instance and its `InvalidationListener`
    /// (by default nowhere).
    public init(
        client: RedisClient, availability: RedisAvailability, logger: Logger, keyspace: RedisKeyspace = RedisKeyspace(), facts: (any FactSink)? = nil,
        metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        self.metrics = InvalidationMetrics(factory: metricsFactory)
        self.facts = facts
        self.keyspace = keyspace
        self.client = client
        self.availability = availability
        self.logger = logger
    }


    public func generation(of namespace: String) async -> String {
        // A write's bump that has not reached Redis yet: the stored value is still the one before the write,
        // so a key built from it could serve what the write replaced (found by the fault suite: old listing
        // prices after a write while Redis flapped). Nothing is cached under it until the retry lands.
        if pending.withLock({ $0.contains(namespace) }) { return localEpoch(namespace) }
        if let run = runID.withLock({ $0 }), let value = known.withLock({ $0[namespace] }) { return "\(value)@\(run)" }
        guard availability.shouldTry() else { return localEpoch(namespace) }
        do {
            let run = try await serverRunID()
            let stored = try await client.get(keyspace.generationKey(namespace)).flatMap { UInt64(String(buffer: $0)) } ?? 0
            availability.succeeded()
            return "\(apply(namespace, stored))@\(run)"
        } catch {
            availability.failed(error)
            return localEpoch(namespace)
        }
    }

    /// Known generations under one lock; the unknown ones one by one (once per instance and namespace).
    public func generations(of namespaces: [String]) async -> [String] {
        let known: [String?]? = runID.withLock({ $0 }).map { run in
            self.known.withLock { known in namespaces.map { known[$0].map { "\($0)@\(run)" } } }
        }
        var tokens: [String] = []
        tokens.reserveCapacity(namespaces.count)
        for (index, namespace) in namespaces.enumerated() {
            if let token = known?[index] { tokens.append(token) } else { tokens.append(await generation(of: namespace)) }
        }
        return tokens
    }

    /// Used while the shared generation cannot be read: a token never handed out before, so nothing
    /// cached under an earlier one is served. Without the shared value this instance cannot know what
    /// other instances wrote, and a stable local token served their old data for as long as Redis reads
    /// kept failing (found by the fault suite in CI: stale reads for 33 s after Redis came back).
    private func localEpoch(_ namespace: String) -> String {
        "local\(localTokens.add(1, ordering: .relaxed).newValue)"
    }

    private func serverRunID() async throws -> String {
        if let run = runID.withLock({ $0 }) { return run }
        let info = try await client.send(RedisCommand(["INFO", "server"]))
        let text = info.buffer.map { String(buffer: $0) } ?? info.string ?? ""
        guard let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("run_id:") }) else {
            throw RedisError.unexpectedReply(command: "INFO", reply: "no run_id")
        }
        let run = String(line.dropFirst("run_id:".count).prefix(12))
        runID.withLock { $0 = run }
        return run
    }

    /// Moves to `generation` if it is newer than what this instance knows.
    @discardableResult
    func apply(_ namespace: String, _ generation: UInt64) -> UInt64 {
        let next = known.withLock { known in
            let next = max(known[namespace] ?? 0, generation)
            known[namespace] = next
            return next
        }
        changes.add(1, ordering: .releasing)
        return next
    }

    /// Forgets every generation and the server's run id (after a lost subscription); they are re-read
    /// from Redis on next use.
    func forgetAll() {
        known.withLock { $0.removeAll() }
        runID.withLock { $0 = nil }
        self.changes.add(1, ordering: .releasing)
        changeLog.removeAll()
    }

    /// Tokens are `<generation>@<run id>`; moves are known only within one run of Redis.
    public func moves(of namespace: String, from: String, to: String) -> [SortMove]? {
        let a = from.split(separator: "@"), b = to.split(separator: "@")
        guard a.count == 2, b.count == 2, a[1] == b[1], let after = UInt64(a[0]), let upTo = UInt64(b[0]) else { return nil }
        return changeLog.moves(of: namespace, after: after, upTo: upTo)
    }

    /// INCR the namespace, adopt the new value here, and tell the other instances.
    public func publish(_ event: InvalidationEvent) async throws {
        do {
            try await bumpAndAnnounce(event)
        } catch {
            // The write has committed; do not fail it. Invalidate locally now, retry the shared bump.
            availability.failed(error)
            known.withLock { $0[event.namespace] = nil }
            changes.add(1, ordering: .releasing)
            _ = pending.withLock { $0.insert(event.namespace) }
            metrics.publishFailures.increment()
            logger.warning("could not publish an invalidation; will retry", metadata: ["namespace": "\(event.namespace)", "error": "\(error)"])
        }
    }

    private func bumpAndAnnounce(_ event: InvalidationEvent) async throws {
        let generation = try await client.incr(keyspace.generationKey(event.namespace))
        if let moves = event.moves { changeLog.record(event.namespace, generation: UInt64(generation), moves: moves) }
        apply(event.namespace, UInt64(generation))
        let message = InvalidationMessage(
            namespace: event.namespace, generation: UInt64(generation), surrogateKeys: event.surrogateKeys, sentAt: Date().timeIntervalSince1970,
            walPosition: event.walPosition, moves: event.moves)
        try await client.publish(ByteBuffer(bytes: try JSONEncoder().encode(message)), to: keyspace.invalidationChannel)
        availability.succeeded()
        metrics.published.increment()
    }

    /// Applies facts here, then publishes them. When that fails, other instances may now hold older
    /// levels: once Redis answers again they are told to forget their facts (and reload them).
    public func push(_ pushed: [PushedFact]) async {
        guard !pushed.isEmpty else { return }
        facts?.apply(pushed)
        do {
            let message = InvalidationMessage(namespace: "", generation: 0, surrogateKeys: [], sentAt: Date().timeIntervalSince1970, facts: pushed)
            try await client.publish(ByteBuffer(bytes: try JSONEncoder().encode(message)), to: keyspace.invalidationChannel)
            availability.succeeded()
        } catch {
            availability.failed(error)
            _ = pending.withLock { $0.insert(Self.factsLost) }
            metrics.publishFailures.increment()
            logger.warning("could not push stock levels; instances will reload them", metadata: ["error": "\(error)"])
        }
    }

    /// A pending entry that is not a namespace: pushed facts were lost.
    static let factsLost = "\u{0}facts-lost"

    /// Retries the shared bumps of writes made while Redis was unreachable.
    func retryPending() async {
        let namespaces = pending.withLock { $0 }
        for namespace in namespaces {
            do {
                if namespace == Self.factsLost {
                    let message = InvalidationMessage(
                        namespace: "", generation: 0, surrogateKeys: [], sentAt: Date().timeIntervalSince1970, resetFacts: true)
                    try await client.publish(ByteBuffer(bytes: try JSONEncoder().encode(message)), to: keyspace.invalidationChannel)
                    _ = pending.withLock { $0.remove(namespace) }
                    continue
                }
                try await bumpAndAnnounce(InvalidationEvent(namespace: namespace, surrogateKeys: []))
                _ = pending.withLock { $0.remove(namespace) }
            } catch {
                return
            }
        }
    }

    var hasPending: Bool { pending.withLock { !$0.isEmpty } }
}

/// What travels on the invalidation channel.
struct InvalidationMessage: Codable, Sendable {
    var namespace: String
    var generation: UInt64
    var surrogateKeys: [String]
    /// Unix seconds when published, for the write→purge lag measurement.
    var sentAt: Double
    /// The primary's WAL position after the write (read replicas only).
    var walPosition: String?
    /// Pushed facts (then `namespace` is empty and nothing is invalidated).
    var facts: [PushedFact]?
    /// Facts pushed earlier were lost: forget every fact.
    var resetFacts: Bool?
    /// What the write moved (see `InvalidationEvent.moves`).
    var moves: [SortMove]?
}

/// Invalidation traffic, recorded through swift-metrics (names as `/metrics` exports them).
struct InvalidationMetrics: Sendable {
    let published: Counter
    let received: Counter
    /// Publishes that failed (retried).
    let publishFailures: Counter
    /// Reconnects of the subscriber (each flushes the near cache).
    let reconnects: Counter
    /// Write to purge: an invalidation's publication (on any instance) to its arrival here.
    let lag: Timer

    init(factory: any MetricsFactory) {
        published = Counter(label: "mercato_invalidations_published_total", factory: factory)
        received = Counter(label: "mercato_invalidations_received_total", factory: factory)
        publishFailures = Counter(label: "mercato_invalidation_publish_failures_total", factory: factory)
        reconnects = Counter(label: "mercato_invalidation_reconnects_total", factory: factory)
        lag = Timer(label: "mercato_invalidation_lag_seconds", factory: factory)
    }

    func recordLag(sentAt: Double) {
        lag.recordSeconds(max(0, Date().timeIntervalSince1970 - sentAt))
    }
}

/// Whether the invalidation subscription is up: reads trust the caches only while it is.
public final class SubscriptionState: Sendable {
    let subscribed = Atomic<Bool>(false)
    let listening = Atomic<Bool>(false)

    /// True once the first subscription was confirmed: from then on, invalidations from other instances arrive.
    public var isSubscribed: Bool { subscribed.load(ordering: .relaxed) }

    /// True while the subscription is up, so every other instance's invalidations and pushes arrive here.
    /// While it is false (before the first subscription, and from a lost connection to its return) this
    /// instance cannot know what others wrote, and its caches must not be trusted.
    public var isListening: Bool { listening.load(ordering: .acquiring) }
}

/// Receives invalidations from other instances (a Service): moves generations forward, and after a
/// reconnect flushes the near cache, since messages sent while disconnected are lost.
public final class InvalidationListener: Service, Sendable {
    let subscriber: RedisSubscriber
    let generations: SharedGenerations
    let onFlush: @Sendable () -> Void
    let fences: WriteFences?
    let logger: Logger

    /// `onFlush` empties the near cache(s) of this instance. What it receives, its reconnects and the write to
    /// purge lag are counted into the metrics factory of `generations`.
    public init(
        configuration: RedisConfiguration, generations: SharedGenerations, logger: Logger, fences: WriteFences? = nil,
        onFlush: @escaping @Sendable () -> Void
    ) {
        self.fences = fences
        self.subscriber = RedisSubscriber(configuration: configuration, channels: [generations.keyspace.invalidationChannel], logger: logger)
        self.generations = generations
        self.onFlush = onFlush
        self.logger = logger
    }

    /// Whether this instance hears other instances' invalidations.
    public var subscription: SubscriptionState { generations.subscription }

    public func run() async throws {
        // Everything here ends on cancellation; graceful shutdown cancels it.
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.subscriber.run() }
                group.addTask { await self.retryLoop() }
                for await event in self.subscriber.events {
                    await self.handle(event)
                }
                // The stream ends when the subscriber stops: cancel the retry loop, surface its error.
                group.cancelAll()
                try await group.waitForAll()
            }
        }
    }

    func handle(_ event: RedisSubscriberEvent) async {
        switch event {
        case .subscribed:
            // Generations read before the first subscription was confirmed may already be behind.
            generations.forgetAll()
            generations.facts?.reset()
            generations.subscription.subscribed.store(true, ordering: .relaxed)
            generations.subscription.listening.store(true, ordering: .releasing)
        case .disconnected:
            // Other instances' writes no longer reach this one: serve from the database until it hears again
            // (`isListening`), and forget facts now, so nothing pushed before can be mistaken for current.
            generations.subscription.listening.store(false, ordering: .releasing)
            generations.facts?.reset()
            logger.warning("invalidation subscription lost; storefront reads bypass the cache until it is back")
        case .reconnected:
            generations.metrics.reconnects.increment()
            generations.forgetAll()
            generations.facts?.reset()  // pushes sent meanwhile were lost too
            generations.availability.succeeded()  // Redis answers again: stop skipping it
            // Fences sent meanwhile were lost too: trust no replica for anything older than "now".
            await fences?.raiseToCurrent()
            onFlush()
            generations.subscription.listening.store(true, ordering: .releasing)
            logger.notice("invalidation subscription restored; near cache flushed")
        case .message(let message):
            guard let decoded = try? JSONDecoder().decode(InvalidationMessage.self, from: Data(message.payload.readableBytesView)) else {
                logger.warning("ignoring a malformed invalidation message")
                return
            }
            generations.metrics.received.increment()
            if let facts = decoded.facts {
                generations.facts?.apply(facts)
                generations.metrics.recordLag(sentAt: decoded.sentAt)
                return
            }
            if decoded.resetFacts == true {
                generations.facts?.reset()
                return
            }
            // The fence first: a refill under the new generation must already see it.
            if let text = decoded.walPosition, let position = WALPosition(text) {
                fences?.record(merchant: WriteFences.merchant(ofNamespace: decoded.namespace), at: position)
            }
            // The moves before the generation: a reader that sees the new generation finds them.
            if let moves = decoded.moves { generations.changeLog.record(decoded.namespace, generation: decoded.generation, moves: moves) }
            generations.apply(decoded.namespace, decoded.generation)
            // Wall clocks of two instances: on one host exact, across hosts as good as their clock sync.
            generations.metrics.recordLag(sentAt: decoded.sentAt)
        }
    }

    private func retryLoop() async {
        while !Task.isCancelled {
            if generations.hasPending { await generations.retryPending() }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
