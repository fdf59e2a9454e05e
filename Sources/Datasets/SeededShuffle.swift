/// SplitMix64 (Steele, Lea, Flood 2014): a tiny generator whose output depends only on the seed,
/// so a shuffled epoch is the same on every platform and Swift version (the standard library's
/// `shuffle(using:)` algorithm is not specified and may change).
public struct SplitMix64 {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<bound (bound > 0), unbiased by rejecting the short last range.
    public mutating func next(below bound: Int) -> Int {
        let n = UInt64(bound)
        let limit = UInt64.max - (UInt64.max % n)
        while true {
            let x = next()
            if x < limit { return Int(x % n) }
        }
    }
}

/// The order in which one epoch visits the documents: a Fisher–Yates permutation seeded by
/// (seed, epoch), so every epoch is reshuffled and every run with the same seed agrees.
func shuffledOrder(count: Int, seed: UInt64, epoch: Int) -> [Int] {
    // Mixing the epoch through one SplitMix step keeps nearby seeds/epochs uncorrelated.
    var mixer = SplitMix64(seed: seed ^ (UInt64(epoch) &* 0xD1B5_4A32_D192_ED03))
    var rng = SplitMix64(seed: mixer.next())
    var order = Array(0..<count)
    var i = count - 1
    while i > 0 {
        let j = rng.next(below: i + 1)
        order.swapAt(i, j)
        i -= 1
    }
    return order
}
