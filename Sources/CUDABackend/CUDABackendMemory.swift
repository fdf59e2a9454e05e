import Backends

extension CUDABackend: DeviceMemoryReporting {
    public var peakReservedBytes: Int { pool.peakReservedBytes }

    public func deviceMemory() throws -> (free: Int, total: Int) {
        try device.makeCurrent()
        return try device.memoryInfo()
    }

    public func limitPool(toBytes bytes: Int?) { pool.limitBytes = bytes }

    public func restartPeak() throws {
        try device.makeCurrent()
        try pool.trim()
        pool.restartPeak()
    }
}
