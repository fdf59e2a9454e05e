import CCUDA

/// One GPU with its primary context made current on the calling thread.
public final class CUDADevice {
    public let libraries: CUDALibraries
    let device: CUdevice
    let context: CUcontext
    public let ordinal: Int
    public let name: String
    public let computeCapability: (major: Int, minor: Int)
    public let multiprocessors: Int
    public let totalMemory: Int
    /// Largest dynamic shared memory a block may opt in to (bytes).
    public let maxSharedMemoryPerBlock: Int

    var driver: CCUDADriver { libraries.driver.api }

    public init(libraries: CUDALibraries, ordinal: Int = 0) throws {
        self.libraries = libraries
        self.ordinal = ordinal
        let d = libraries.driver
        try d.check(d.api.cuInit(0), "cuInit")
        var count: Int32 = 0
        try d.check(d.api.cuDeviceGetCount(&count), "cuDeviceGetCount")
        guard ordinal < count else {
            throw CUDAUnavailable(description: "GPU \(ordinal) requested but the driver sees \(count) GPU(s)")
        }
        var dev: CUdevice = 0
        try d.check(d.api.cuDeviceGet(&dev, Int32(ordinal)), "cuDeviceGet(\(ordinal))")
        device = dev
        var nameBytes = [CChar](repeating: 0, count: 256)
        try d.check(d.api.cuDeviceGetName(&nameBytes, 255, dev), "cuDeviceGetName")
        name = String(decoding: nameBytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        func attribute(_ a: Int32) throws -> Int {
            var v: Int32 = 0
            try d.check(d.api.cuDeviceGetAttribute(&v, a, dev), "cuDeviceGetAttribute(\(a))")
            return Int(v)
        }
        computeCapability = (try attribute(Int32(CCU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)),
                             try attribute(Int32(CCU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)))
        multiprocessors = try attribute(Int32(CCU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT))
        maxSharedMemoryPerBlock = try attribute(Int32(CCU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN))
        var total = 0
        try d.check(d.api.cuDeviceTotalMem(&total, dev), "cuDeviceTotalMem")
        totalMemory = total
        // A thread waiting for the GPU sleeps instead of spinning: the host AdamW needs every
        // core, and a spinning waiter stalls the pool's slowest thread (the driver's default
        // spins when there are fewer contexts than cores). Fails once the context is active
        // (another user of the primary context set it up first); then its flags stay.
        _ = d.api.cuDevicePrimaryCtxSetFlags(dev, UInt32(CCU_CTX_SCHED_BLOCKING_SYNC))
        var ctx: CUcontext? = nil
        try d.check(d.api.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain")
        guard let ctx else { throw CUDAUnavailable(description: "cuDevicePrimaryCtxRetain returned no context") }
        context = ctx
        try makeCurrent()
    }

    deinit { _ = driver.cuDevicePrimaryCtxRelease(device) }

    /// CUDA contexts are per thread: every entry point that may run on a new thread calls this.
    func makeCurrent() throws {
        try check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
    }

    func check(_ result: CUresult, _ call: @autoclosure () -> String) throws {
        try libraries.driver.check(result, call())
    }

    /// The architecture NVRTC compiles for, e.g. "sm_90".
    public var architecture: String { "sm_\(computeCapability.major)\(computeCapability.minor)" }

    /// (free, total) device memory in bytes.
    public func memoryInfo() throws -> (free: Int, total: Int) {
        var free = 0, total = 0
        try check(driver.cuMemGetInfo(&free, &total), "cuMemGetInfo")
        return (free, total)
    }
}
