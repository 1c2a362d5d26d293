import Synchronization

/// What a run learns as it goes and later operations depend on: the ETags it has seen (for conditional
/// reads), the stock it believes the hot variants have (for the restock rule), the products it created
/// (for archives) and which categories it renamed.
///
/// The restock rule: a shop does not let its best sellers stay sold out. The run counts down the stock
/// it saw at discovery (or last set) with every checkout it creates; when a sale takes the last unit, or
/// a checkout is refused as sold out, it sets the variant's stock to `restockLevel` with an admin stock
/// write, once at a time per variant. Those writes are reported with the other stock writes and
/// counted apart (`restocks`).
final class RunState: Sendable {
    /// The quantity a restock sets.
    static let restockLevel = 200
    /// ETags remembered at most (a 100,000-product catalog read in every market and audience would
    /// otherwise hold millions); past it, new requests are not remembered.
    static let etagLimit = 200_000

    private struct State {
        var etags: [String: String] = [:]
        var stock: [String: Int64] = [:]
        var restocking: Set<String> = []
        var restocks = 0
        var created: [String] = []
        var createdHead = 0
        var renamed: Set<String> = []
    }

    private let state: Mutex<State>

    init(catalog: BenchCatalog) {
        state = Mutex(State(stock: Dictionary(catalog.hotVariants.map { ($0.id, $0.stock) }) { first, _ in first }))
    }

    func etag(_ key: String) -> String? { state.withLock { $0.etags[key] } }

    func remember(etag: String, for key: String) {
        state.withLock { state in
            if state.etags.count < Self.etagLimit || state.etags[key] != nil { state.etags[key] = etag }
        }
    }

    /// A checkout of one unit was created (or refused as sold out): true when the caller should restock now.
    func sold(_ variant: String, soldOut: Bool) -> Bool {
        state.withLock { state in
            let left = soldOut ? 0 : max(0, (state.stock[variant] ?? 0) - 1)
            state.stock[variant] = left
            guard left == 0, !state.restocking.contains(variant) else { return false }
            state.restocking.insert(variant)
            state.restocks += 1
            return true
        }
    }

    /// The restock of `variant` answered: `quantity` when it was applied, nil when it failed.
    func restocked(_ variant: String, quantity: Int64?) {
        state.withLock { state in
            state.restocking.remove(variant)
            if let quantity { state.stock[variant] = quantity }
        }
    }

    /// A stock write of the mix set `variant` to `quantity`.
    func stockSet(_ variant: String, to quantity: Int64) {
        state.withLock { $0.stock[variant] = quantity }
    }

    /// Restocks issued by the rule so far.
    var restocks: Int { state.withLock { $0.restocks } }

    func created(_ product: String) {
        state.withLock { $0.created.append(product) }
    }

    /// The oldest product the run created and has not archived yet.
    func takeCreated() -> String? {
        state.withLock { state in
            guard state.createdHead < state.created.count else { return nil }
            defer { state.createdHead += 1 }
            return state.created[state.createdHead]
        }
    }

    /// Flips whether `category` carries the bench's new name: true when it is renamed now.
    func toggleCategory(_ category: String) -> Bool {
        state.withLock { state in
            if state.renamed.remove(category) != nil { return false }
            state.renamed.insert(category)
            return true
        }
    }
}
