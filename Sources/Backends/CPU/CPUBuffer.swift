/// Host memory of the CPU backend: 64-byte aligned, freed with the last reference (a view's
/// with the last reference to the buffer it views).
public final class CPUBuffer: DeviceBuffer {
    public let elementType: ElementType
    public let count: Int
    let raw: UnsafeMutableRawPointer
    /// The buffer whose memory this one views; nil where this one owns `raw`.
    private let viewed: CPUBuffer?

    init(_ elementType: ElementType, count: Int) {
        self.elementType = elementType
        self.count = count
        raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count * elementType.byteSize), alignment: 64)
        viewed = nil
    }

    /// `count` elements of `elementType` over `buffer`'s bytes from `byteOffset`.
    init(_ elementType: ElementType, count: Int, viewing buffer: CPUBuffer, byteOffset: Int) {
        buffer.checkViewBounds(elementType, count: count, byteOffset: byteOffset)
        self.elementType = elementType
        self.count = count
        raw = buffer.raw + byteOffset
        viewed = buffer
    }

    deinit { if viewed == nil { raw.deallocate() } }
}
