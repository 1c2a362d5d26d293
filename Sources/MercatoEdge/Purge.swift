/// One purge for the edge: surrogate keys to remove at once (`xkey-purge`) and keys whose objects may
/// be served stale once while they are refetched (`xkey-softpurge`). A key purged hard is never also soft.
public struct Purge: Sendable, Hashable {
    public private(set) var hard: Set<String>
    public private(set) var soft: Set<String>

    public init(hard: some Sequence<String> = [], soft: some Sequence<String> = []) {
        self.hard = Set(hard)
        self.soft = Set(soft).subtracting(self.hard)
    }

    /// Splits keys into hard and soft ones by `softly`.
    public init(keys: some Sequence<String>, softly: (String) -> Bool) {
        var hard: [String] = [], soft: [String] = []
        for key in keys { if softly(key) { soft.append(key) } else { hard.append(key) } }
        self.init(hard: hard, soft: soft)
    }

    public var isEmpty: Bool { hard.isEmpty && soft.isEmpty }
    public var keyCount: Int { hard.count + soft.count }

    /// Both purges in one; a key hard in either stays hard.
    public func merged(with other: Purge) -> Purge {
        Purge(hard: hard.union(other.hard), soft: soft.union(other.soft))
    }

    /// The purge as requests whose key headers stay under `maxHeaderBytes` each (Varnish refuses request
    /// headers over `http_req_hdr_len`, 8 KiB by default), keys sorted so requests are reproducible.
    public func requests(maxHeaderBytes: Int = 6_000) -> [(hard: String, soft: String)] {
        func chunks(_ keys: Set<String>) -> [String] {
            var result: [String] = [], current = ""
            for key in keys.sorted() {
                if !current.isEmpty, current.utf8.count + 1 + key.utf8.count > maxHeaderBytes {
                    result.append(current)
                    current = ""
                }
                current += current.isEmpty ? key : " " + key
            }
            if !current.isEmpty { result.append(current) }
            return result
        }
        let hardChunks = chunks(hard), softChunks = chunks(soft)
        return (0..<max(hardChunks.count, softChunks.count)).map { index in
            (index < hardChunks.count ? hardChunks[index] : "", index < softChunks.count ? softChunks[index] : "")
        }
    }
}
