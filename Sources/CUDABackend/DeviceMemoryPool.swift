import Glibc
import Backends
import CCUDA

/// Caches freed device blocks by size class so a step loop never calls cuMemAlloc once it has
/// warmed up. Blocks are handed back when their buffer dies; because all ops of a backend run
/// in order on its compute stream, a block reused by a later op is only touched after the
/// earlier ops that used it (stream order, as PyTorch's caching allocator relies on).
public final class DeviceMemoryPool {
    let device: CUDADevice
    private var free: [Int: [CUdeviceptr]] = [:]
    private var lock = pthread_mutex_t()
    private(set) var reservedBytes = 0
    /// The largest `reservedBytes` so far.
    private(set) var peakReservedBytes = 0
    /// The most `reservedBytes` may reach (nil: what the device has).
    var limitBytes: Int?

    init(device: CUDADevice) {
        self.device = device
        pthread_mutex_init(&lock, nil)
    }

    deinit {
        for (_, blocks) in free { for p in blocks { _ = device.driver.cuMemFree(p) } }
        pthread_mutex_destroy(&lock)
    }

    /// Sizes up to 1 MiB in 512-byte steps, up to 64 MiB in steps of 1/8 of their power of two
    /// (at most 12.5% waste), so freed blocks are found again by size; larger ones in 2 MiB
    /// steps (the driver's own granularity): they are the long-lived buffers of a plan (weight
    /// and gradient slots, activations), where 1/8 steps wasted up to 64 MiB each — an 8B layer's
    /// 416.02 MiB bf16 slot took 448 MiB.
    public static func sizeClass(_ bytes: Int) -> Int {
        let b = max(bytes, 1)
        if b <= 1 << 20 { return (b + 511) & ~511 }
        let step = b > 64 << 20 ? 2 << 20 : (1 << (Int.bitWidth - 1 - b.leadingZeroBitCount)) / 8
        return (b + step - 1) / step * step
    }

    /// A block of at least `bytes` (returns its size class too).
    func allocate(_ bytes: Int) throws -> (pointer: CUdeviceptr, size: Int) {
        let size = Self.sizeClass(bytes)
        pthread_mutex_lock(&lock)
        if var list = free[size], let p = list.popLast() {
            free[size] = list
            pthread_mutex_unlock(&lock)
            return (p, size)
        }
        pthread_mutex_unlock(&lock)
        if let limit = limitBytes, reservedBytes + size > limit {
            try trim()
            guard reservedBytes + size <= limit else { throw BackendError.outOfMemory(bytes: size) }
        }
        var p: CUdeviceptr = 0
        if device.driver.cuMemAlloc(&p, size) != 0 {
            // Out of memory: give every cached block back to the driver, then try once more.
            try trim()
            guard device.driver.cuMemAlloc(&p, size) == 0 else { throw BackendError.outOfMemory(bytes: size) }
        }
        pthread_mutex_lock(&lock)
        reservedBytes += size
        peakReservedBytes = max(peakReservedBytes, reservedBytes)
        pthread_mutex_unlock(&lock)
        return (p, size)
    }

    func release(_ pointer: CUdeviceptr, size: Int) {
        pthread_mutex_lock(&lock)
        free[size, default: []].append(pointer)
        pthread_mutex_unlock(&lock)
    }

    /// Restarts `peakReservedBytes` from `reservedBytes`.
    func restartPeak() {
        pthread_mutex_lock(&lock)
        peakReservedBytes = reservedBytes
        pthread_mutex_unlock(&lock)
    }

    /// Frees every cached block (after the GPU has finished with them).
    func trim() throws {
        try device.check(device.driver.cuCtxSynchronize(), "cuCtxSynchronize")
        pthread_mutex_lock(&lock)
        let blocks = free
        free = [:]
        for (size, list) in blocks {
            for p in list { _ = device.driver.cuMemFree(p) }
            reservedBytes -= size * list.count
        }
        pthread_mutex_unlock(&lock)
    }
}

/// GPU memory of the CUDA backend: a pool block, returned to the pool with the last reference,
/// or a view of another buffer's memory, which keeps that buffer alive.
public final class CUDABuffer: DeviceBuffer {
    public let elementType: ElementType
    public let count: Int
    let pointer: CUdeviceptr
    private enum Owner {
        case pool(DeviceMemoryPool, size: Int)
        case view(of: CUDABuffer)
    }
    private let owner: Owner

    init(_ elementType: ElementType, count: Int, pool: DeviceMemoryPool) throws {
        self.elementType = elementType
        self.count = count
        let (pointer, size) = try pool.allocate(count * elementType.byteSize)
        self.pointer = pointer
        owner = .pool(pool, size: size)
    }

    /// `count` elements of `elementType` over `buffer`'s bytes from `byteOffset`.
    init(_ elementType: ElementType, count: Int, viewing buffer: CUDABuffer, byteOffset: Int) {
        buffer.checkViewBounds(elementType, count: count, byteOffset: byteOffset)
        self.elementType = elementType
        self.count = count
        pointer = buffer.pointer + CUdeviceptr(byteOffset)
        owner = .view(of: buffer)
    }

    deinit { if case .pool(let pool, let size) = owner { pool.release(pointer, size: size) } }
}
