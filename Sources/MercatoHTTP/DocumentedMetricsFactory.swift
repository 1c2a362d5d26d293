import CoreMetrics
import Prometheus

/// The swift-metrics factory of `mercato serve`: swift-prometheus's registry, with each metric's `# HELP` text.
///
/// `PrometheusMetricsFactory` registers every metric with empty help, and the registry refuses a second
/// registration of a name with other help, so help cannot be added afterwards. This factory passes each name's
/// text (fixed per name, `MetricHelp`) when it first registers it; everything else is what the library's
/// factory does.
struct DocumentedMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    /// Buckets of every timer: request-scale durations, finer than the library's default (5 ms and up).
    let durationBuckets: [Duration]
    let valueBuckets: [Double] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

    func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: MetricHelp.text[name] ?? "")
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: valueBuckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: durationBuckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}

/// The `# HELP` line of each metric `/metrics` exports (the README's metrics table says the same at more length).
enum MetricHelp {
    static let text: [String: String] = [
        "http_server_request_duration_seconds": "Duration of HTTP server requests.",
        "mercato_db_statements_total": "SQL statements run, by route.",
        "mercato_db_background_statements_total":
            "SQL statements run outside any request, by work: refresh (cache refreshes), release (reservations of failed checkouts), rollup (sales roll-up), sweep (expired reservations), probe (replica lag).",
        "mercato_cache_lookups_total": "Cache lookups by cache (storefront, pricing, availability), tier and outcome.",
        "mercato_cache_loads_total": "Loads after a miss.",
        "mercato_cache_misses_total":
            "Storefront misses by cause: cold (first fill), invalidated (filled before under older versions), evicted (or expired).",
        "mercato_cache_refreshes_total": "Background refreshes (early or stale).",
        "mercato_near_cache_size_bytes": "Bytes held by the near cache.",
        "mercato_near_cache_entries": "Entries in the near cache.",
        "mercato_near_cache_evictions_total": "Entries evicted for space.",
        "mercato_external_calls_total": "Calls to the inventory and tax services.",
        "mercato_external_call_duration_seconds": "Duration of calls to the inventory and tax services, by outcome (ok, refused, unavailable, failed).",
        "mercato_edge_purges_total": "Purge requests to each edge cache, by outcome: sent (acknowledged), failed (error or timeout, queued for retry), retried.",
        "mercato_edge_purge_duration_seconds": "Duration of acknowledged edge purges, by edge.",
        "mercato_edge_purge_dropped_keys_total": "Surrogate keys whose purge was given up (attempts spent or queue full); their objects live until their TTL.",
        "mercato_invalidations_published_total": "Invalidation events published to Redis.",
        "mercato_invalidations_received_total": "Invalidation events received from Redis.",
        "mercato_invalidation_publish_failures_total": "Invalidation publishes that failed (retried).",
        "mercato_invalidation_reconnects_total": "Reconnects of the invalidation subscriber (each flushes the near cache).",
        "mercato_invalidation_lag_seconds": "Write to purge: publication of an invalidation to its arrival at this instance.",
        "mercato_reservations_active": "Reservations holding stock.",
        "mercato_db_reads_total": "Reads by target (writes and transactions always go to the primary).",
        "mercato_db_replica_fallbacks_total": "Replica-eligible reads that went to the primary (fence not replayed, lag, or no healthy replica).",
        "mercato_db_replica_errors_total": "Replica reads that failed and were retried on the primary.",
        "mercato_db_replica_fence_waits_total":
            "Reads after a write that waited for the replica to replay it (MERCATO_REPLICA_FENCE_WAIT_MS): it did, or the primary answered.",
        "mercato_db_replica_lag_bytes": "WAL bytes the replica is behind the primary.",
        "mercato_db_replica_lag_seconds": "How long ago the primary was where the replica has replayed to.",
        "mercato_db_replica_healthy": "1 when the replica answers.",
        "mercato_db_statements_in_flight": "SQL statements running now; at the pool size (MERCATO_DB_POOL_SIZE) the pool is saturated.",
        "mercato_http_connections": "Open HTTP connections (MERCATO_MAX_CONNECTIONS is the limit).",
        "mercato_redis_command_duration_seconds": "Duration of Redis cache tier commands, by command and outcome (ok, error).",
        "mercato_redis_failures_total": "Redis cache commands that failed or timed out (the request fell back).",
        "mercato_redis_outages_total": "Times Redis became unavailable.",
        "mercato_redis_skipped_total": "Cache commands not sent to Redis during an outage's pause.",
    ]
}
