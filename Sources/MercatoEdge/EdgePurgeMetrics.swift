import Metrics

/// The purger's metrics: `mercato_edge_purges_total{node,outcome}` (sent, failed, retried, dropped keys
/// as `dropped`) and `mercato_edge_purge_duration_seconds{node}` (acknowledged sends).
struct EdgePurgeMetrics: Sendable {
    struct Node: Sendable {
        let sent: Counter
        let failed: Counter
        let retried: Counter
        let duration: Metrics.Timer
    }

    let nodes: [Node]
    let dropped: Counter

    init(nodes: [EdgeNode], factory: any MetricsFactory) {
        self.nodes = nodes.map { node in
            let name = node.description
            return Node(
                sent: Counter(label: "mercato_edge_purges_total", dimensions: [("node", name), ("outcome", "sent")], factory: factory),
                failed: Counter(label: "mercato_edge_purges_total", dimensions: [("node", name), ("outcome", "failed")], factory: factory),
                retried: Counter(label: "mercato_edge_purges_total", dimensions: [("node", name), ("outcome", "retried")], factory: factory),
                duration: Metrics.Timer(label: "mercato_edge_purge_duration_seconds", dimensions: [("node", name)], factory: factory))
        }
        dropped = Counter(label: "mercato_edge_purge_dropped_keys_total", factory: factory)
    }
}
