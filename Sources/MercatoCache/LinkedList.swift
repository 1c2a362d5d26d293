/// Intrusive doubly linked lists over an array of nodes (indices, not references: no ARC traffic
/// on the hot path). Several lists share one node storage; each node is in at most one list.
struct NodeLists<Payload> {
    struct Node {
        var payload: Payload?
        var prev = -1
        var next = -1
        var list = -1
    }

    struct ListHead {
        var head = -1  // most recently used
        var tail = -1  // least recently used
        var count = 0
    }

    private(set) var nodes: [Node] = []
    private var free: [Int] = []
    private(set) var lists: [ListHead]

    init(lists: Int) { self.lists = Array(repeating: ListHead(), count: lists) }

    /// Stores a payload in a fresh node (not yet in any list).
    mutating func allocate(_ payload: Payload) -> Int {
        if let index = free.popLast() {
            nodes[index] = Node(payload: payload)
            return index
        }
        nodes.append(Node(payload: payload))
        return nodes.count - 1
    }

    mutating func release(_ index: Int) {
        unlink(index)
        nodes[index].payload = nil
        free.append(index)
    }

    subscript(index: Int) -> Payload {
        get { nodes[index].payload! }
        set { nodes[index].payload = newValue }
    }

    func list(of index: Int) -> Int { nodes[index].list }
    func tail(_ list: Int) -> Int? { lists[list].tail >= 0 ? lists[list].tail : nil }
    func count(_ list: Int) -> Int { lists[list].count }

    /// Moves the node to the front (most recently used) of `list`.
    mutating func pushFront(_ index: Int, list: Int) {
        unlink(index)
        nodes[index].list = list
        nodes[index].next = lists[list].head
        nodes[index].prev = -1
        if lists[list].head >= 0 { nodes[lists[list].head].prev = index }
        lists[list].head = index
        if lists[list].tail < 0 { lists[list].tail = index }
        lists[list].count += 1
    }

    mutating func unlink(_ index: Int) {
        let list = nodes[index].list
        guard list >= 0 else { return }
        let (prev, next) = (nodes[index].prev, nodes[index].next)
        if prev >= 0 { nodes[prev].next = next } else { lists[list].head = next }
        if next >= 0 { nodes[next].prev = prev } else { lists[list].tail = prev }
        nodes[index].list = -1
        nodes[index].prev = -1
        nodes[index].next = -1
        lists[list].count -= 1
    }
}
