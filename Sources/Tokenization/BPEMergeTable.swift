/// The merge rules of a BPE model: (left id, right id) → (rank, merged id), in an open-addressing
/// table of plain integers, because the merge loop looks pairs up several times per byte.
struct BPEMergeTable: Sendable {
    private static let empty = UInt64.max
    private var keys: [UInt64]
    private var values: [UInt64]
    private let mask: Int

    init(capacityFor count: Int) {
        var size = 16
        while size < count * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(for key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    /// Adds or replaces a rule (a later duplicate replaces an earlier one, as in a hash map built in order).
    mutating func set(_ left: Int32, _ right: Int32, rank: Int32, merged: Int32) {
        let k = Self.key(left, right)
        var i = slot(for: k)
        while keys[i] != Self.empty && keys[i] != k { i = (i + 1) & mask }
        keys[i] = k
        values[i] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
    }

    @inline(__always)
    func rule(_ left: Int32, _ right: Int32) -> (rank: Int32, merged: Int32)? {
        let k = Self.key(left, right)
        var i = slot(for: k)
        while true {
            let stored = keys[i]
            if stored == k {
                let v = values[i]
                return (Int32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v))
            }
            if stored == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }
}
