/// Which eviction/admission policy a `BoundedCache` uses.
public enum EvictionPolicy: Sendable {
    /// Window TinyLFU: a small LRU window, then a segmented LRU main area guarded by a frequency
    /// sketch, so one-hit wonders cannot push out popular entries (Einziger, Friedman, Manes 2017).
    case windowTinyLFU
    /// Plain least-recently-used, kept as the baseline the benchmark compares against.
    case lru
}

/// A byte-bounded key/value cache with W-TinyLFU or LRU eviction. Not thread-safe: `NearCache` wraps it.
public struct BoundedCache<Key: SketchKey, Value> {
    struct Entry {
        let key: Key
        var value: Value
        var cost: Int
    }

    // List ids in `nodes`.
    private static var window: Int { 0 }
    private static var probation: Int { 1 }
    private static var protected: Int { 2 }

    public let capacity: Int
    public let policy: EvictionPolicy
    private var index: [Key: Int] = [:]
    private var nodes = NodeLists<Entry>(lists: 3)
    private var sketch: FrequencySketch
    private var bytes = [0, 0, 0]
    private let windowCapacity: Int
    private let protectedCapacity: Int
    private let hashSeed: UInt64
    public private(set) var evictions = 0

    /// `capacity` in cost units (bytes); `expectedEntries` sizes the frequency sketch; `hashSeed` seeds its
    /// hash (random unless a test fixes it, see `SketchKey`).
    public init(capacity: Int, expectedEntries: Int, policy: EvictionPolicy = .windowTinyLFU, hashSeed: UInt64 = .random(in: .min ... .max)) {
        self.capacity = max(1, capacity)
        self.hashSeed = hashSeed
        self.policy = policy
        sketch = FrequencySketch(capacity: max(16, expectedEntries))
        windowCapacity = policy == .lru ? self.capacity : max(1, self.capacity / 100)
        protectedCapacity = (self.capacity - windowCapacity) * 8 / 10
    }

    public var count: Int { index.count }
    public var totalCost: Int { bytes.reduce(0, +) }

    /// Looks a key up, recording the access for admission decisions.
    public mutating func get(_ key: Key) -> Value? {
        if policy == .windowTinyLFU { sketch.increment(hash(key)) }
        guard let node = index[key] else { return nil }
        touch(node)
        return nodes[node].value
    }

    /// Looks a key up without counting an access or reordering.
    public func peek(_ key: Key) -> Value? {
        index[key].map { nodes[$0].value }
    }

    /// Inserts or replaces a value; may evict others (or, under W-TinyLFU, reject a cold newcomer later).
    public mutating func set(_ key: Key, _ value: Value, cost: Int) {
        guard cost <= capacity else { return }
        if let node = index[key] {
            let list = nodes.list(of: node)
            bytes[list] += cost - nodes[node].cost
            nodes[node] = Entry(key: key, value: value, cost: cost)
            touch(node)
            rebalance()
            return
        }
        let node = nodes.allocate(Entry(key: key, value: value, cost: cost))
        index[key] = node
        nodes.pushFront(node, list: Self.window)
        bytes[Self.window] += cost
        rebalance()
    }

    @discardableResult
    public mutating func remove(_ key: Key) -> Value? {
        guard let node = index.removeValue(forKey: key) else { return nil }
        let entry = nodes[node]
        bytes[nodes.list(of: node)] -= entry.cost
        nodes.release(node)
        return entry.value
    }

    public mutating func removeAll() {
        index.removeAll()
        nodes = NodeLists<Entry>(lists: 3)
        bytes = [0, 0, 0]
    }

    // MARK: policy

    private func hash(_ key: Key) -> UInt64 {
        key.sketchHash(seed: hashSeed)
    }

    private mutating func touch(_ node: Int) {
        let list = nodes.list(of: node)
        if list == Self.probation {
            // A second hit promotes to the protected segment.
            move(node, to: Self.protected)
            while bytes[Self.protected] > protectedCapacity, let demoted = nodes.tail(Self.protected), demoted != node {
                move(demoted, to: Self.probation)
            }
        } else {
            nodes.pushFront(node, list: list)
        }
    }

    private mutating func move(_ node: Int, to list: Int) {
        let cost = nodes[node].cost
        bytes[nodes.list(of: node)] -= cost
        nodes.pushFront(node, list: list)
        bytes[list] += cost
    }

    private mutating func evict(_ node: Int) {
        index.removeValue(forKey: nodes[node].key)
        bytes[nodes.list(of: node)] -= nodes[node].cost
        nodes.release(node)
        evictions += 1
    }

    private mutating func rebalance() {
        if policy == .lru {
            while totalCost > capacity, let victim = nodes.tail(Self.window) { evict(victim) }
            return
        }
        // Entries leaving the window compete with the main area's LRU victim on frequency.
        while bytes[Self.window] > windowCapacity, let candidate = nodes.tail(Self.window) {
            move(candidate, to: Self.probation)
            admit(candidate)
        }
        while totalCost > capacity {
            guard let victim = nodes.tail(Self.probation) ?? nodes.tail(Self.protected) ?? nodes.tail(Self.window) else { break }
            evict(victim)
        }
    }

    /// The candidate (now at the probation head) stays only if it is more popular than what it displaces.
    private mutating func admit(_ candidate: Int) {
        let candidateFrequency = sketch.frequency(hash(nodes[candidate].key))
        while bytes[Self.probation] + bytes[Self.protected] > capacity - windowCapacity {
            guard let victim = nodes.tail(Self.probation) ?? nodes.tail(Self.protected), victim != candidate else { break }
            if candidateFrequency > sketch.frequency(hash(nodes[victim].key)) {
                evict(victim)
            } else {
                evict(candidate)
                return
            }
        }
    }
}
