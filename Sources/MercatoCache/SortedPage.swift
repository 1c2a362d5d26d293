/// What a sorted page (by price or by sales) shows, as far as its order goes: the range of sort values it
/// covers and its items in order. A page sorted by a value that writes keep moving stays valid while it
/// would still show the same products in the same order.
///
/// Invariant: `survives(_:)` is true only if replaying the moves leaves every item of the page in place,
/// no product outside the page enters its range, and no item can have crossed a neighbour on the pages
/// before or after it (whose keys it does not hold: it knows the cursor's value and that the next page
/// starts at or after its last item). `SortedPageTests` proves each case.
public struct SortedPage: Sendable, Equatable {
    /// One product of the page and the value it is sorted by.
    public struct Item: Sendable, Equatable {
        public var product: String
        public var key: Int64

        public init(product: String, key: Int64) {
            self.product = product
            self.key = key
        }
    }

    /// The values the page covers (nil: open end), inclusive: from the cursor to its last item.
    public var low: Int64?
    public var high: Int64?
    public var descending: Bool
    /// The items in page order; ties are broken by product id in the direction of the sort.
    public var items: [Item]
    /// Whether a page follows this one (then its first item comes at or after this page's last).
    public var hasNext: Bool

    public init(low: Int64?, high: Int64?, descending: Bool, items: [Item], hasNext: Bool) {
        self.low = low
        self.high = high
        self.descending = descending
        self.items = items
        self.hasNext = hasNext
    }

    /// Whether `a` comes strictly before `b` in page order.
    func precedes(_ a: Item, _ b: Item) -> Bool {
        if a.key != b.key { return descending ? a.key > b.key : a.key < b.key }
        return descending ? a.product > b.product : a.product < b.product
    }

    /// Whether the page shows the same products in the same order after `moves` (of its sort dimension,
    /// in the order they happened).
    public func survives(_ moves: some Sequence<SortMove>) -> Bool {
        var moved = items
        var index: [String: Int] = [:]
        for (position, item) in items.enumerated() { index[item.product] = position }
        for move in moves {
            if let product = move.product, let position = index[product] {
                // A chain that does not start where the page stands, or a product leaving the order.
                guard moved[position].key == move.from, let to = move.to else { return false }
                moved[position].key = to
            } else if move.touches(low: low, high: high) {
                return false
            }
        }
        for position in moved.indices.dropLast() where !precedes(moved[position], moved[position + 1]) { return false }
        if let first = moved.first, let original = items.first, first.key != original.key {
            // The cursor's own product id is not held: a tie with the cursor's value could go either way.
            let cursor = descending ? high : low
            if let cursor, descending ? first.key >= cursor : first.key <= cursor { return false }
        }
        if hasNext, let last = moved.last, let original = items.last {
            // The next page starts at or after the original last item: moving past it may swap pages.
            if descending ? last.key < original.key : last.key > original.key { return false }
        }
        return true
    }
}
