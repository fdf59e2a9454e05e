/// Token ids of recently seen pre-tokenized words, keyed by their UTF-8 bytes. Natural text repeats
/// its words, so most words skip the merge loop. Keys and values live in two flat arenas (no
/// per-entry allocation); when full, the cache starts over.
struct BPEWordCache {
    private struct Slot {
        var hash: UInt64 = 0
        var keyStart: Int32 = 0
        var keyLength: Int32 = -1  // -1: empty slot
        var valueStart: Int32 = 0
        var valueLength: Int32 = 0
    }

    /// Words longer than this are not cached (they are rare and would crowd the arenas).
    static let maxKeyLength = 256
    private static let slotCount = 1 << 17
    private static let maxEntries = slotCount / 2
    private static let maxArenaBytes = 16 << 20

    private var slots = [Slot](repeating: Slot(), count: slotCount)
    private var keys: [UInt8] = []
    private var values: [Int32] = []
    private var entries = 0

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// Appends the cached ids of `word` to `ids`; false when the word is not cached.
    func appendCached(_ word: UnsafeBufferPointer<UInt8>, hash: UInt64, to ids: inout [Int32]) -> Bool {
        var i = Int(truncatingIfNeeded: hash) & (Self.slotCount - 1)
        while true {
            let slot = slots[i]
            if slot.keyLength < 0 { return false }
            if slot.hash == hash && Int(slot.keyLength) == word.count && keyMatches(slot, word) {
                ids.append(contentsOf: values[Int(slot.valueStart)..<Int(slot.valueStart + slot.valueLength)])
                return true
            }
            i = (i + 1) & (Self.slotCount - 1)
        }
    }

    private func keyMatches(_ slot: Slot, _ word: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = Int(slot.keyStart)
        for j in 0..<word.count where keys[start + j] != word[j] { return false }
        return true
    }

    mutating func insert(_ word: UnsafeBufferPointer<UInt8>, hash: UInt64, ids: ArraySlice<Int32>) {
        guard word.count <= Self.maxKeyLength else { return }
        if entries >= Self.maxEntries || keys.count + word.count > Self.maxArenaBytes
            || values.count + ids.count > Self.maxArenaBytes {
            self = BPEWordCache()
        }
        var i = Int(truncatingIfNeeded: hash) & (Self.slotCount - 1)
        while slots[i].keyLength >= 0 {
            if slots[i].hash == hash && Int(slots[i].keyLength) == word.count && keyMatches(slots[i], word) { return }
            i = (i + 1) & (Self.slotCount - 1)
        }
        slots[i] = Slot(hash: hash, keyStart: Int32(keys.count), keyLength: Int32(word.count),
                        valueStart: Int32(values.count), valueLength: Int32(ids.count))
        keys.append(contentsOf: word)
        values.append(contentsOf: ids)
        entries += 1
    }
}
