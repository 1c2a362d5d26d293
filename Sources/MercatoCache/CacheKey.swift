/// A generation as read from a `GenerationSource`: the only way a generation gets into a `CacheKey`.
public struct GenerationStamp: Sendable, Hashable {
    public let token: String
}

extension GenerationSource {
    /// The generation of `namespace`, read now (before the load the key will guard).
    public func stamp(_ namespace: String) async -> GenerationStamp {
        GenerationStamp(token: await generation(of: namespace))
    }
}

/// The key of a cached value: what kind of answer it is, the generations it was read under, and every
/// input of the request. `LayeredCache` takes only these, and one cannot be made without at least one
/// generation read from a `GenerationSource`: a key that forgot its generation would serve an answer
/// from before a write forever (until its TTL), which is the one bug a cache key must not have.
public struct CacheKey: Sendable {
    /// Kind, generation tokens, inputs, joined by the unit separator (which no input contains).
    let text: String
    let kind: String
    let inputs: [String]

    public init(_ kind: String, under first: GenerationStamp, _ more: GenerationStamp..., inputs: [String]) {
        self.init(kind, under: [first] + more, inputs: inputs)
    }

    /// `stamps` must not be empty.
    public init(_ kind: String, under stamps: [GenerationStamp], inputs: [String]) {
        precondition(!stamps.isEmpty, "a cache key needs the generation its value was read under")
        self.kind = kind
        self.inputs = inputs
        text = ([kind] + stamps.map(\.token) + inputs).joined(separator: "\u{1F}")
    }

    /// The key without its generations: every version of one answer (to count misses by cause).
    var family: String { ([kind] + inputs).joined(separator: "\u{1F}") }
}
