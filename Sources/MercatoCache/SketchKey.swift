/// A key the frequency sketch can hash with a seed of its choosing.
///
/// Swift's `hashValue` is seeded randomly per process, which made the admission decisions (and every figure
/// computed from them) differ from run to run. A seeded hash lets tests fix the seed, while servers still
/// pick a random one, so nobody outside can aim keys at a known set of sketch counters.
public protocol SketchKey: Hashable {
    func sketchHash(seed: UInt64) -> UInt64
}

extension String: SketchKey {
    /// FNV-1a over the UTF-8 bytes, started from the seed, then a 64-bit finalizer (spreads the low bits).
    public func sketchHash(seed: UInt64) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return SketchMix.finalize(hash)
    }
}

extension Int: SketchKey {
    public func sketchHash(seed: UInt64) -> UInt64 {
        SketchMix.finalize(UInt64(bitPattern: Int64(self)) ^ seed)
    }
}

/// The finalizer of SplitMix64: every input bit affects every output bit.
enum SketchMix {
    static func finalize(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
