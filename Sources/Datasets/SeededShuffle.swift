import Support

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
