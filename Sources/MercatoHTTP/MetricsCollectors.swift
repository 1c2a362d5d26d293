import MercatoCache
import MercatoCatalog
import MercatoCheckout
import MercatoStorage
import MercatoSQL

/// Reads the counters other modules keep (atomics, no metrics dependency) into `/metrics` at scrape time.
enum MetricsCollectors {
    static func register(
        on metrics: ServerMetrics, cache: LayeredCache<CatalogResponse>?, checkout: CheckoutService, listener: InvalidationListener?,
        redis: RedisAvailability?, database: any SQLDatabase
    ) {
        if let redis {
            metrics.addCollector { metrics in
                let counts = redis.counts
                metrics.mirror("redis_failures", help: "Redis cache commands that failed or timed out (the request fell back).", value: counts.failures)
                metrics.mirror("redis_outages", help: "Times Redis became unavailable.", value: counts.outages)
                metrics.mirror("redis_skipped", help: "Cache commands not sent to Redis during an outage's pause.", value: counts.skipped)
            }
        }
        var caches: [(name: String, counters: CacheCounters)] = checkout.cacheCounters
        if let cache { caches.insert(("storefront", cache.counters), at: 0) }
        let named = caches
        metrics.addCollector { metrics in
            for (name, counters) in named {
                let counts = counters.snapshot
                // Each lookup is counted once, under the tier that answered it.
                for (tier, outcome, value) in counts.lookups {
                    metrics.mirror(
                        "cache_lookups", labels: [("cache", name), ("tier", tier), ("outcome", outcome)],
                        help: "Cache lookups by cache (storefront, pricing, availability), tier and outcome.", value: value)
                }
                metrics.mirror("cache_loads", labels: [("cache", name)], help: "Loads after a miss.", value: counts.loads)
                for (cause, value) in counts.missesByCause.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where name == "storefront" {
                    metrics.mirror(
                        "cache_misses", labels: [("cache", name), ("cause", cause.rawValue)],
                        help: "Storefront misses by cause: cold (first fill), invalidated (filled before under older versions), evicted (or expired).",
                        value: value)
                }
                metrics.mirror("cache_refreshes", labels: [("cache", name)], help: "Background refreshes (early or stale).", value: counts.refreshes)
            }
        }
        if let cache {
            metrics.addCollector { metrics in
                let near = cache.nearCache
                metrics.gauge("near_cache_size", unit: "bytes", labels: [("cache", "storefront")], help: "Bytes held by the near cache.", value: Double(near.bytes))
                metrics.gauge("near_cache_entries", labels: [("cache", "storefront")], help: "Entries in the near cache.", value: Double(near.count))
                metrics.mirror("near_cache_evictions", labels: [("cache", "storefront")], help: "Entries evicted for space.", value: near.evictions)
            }
        }
        let totals = checkout.totals
        metrics.addCollector { metrics in
            for call in ExternalCall.allCases {
                metrics.mirror(
                    "external_calls", labels: [("service", call.service), ("operation", call.name)],
                    help: "Calls to the inventory and tax services.", value: totals.count(call))
            }
        }
        if let listener {
            metrics.addCollector { metrics in
                let counts = listener.counters.snapshot
                metrics.mirror("invalidations_published", help: "Invalidation events published to Redis.", value: counts.published)
                metrics.mirror("invalidations_received", help: "Invalidation events received from Redis.", value: counts.received)
                metrics.mirror("invalidation_publish_failures", help: "Invalidation publishes that failed (retried).", value: counts.publishFailures)
                metrics.mirror("invalidation_reconnects", help: "Reconnects of the invalidation subscriber (each flushes the near cache).", value: counts.reconnects)
            }
        }
        if let replicated = database as? ReplicatedDatabase {
            metrics.addCollector { metrics in
                let reads = replicated.counters.snapshot
                metrics.mirror("db_reads", labels: [("target", "primary")], help: "Reads by target (writes and transactions always go to the primary).", value: reads.primary)
                metrics.mirror("db_reads", labels: [("target", "replica")], help: "Reads by target (writes and transactions always go to the primary).", value: reads.replica)
                metrics.mirror("db_replica_fallbacks", help: "Replica-eligible reads that went to the primary (fence not replayed, lag, or no healthy replica).", value: reads.fallbacks)
                metrics.mirror("db_replica_errors", help: "Replica reads that failed and were retried on the primary.", value: reads.replicaErrors)
                let waits = replicated.counters.fenceWaits
                let waitHelp = "Reads after a write that waited for the replica to replay it (MERCATO_REPLICA_FENCE_WAIT_MS): it did, or the primary answered."
                metrics.mirror("db_replica_fence_waits", labels: [("outcome", "replayed")], help: waitHelp, value: waits.replayed)
                metrics.mirror("db_replica_fence_waits", labels: [("outcome", "expired")], help: waitHelp, value: waits.expired)
                for replica in replicated.replicas {
                    metrics.gauge("db_replica_lag", unit: "bytes", labels: [("replica", replica.name)], help: "WAL bytes the replica is behind the primary.", value: Double(replicated.lagBytes(of: replica)))
                    metrics.gauge("db_replica_lag", unit: "seconds", labels: [("replica", replica.name)], help: "How long ago the primary was where the replica has replayed to.", value: replica.lag / .seconds(1))
                    metrics.gauge("db_replica_healthy", labels: [("replica", replica.name)], help: "1 when the replica answers.", value: replica.isHealthy ? 1 : 0)
                }
            }
        }
        metrics.addCollector { metrics in
            metrics.gauge(
                "db_statements_in_flight", help: "SQL statements running now; at the pool size (MERCATO_DB_POOL_SIZE) the pool is saturated.",
                value: Double(DatabaseActivity.inFlight.load(ordering: .relaxed)))
        }
        metrics.addCollector { metrics in
            // One cheap indexed count per scrape: reservations holding stock right now.
            if let held = try? await database.query("SELECT COUNT(*) FROM reservations WHERE status = 'held'").first?.int(0) {
                metrics.gauge("reservations_active", help: "Reservations holding stock.", value: Double(held))
            }
        }
    }
}
