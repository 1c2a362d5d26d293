import MercatoCache
import MercatoCatalog
import MercatoHTTPBoundary
import MercatoSQL

/// Gauges of "now", set at scrape time. Legitimately so: each is a current value (contents, lag, activity, rows),
/// not a count of events, so there is nothing to record as it happens. Counts are recorded by the components
/// themselves, through the metrics factory they were given.
enum MetricsCollectors {
    static func register(on metrics: ServerMetrics, cache: LayeredCache<CatalogResponse>?, database: any DatabaseClient, connections: ConnectionGate) {
        if let cache {
            metrics.addCollector { metrics in
                let near = cache.nearCache
                metrics.gauge("near_cache_size", unit: "bytes", labels: [("cache", "storefront")], value: Double(near.bytes))
                metrics.gauge("near_cache_entries", labels: [("cache", "storefront")], value: Double(near.count))
            }
        }
        if let replicated = database as? ReplicatedDatabase {
            metrics.addCollector { metrics in
                for replica in replicated.replicas {
                    metrics.gauge("db_replica_lag", unit: "bytes", labels: [("replica", replica.name)], value: Double(replicated.lagBytes(of: replica)))
                    metrics.gauge("db_replica_lag", unit: "seconds", labels: [("replica", replica.name)], value: replica.lag / .seconds(1))
                    metrics.gauge("db_replica_healthy", labels: [("replica", replica.name)], value: replica.isHealthy ? 1 : 0)
                }
            }
        }
        metrics.addCollector { metrics in
            // Statements running now; at the pool size (MERCATO_DB_POOL_SIZE) the pool is saturated.
            metrics.gauge("db_statements_in_flight", value: Double(DatabaseActivity.inFlight.load(ordering: .relaxed)))
            // Open HTTP connections admitted (MERCATO_MAX_CONNECTIONS is the limit).
            metrics.gauge("http_connections", value: Double(connections.count))
        }
        metrics.addCollector { metrics in
            // One cheap indexed count per scrape: reservations holding stock right now.
            if let held = try? await database.query("SELECT COUNT(*) FROM reservations WHERE status = 'held'").first?.int(0) {
                metrics.gauge("reservations_active", value: Double(held))
            }
        }
    }
}
