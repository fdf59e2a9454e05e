import Glibc
import Support
import CCUDA

/// What `slideformer doctor` prints: which NVIDIA libraries were found where, the GPU, and
/// the pinned host↔device bandwidth measured in about a second. Each line is handed to
/// `emit` as soon as it is known, so a failure still shows everything found before it.
public enum DoctorReport {
    /// Returns false if something the CUDA backend needs is missing or broken.
    public static func run(_ emit: (String) -> Void) -> Bool {
        let libraries: CUDALibraries
        do {
            libraries = try CUDALibraries.load()
        } catch {
            emit("\(error)")
            return false
        }
        emit("driver      \(libraries.driver.path)")
        emit("NVRTC       \(libraries.nvrtc.path) (version \(libraries.nvrtc.version))")
        emit("cuBLASLt    \(libraries.blasLt.path) (version \(libraries.blasLt.version))")
        do {
            emit("CUDA driver \(try libraries.driver.version())")
            let device = try CUDADevice(libraries: libraries)
            let memory = try device.memoryInfo()
            emit("GPU 0       \(device.name)")
            emit("compute     \(device.computeCapability.major).\(device.computeCapability.minor) (\(device.architecture)), "
                 + "\(device.multiprocessors) SMs, \(Format.bytes(device.maxSharedMemoryPerBlock)) shared memory per block")
            emit("memory      \(Format.bytes(memory.total)) total, \(Format.bytes(memory.free)) free")
            let start = monotonicSeconds()
            let backend = try CUDABackend(libraries: libraries)
            emit("kernels     ready in \(Format.fixed(monotonicSeconds() - start, 2)) s (NVRTC compile or disk cache: "
                 + "\(KernelCache().directory ?? "no cache directory"))")
            let bandwidth = try TransferBenchmark(backend: backend).run()
            emit("pinned H2D  \(Format.fixed(bandwidth.hostToDevice, 1)) GB/s")
            emit("pinned D2H  \(Format.fixed(bandwidth.deviceToHost, 1)) GB/s")
            emit("both ways   \(Format.fixed(bandwidth.bothWays, 1)) GB/s together")
            return true
        } catch {
            emit("\(error)")
            return false
        }
    }
}

/// Pinned host↔device copy bandwidth over 256 MiB buffers, each direction alone and both at
/// once (separate streams), timed with events; the median of a few repetitions.
public struct TransferBenchmark {
    public let backend: CUDABackend
    let bytes = 256 << 20

    public init(backend: CUDABackend) { self.backend = backend }

    /// Pinned copy GB/s: host → device, device → host, and both at once (medians).
    public func run() throws -> (hostToDevice: Double, deviceToHost: Double, bothWays: Double) {
        let device = backend.device, d = device.driver
        let up = try PinnedHostBuffer(device: device, bytes: bytes), down = try PinnedHostBuffer(device: device, bytes: bytes)
        memset(up.bytes, 0x5A, bytes)
        let a = try CUDABuffer(.f32, count: bytes / 4, pool: backend.pool), b = try CUDABuffer(.f32, count: bytes / 4, pool: backend.pool)
        let upStream = try CUDAStream(device: device), downStream = try CUDAStream(device: device)
        let events = try (0..<4).map { _ in try CUDAEvent(device: device, timing: true) }
        let gb = Double(bytes) / 1e9
        func h2d() throws { try device.check(d.cuMemcpyHtoDAsync(a.pointer, up.bytes, bytes, upStream.handle), "cuMemcpyHtoDAsync") }
        func d2h() throws { try device.check(d.cuMemcpyDtoHAsync(down.bytes, b.pointer, bytes, downStream.handle), "cuMemcpyDtoHAsync") }
        func timed(_ stream: CUDAStream, _ copy: () throws -> Void) throws -> Double {
            try events[0].record(on: stream)
            try copy()
            try events[1].record(on: stream)
            try events[1].synchronize()
            return gb / (try events[1].milliseconds(since: events[0]) / 1e3)
        }
        _ = try timed(upStream, h2d)
        _ = try timed(downStream, d2h)
        let upRates = try (0..<5).map { _ in try timed(upStream, h2d) }
        let downRates = try (0..<5).map { _ in try timed(downStream, d2h) }
        var both: [Double] = []
        for _ in 0..<3 {
            try backend.computeStream.synchronize()
            let start = monotonicSeconds()
            try h2d()
            try d2h()
            try upStream.synchronize()
            try downStream.synchronize()
            both.append(2 * gb / (monotonicSeconds() - start))
        }
        return (median(upRates), median(downRates), median(both))
    }

    private func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
}
