import MercatoCache
import MercatoCore
import MercatoStorage
import Synchronization

/// Stock levels and listing prices, held per instance and filled into cached responses when they
/// are served, so a sale does not invalidate anything.
///
/// Stock is a pushed fact: every change of a variant's level comes with the version the database gave
/// it (`variants.stock_version`), every instance receives it (`InvalidationBus.push`), and a level is
/// replaced only by a newer one, so pushes and loads can arrive in any order. Prices and the variant
/// list of a product change only through admin writes, which bump the product's generation; they are
/// kept per product under the generation read before they were loaded, so a load that began before a
/// write is never taken for the state after it.
///
/// Invariant: a level held here is never older than the newest level this instance has been told of
/// (pushed, loaded or written here). Loads are tagged with the epoch they started in; `reset` (pushes
/// may have been lost) moves the epoch, so a load that started before it cannot store into the new one.
public final class LiveAvailability: FactSink, Sendable {
    /// A variant's stock and the version of that level.
    public struct Level: Sendable, Equatable {
        public var stock: Int64
        public var version: Int64

        public init(stock: Int64, version: Int64) {
            self.stock = stock
            self.version = version
        }
    }

    /// What a listing shows of a product besides its text: which variants it has and its price per currency.
    public struct ProductFacts: Sendable, Equatable {
        public var variants: [VariantID]
        /// Cheapest variant price per currency code.
        public var prices: [String: Int64]

        public init(variants: [VariantID], prices: [String: Int64]) {
            self.variants = variants
            self.prices = prices
        }
    }

    struct State {
        var epoch: UInt64 = 0
        var levels: [VariantID: Level] = [:]
        var products: [ProductID: (merchantGeneration: String, productGeneration: String, facts: ProductFacts)] = [:]
    }

    private let state = Mutex(State())
    private let changes = Atomic<UInt64>(0)
    /// Entries held before everything is dropped (and reloaded on demand); bounds memory.
    let limit: Int

    public init(limit: Int = 500_000) { self.limit = limit }

    /// The current epoch: pass it back with what a load read.
    public var epoch: UInt64 { state.withLock { $0.epoch } }

    /// Moves whenever anything held may have changed: a fill made at one revision is still right at the same one.
    public var revision: UInt64 { changes.load(ordering: .acquiring) }

    private func changed() { changes.add(1, ordering: .releasing) }

    // MARK: writing

    /// Pushed levels (from this instance's writes or another's): newer versions win.
    public func apply(_ facts: [PushedFact]) {
        state.withLock { state in
            for fact in facts {
                guard let id = VariantID(fact.key) else { continue }
                Self.merge(&state, id, Level(stock: fact.value, version: fact.version))
            }
            trim(&state)
        }
        changed()
    }

    /// Levels read from the database by a load that began in `epoch`.
    public func store(levels: [VariantID: Level], epoch: UInt64) {
        state.withLock { state in
            guard state.epoch == epoch else { return }
            for (id, level) in levels { Self.merge(&state, id, level) }
            trim(&state)
        }
        changed()
    }

    /// A product's variants and prices read by a load that began in `epoch` under these generations
    /// (the merchant's and the product's); prices held for other currencies under the same ones are kept.
    public func store(product: ProductID, merchantGeneration: String, productGeneration: String, facts: ProductFacts, epoch: UInt64) {
        state.withLock { state in
            guard state.epoch == epoch else { return }
            var merged = facts
            if let held = state.products[product], held.merchantGeneration == merchantGeneration, held.productGeneration == productGeneration {
                merged.prices.merge(held.facts.prices) { new, _ in new }
            }
            state.products[product] = (merchantGeneration, productGeneration, merged)
            trim(&state)
        }
        changed()
    }

    public func reset() {
        state.withLock { state in
            state.epoch &+= 1
            state.levels.removeAll()
            state.products.removeAll()
        }
        changed()
    }

    // MARK: reading

    /// The levels of `variants`, or nil for the whole answer when one is not held.
    public func levels(_ variants: [VariantID]) -> [Level]? {
        state.withLock { state in
            var out: [Level] = []
            out.reserveCapacity(variants.count)
            for id in variants {
                guard let level = state.levels[id] else { return nil }
                out.append(level)
            }
            return out
        }
    }

    /// Per product (held under exactly the given generations, with every variant's level): whether some
    /// variant is in stock, its price in `currency`, and a version stamp of what was used. Missing
    /// products are left out of the answer.
    public func listingFacts(
        _ products: [ProductID], productGenerations: [String], merchantGeneration: String, currency: String
    ) -> [ProductID: ListingFacts] {
        state.withLock { state in
            var out: [ProductID: ListingFacts] = [:]
            out.reserveCapacity(products.count)
            for (id, generation) in zip(products, productGenerations) {
                guard let entry = state.products[id], entry.productGeneration == generation, entry.merchantGeneration == merchantGeneration,
                      let price = entry.facts.prices[currency]
                else { continue }
                var inStock = false
                var stamp: Int64 = 0
                var complete = true
                for variant in entry.facts.variants {
                    guard let level = state.levels[variant] else { complete = false; break }
                    if level.stock > 0 { inStock = true }
                    stamp = stamp &* 31 &+ level.version
                }
                if complete { out[id] = ListingFacts(inStock: inStock, price: price, stamp: stamp) }
            }
            return out
        }
    }

    /// What a listing item takes from the live facts.
    public struct ListingFacts: Sendable, Equatable {
        public var inStock: Bool
        public var price: Int64
        /// Changes whenever a level behind `inStock` changes (for validators).
        public var stamp: Int64
    }

    var counts: (levels: Int, products: Int) { state.withLock { ($0.levels.count, $0.products.count) } }

    // MARK: helpers

    private static func merge(_ state: inout State, _ id: VariantID, _ level: Level) {
        if let held = state.levels[id], held.version >= level.version { return }
        state.levels[id] = level
    }

    private func trim(_ state: inout State) {
        // Rare and safe: dropped facts are reloaded on demand, and the epoch keeps older loads out.
        guard state.levels.count + state.products.count > limit else { return }
        state.epoch &+= 1
        state.levels.removeAll(keepingCapacity: true)
        state.products.removeAll(keepingCapacity: true)
    }
}
