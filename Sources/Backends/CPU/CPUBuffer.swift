/// Host memory of the CPU backend: 64-byte aligned, freed with the last reference.
public final class CPUBuffer: DeviceBuffer {
    public let elementType: ElementType
    public let count: Int
    let raw: UnsafeMutableRawPointer

    init(_ elementType: ElementType, count: Int) {
        self.elementType = elementType
        self.count = count
        raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count * elementType.byteSize), alignment: 64)
    }

    deinit { raw.deallocate() }
}
