/// SplitMix64 (Steele, Lea, Flood 2014): a tiny generator whose output depends only on the seed,
/// so shuffled epochs, random initial weights and test inputs are the same on every platform and
/// Swift version (the standard library's `shuffle(using:)` algorithm is not specified and may
/// change).
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
