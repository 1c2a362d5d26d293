/// How this instance purges its edge caches (Varnish with `vmod_xkey`).
public struct EdgePurgeOptions: Sendable, Equatable {
    /// The edges' addresses (`MERCATO_EDGE_PURGE_URLS`); empty: no edge, nothing is purged.
    public var nodes: [EdgeNode]
    /// How long a write's response waits for every edge's acknowledgement (`MERCATO_EDGE_PURGE_TIMEOUT_MS`).
    public var timeout: Duration
    /// When each purge is sent again (`MERCATO_EDGE_REPURGE_DELAY_MS`; zero: never). Closes what an edge
    /// cannot see at purge time: another instance that had not yet heard of the write when it answered a fill.
    public var repurgeDelay: Duration
    /// How long an edge may keep a public storefront answer (`MERCATO_EDGE_TTL_SECONDS`, sent as
    /// `Surrogate-Control: max-age`): every write purges what it changed, so this only bounds a lost purge.
    public var edgeTTL: Duration
    /// Attempts per purge and node, the first included, before it is given up and counted as dropped.
    public var maxAttempts: Int
    /// The first retry's delay; each further one doubles it, up to `maxBackoff`.
    public var backoff: Duration
    public var maxBackoff: Duration
    /// Purges waiting for a retry or a second send, at most; beyond it the oldest are dropped and counted.
    public var queueLimit: Int

    public init(
        nodes: [EdgeNode] = [], timeout: Duration = .milliseconds(100), repurgeDelay: Duration = .milliseconds(2_000), edgeTTL: Duration = .seconds(600),
        maxAttempts: Int = 8, backoff: Duration = .milliseconds(50), maxBackoff: Duration = .seconds(5), queueLimit: Int = 10_000
    ) {
        self.nodes = nodes
        self.timeout = timeout
        self.repurgeDelay = repurgeDelay
        self.edgeTTL = edgeTTL
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.maxBackoff = maxBackoff
        self.queueLimit = queueLimit
    }

    /// The delay before attempt `attempt` (2 is the first retry).
    public func delay(beforeAttempt attempt: Int) -> Duration {
        var delay = backoff
        for _ in 0..<max(0, attempt - 2) {
            delay *= 2
            if delay >= maxBackoff { return maxBackoff }
        }
        return min(delay, maxBackoff)
    }
}

/// One edge cache that accepts `PURGE` requests: `http://host:port`.
public struct EdgeNode: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: Int

    /// Parses `http://host[:port][/]` (port 80 by default); nil for anything else.
    public init?(url: String) {
        guard url.hasPrefix("http://") else { return nil }
        var rest = url.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@"), !rest.contains("?") else { return nil }
        var host = Substring(rest), port = 80
        if rest.hasPrefix("[") {
            // [v6]:port
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let tail = rest[rest.index(after: close)...]
            if !tail.isEmpty {
                guard tail.hasPrefix(":"), let value = Int(tail.dropFirst()) else { return nil }
                port = value
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let value = Int(rest[rest.index(after: colon)...]) else { return nil }
            port = value
        }
        guard !host.isEmpty, (1...65_535).contains(port) else { return nil }
        self.host = String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)" }
}
