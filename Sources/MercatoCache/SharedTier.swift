import NIOCore

/// A cache tier shared by all instances (Redis). It never throws: when it is unavailable it answers
/// "miss" and drops writes, so a request is served from the near cache or the database instead.
public protocol SharedCacheTier: Sendable {
    func get(_ key: String) async -> ByteBuffer?
    func set(_ key: String, _ value: ByteBuffer, ttl: Duration) async
}

/// How values travel through the shared tier: as bytes, decoded once per near-cache fill.
public struct ValueCodec<Value: Sendable>: Sendable {
    public var encode: @Sendable (Value) -> ByteBuffer
    /// Nil for bytes that are not a valid value (treated as a miss).
    public var decode: @Sendable (ByteBuffer) -> Value?

    public init(encode: @escaping @Sendable (Value) -> ByteBuffer, decode: @escaping @Sendable (ByteBuffer) -> Value?) {
        self.encode = encode
        self.decode = decode
    }
}

/// Where generations come from: in-process (`GenerationMap`) or shared across instances (`SharedGenerations`).
public protocol GenerationSource: Sendable {
    /// The generation of `namespace` as a token to embed in cache keys.
    func generation(of namespace: String) async -> String
    /// What the writes between two tokens of `namespace` moved, when every one of them is known
    /// (see `ChangeLog`); nil otherwise.
    func moves(of namespace: String, from: String, to: String) -> [SortMove]?
    /// The generations of several namespaces (one lock where the source can: a listing asks for one per item).
    func generations(of namespaces: [String]) async -> [String]
    /// Moves whenever any generation may have moved (so something computed from generations at one
    /// revision is still right at the same revision).
    var revision: UInt64 { get }
}

extension GenerationSource {
    public func generations(of namespaces: [String]) async -> [String] {
        var tokens: [String] = []
        tokens.reserveCapacity(namespaces.count)
        for namespace in namespaces { tokens.append(await generation(of: namespace)) }
        return tokens
    }
}

extension GenerationMap: GenerationSource {
    public func generation(of namespace: String) async -> String {
        String(current(namespace))
    }

    public func generations(of namespaces: [String]) async -> [String] {
        current(namespaces).map { String($0) }
    }

    public var revision: UInt64 { bumps }

    public func moves(of namespace: String, from: String, to: String) -> [SortMove]? {
        guard let after = UInt64(from), let upTo = UInt64(to) else { return nil }
        return changes.moves(of: namespace, after: after, upTo: upTo)
    }
}
