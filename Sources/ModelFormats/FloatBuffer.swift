/// An owned fp32 buffer: page-aligned and a whole number of pages (so it can be pinned for
/// GPU copies, cuMemHostRegister, without sharing a page with another buffer), zero-filled,
/// freed on deinit. A class so that multi-gigabyte parameter buffers are shared, never copied
/// by accident.
public final class FloatBuffer: @unchecked Sendable {
    public static let alignment = 4096
    public let pointer: UnsafeMutableBufferPointer<Float>

    public init(count: Int) {
        let bytes = (max(1, count) * 4 + Self.alignment - 1) / Self.alignment * Self.alignment
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Self.alignment)
        raw.initializeMemory(as: Float.self, repeating: 0, count: max(1, count))
        pointer = UnsafeMutableBufferPointer(start: raw.assumingMemoryBound(to: Float.self), count: count)
    }

    deinit { UnsafeMutableRawPointer(pointer.baseAddress!).deallocate() }

    public var count: Int { pointer.count }

    /// The elements of one tensor slot (`slot.offset ..< slot.offset + slot.count`).
    public func slice(_ slot: TensorSlot) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: pointer[slot.offset..<(slot.offset + slot.count)])
    }
}
