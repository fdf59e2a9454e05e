import CCUDA

/// Page-locked host memory from cuMemHostAlloc: the GPU's copy engines read and write it
/// directly (full PCIe speed, truly asynchronous copies). For staging buffers.
public final class PinnedHostBuffer {
    let device: CUDADevice
    public let bytes: UnsafeMutableRawPointer
    public let count: Int

    public init(device: CUDADevice, bytes count: Int) throws {
        self.device = device
        self.count = count
        var p: UnsafeMutableRawPointer? = nil
        try device.check(device.driver.cuMemHostAlloc(&p, max(count, 1), UInt32(CCU_MEMHOSTALLOC_PORTABLE)),
                         "cuMemHostAlloc(\(count) bytes)")
        guard let p else { throw CUDAUnavailable(description: "cuMemHostAlloc returned no memory") }
        bytes = p
    }

    deinit { _ = device.driver.cuMemFreeHost(bytes) }
}

/// Pins an existing host arena (cuMemHostRegister) for as long as this object lives: much
/// faster than cuMemHostAlloc for large arenas that are already allocated (e.g. an mmap).
public final class HostRegistration {
    let device: CUDADevice
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int

    public init(device: CUDADevice, base: UnsafeMutableRawPointer, bytes: Int) throws {
        self.device = device
        self.base = base
        byteCount = bytes
        try device.check(device.driver.cuMemHostRegister(base, bytes, UInt32(CCU_MEMHOSTREGISTER_PORTABLE)),
                         "cuMemHostRegister(\(bytes) bytes)")
    }

    deinit { _ = device.driver.cuMemHostUnregister(base) }
}
