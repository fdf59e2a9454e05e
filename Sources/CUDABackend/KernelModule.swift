import Glibc
import CCUDA

/// A loaded CUBIN and the functions looked up in it.
final class KernelModule {
    let device: CUDADevice
    let handle: CUmodule
    private var functions: [String: CUfunction] = [:]
    private var lock = pthread_mutex_t()

    init(device: CUDADevice, cubin: [UInt8], name: String) throws {
        self.device = device
        var m: CUmodule? = nil
        try cubin.withUnsafeBytes {
            try device.check(device.driver.cuModuleLoadData(&m, $0.baseAddress), "cuModuleLoadData(\(name))")
        }
        guard let m else { throw CUDAUnavailable(description: "cuModuleLoadData(\(name)) returned no module") }
        handle = m
        pthread_mutex_init(&lock, nil)
    }

    deinit {
        _ = device.driver.cuModuleUnload(handle)
        pthread_mutex_destroy(&lock)
    }

    /// The kernel `name`; `sharedBytes` above 48 KiB raises its dynamic shared-memory limit.
    func function(_ name: String, sharedBytes: Int = 0) throws -> CUfunction {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if let f = functions[name] { return f }
        var f: CUfunction? = nil
        try device.check(device.driver.cuModuleGetFunction(&f, handle, name), "cuModuleGetFunction(\(name))")
        guard let f else { throw CUDAUnavailable(description: "cuModuleGetFunction(\(name)) returned nothing") }
        if sharedBytes > 48 * 1024 {
            guard sharedBytes <= device.maxSharedMemoryPerBlock else {
                throw CUDAUnavailable(description: "\(name) needs \(sharedBytes) bytes of shared memory per block; "
                                          + "\(device.name) allows \(device.maxSharedMemoryPerBlock)")
            }
            try device.check(device.driver.cuFuncSetAttribute(f, Int32(CCU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES),
                                                              Int32(sharedBytes)), "cuFuncSetAttribute(\(name))")
        }
        functions[name] = f
        return f
    }
}
