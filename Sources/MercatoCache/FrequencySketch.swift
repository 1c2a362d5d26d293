/// A count-min sketch of access frequencies with periodic halving ("aging"), the admission filter
/// of W-TinyLFU: it remembers how popular keys were recently, including keys not in the cache.
struct FrequencySketch {
    private var table: [UInt8]
    private let mask: Int
    private var additions = 0
    private let sampleSize: Int

    /// `capacity`: roughly how many distinct entries the cache holds.
    init(capacity: Int) {
        var width = 64
        while width < capacity * 2 { width <<= 1 }
        table = [UInt8](repeating: 0, count: width * 4)
        mask = width - 1
        sampleSize = width * 10
    }

    /// Estimated recent frequency (0…15).
    func frequency(_ hash: UInt64) -> Int {
        var minimum = UInt8.max
        for row in 0..<4 {
            minimum = min(minimum, table[index(hash, row)])
        }
        return Int(minimum)
    }

    /// Records one access; every `sampleSize` additions all counters are halved so old popularity fades.
    mutating func increment(_ hash: UInt64) {
        var added = false
        for row in 0..<4 {
            let i = index(hash, row)
            if table[i] < 15 {
                table[i] += 1
                added = true
            }
        }
        if added {
            additions += 1
            if additions >= sampleSize { age() }
        }
    }

    private mutating func age() {
        for i in table.indices { table[i] >>= 1 }
        additions /= 2
    }

    private func index(_ hash: UInt64, _ row: Int) -> Int {
        // Four independent-enough positions from one 64-bit hash (different odd multipliers per row).
        let seeds: (UInt64, UInt64, UInt64, UInt64) = (0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9, 0xD6E8_FEB8_6659_FD93)
        let seed = row == 0 ? seeds.0 : row == 1 ? seeds.1 : row == 2 ? seeds.2 : seeds.3
        let h = (hash &* seed) >> 32
        return row * (mask + 1) + Int(truncatingIfNeeded: h) & mask
    }
}
