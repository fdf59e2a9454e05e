#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Backends
import CCUDA

/// The `Backend` ops on an NVIDIA GPU: kernels compiled by NVRTC (cached on disk), GEMMs
/// through cuBLASLt, memory from a caching pool, everything enqueued in call order on one
/// compute stream. bf16 and f32 storage are both accepted for float operands; math is fp32.
///
/// A failing CUDA call inside an op (which the protocol cannot report) stops the process with
/// the driver's message: such failures leave the context unusable anyway.
public final class CUDABackend: Backend {
    public let device: CUDADevice
    /// Where every op is enqueued.
    public let computeStream: CUDAStream
    /// Streams for host → device and device → host copies (PCIe is full duplex).
    public let hostToDeviceStream: CUDAStream
    public let deviceToHostStream: CUDAStream
    let pool: DeviceMemoryPool
    let matmul: MatmulRunner
    private let workspace: CUDABuffer
    private let opsModule: KernelModule
    private var attentionModules: [Int: KernelModule] = [:]
    private let kernelCache: KernelCache
    private let staging: [PinnedHostBuffer]
    private let stagingDone: [CUDAEvent]
    private var lock = pthread_mutex_t()
    /// Set while `startProfiling` is in effect.
    var profiler: OpProfiler?

    static let threads = 256
    static let stagingBytes = 16 << 20
    static let workspaceBytes = 32 << 20

    public init(libraries: CUDALibraries, ordinal: Int = 0, kernelCache: KernelCache = KernelCache()) throws {
        device = try CUDADevice(libraries: libraries, ordinal: ordinal)
        computeStream = try CUDAStream(device: device)
        hostToDeviceStream = try CUDAStream(device: device)
        deviceToHostStream = try CUDAStream(device: device)
        pool = DeviceMemoryPool(device: device)
        workspace = try CUDABuffer(.f32, count: Self.workspaceBytes / 4, pool: pool)
        let environment = ProcessInfo.processInfo.environment
        let store = environment["SLIDEFORMER_GEMM_TUNING"] == "off" ? nil
            : GemmAlgorithmStore.forDevice(name: device.name, architecture: device.architecture,
                                           blasVersion: libraries.blasLt.version, workspaceBytes: Self.workspaceBytes,
                                           environment: environment)
        matmul = try MatmulRunner(blas: libraries.blasLt, workspace: workspace.pointer, workspaceBytes: Self.workspaceBytes,
                                  store: store)
        self.kernelCache = kernelCache
        let cubin = try kernelCache.cubin(source: opKernelSource, name: KernelCatalog.opsModule,
                                          arch: device.architecture, nvrtc: libraries.nvrtc)
        opsModule = try KernelModule(device: device, cubin: cubin, name: KernelCatalog.opsModule)
        let gpu = device
        staging = try (0..<2).map { _ in try PinnedHostBuffer(device: gpu, bytes: Self.stagingBytes) }
        stagingDone = try (0..<2).map { _ in try CUDAEvent(device: gpu) }
        pthread_mutex_init(&lock, nil)
    }

    deinit {
        _ = device.driver.cuCtxSynchronize()
        pthread_mutex_destroy(&lock)
    }

    public var name: String { "CUDA \(device.name) (\(device.architecture))" }

    /// Runs `body`; a CUDA failure here is unrecoverable for the caller of a non-throwing op.
    /// `timed` false: the op runs on another stream than the compute stream, whose events the
    /// profiler records, so it is left out of a profile.
    @inline(__always)
    func enqueue(_ op: @autoclosure () -> String, timed: Bool = true, _ body: () throws -> Void) {
        do {
            try device.makeCurrent()
            if timed, let p = profiler, p.depth == 0 {
                p.depth += 1
                defer { p.depth -= 1 }
                let name = op()
                try p.begin(on: computeStream)
                try body()
                try p.end(name, on: computeStream)
            } else {
                try body()
            }
        } catch {
            fatalError("CUDA backend, \(op()): \(error)")
        }
    }

    // MARK: Operands (misuse traps: programming errors, not input errors)

    /// Device address of `t`, checking that `count` elements from it lie inside its buffer.
    func address(_ t: TensorRef, _ count: Int, _ types: Set<ElementType> = [.f32, .bf16]) -> CUdeviceptr {
        guard let b = t.buffer as? CUDABuffer else { preconditionFailure("buffer of another backend passed to the CUDA backend") }
        precondition(types.contains(b.elementType), "CUDA backend: a \(b.elementType) operand where \(types.map(\.rawValue)) is expected")
        precondition(t.offset >= 0 && count >= 0 && t.offset + count <= b.count,
                     "CUDA backend: operand range \(t.offset)..<\(t.offset + count) outside a buffer of \(b.count)")
        return b.pointer + CUdeviceptr(t.offset * b.elementType.byteSize)
    }

    /// Appends a float operand (address + storage flag); returns the address.
    @discardableResult
    func operand(_ args: inout KernelArguments, _ t: TensorRef, _ count: Int) -> CUdeviceptr {
        let a = address(t, count)
        args.append(operand: a, bf16: t.elementType == .bf16)
        return a
    }

    func floats(_ t: TensorRef, _ count: Int) -> CUdeviceptr { address(t, count, [.f32]) }
    func ints(_ t: TensorRef, _ count: Int) -> CUdeviceptr { address(t, count, [.i32]) }

    // MARK: Launching

    func launch(_ function: CUfunction, grid: (Int, Int, Int), block: (Int, Int, Int) = (threads, 1, 1),
                sharedBytes: Int = 0, _ args: KernelArguments, stream: CUstream? = nil) throws {
        if grid.0 == 0 || grid.1 == 0 || grid.2 == 0 { return }
        try args.withLaunchExtra { extra in
            try device.check(device.driver.cuLaunchKernel(function, UInt32(grid.0), UInt32(grid.1), UInt32(grid.2),
                                                          UInt32(block.0), UInt32(block.1), UInt32(block.2),
                                                          UInt32(sharedBytes), stream ?? computeStream.handle, nil, extra),
                             "cuLaunchKernel")
        }
    }

    /// Launches an ops-module kernel.
    func launch(_ name: String, grid: (Int, Int, Int), block: (Int, Int, Int) = (threads, 1, 1),
                _ args: KernelArguments, stream: CUstream? = nil) throws {
        try launch(try opsModule.function(name), grid: grid, block: block, args, stream: stream)
    }

    /// Blocks for a grid-stride loop over `n` elements: enough to fill the GPU, no more.
    func gridFor(_ n: Int) -> (Int, Int, Int) {
        (max(1, min((n + Self.threads - 1) / Self.threads, device.multiprocessors * 32)), 1, 1)
    }

    /// Whether every address allows the 16-byte accesses of the kernels' vector paths (TensorRef
    /// offsets may be any element).
    static func aligned16(_ addresses: [CUdeviceptr]) -> Bool { addresses.allSatisfy { $0 % 16 == 0 } }

    /// Launches the elementwise kernel `name` over `count` elements, appending its last two
    /// arguments: `n` and `vec`, the 8-element chunks it moves 16 bytes at a time (one access per
    /// chunk of bf16, two of f32) when every operand address is aligned, else 0 (element by element).
    func launchElementwise(_ name: String, _ args: KernelArguments, count: Int, addresses: [CUdeviceptr],
                           stream: CUstream? = nil) throws {
        var args = args
        let chunks = Self.aligned16(addresses) ? count / 8 : 0
        args.append(Int64(count)); args.append(Int64(chunks))
        try launch(name, grid: gridFor(chunks > 0 ? chunks : count), args, stream: stream)
    }

    /// Blocks of a kernel that loops over its work, `threads` each: as many as the GPU holds at once.
    func residentGrid(_ name: String, threads: Int) throws -> Int {
        var perSM: Int32 = 0
        try device.check(device.driver.cuOccupancyMaxActiveBlocksPerMultiprocessor(&perSM, try opsModule.function(name),
                                                                                     Int32(threads), 0),
                         "cuOccupancyMaxActiveBlocksPerMultiprocessor(\(name))")
        return max(1, Int(perSM)) * device.multiprocessors
    }

    /// The attention kernels for `headDim`, compiled (or read from the cache) on first use.
    func attentionModule(headDim: Int) throws -> KernelModule {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if let m = attentionModules[headDim] { return m }
        let name = KernelCatalog.attentionModule(headDim: headDim)
        let cubin = try kernelCache.cubin(source: attentionKernelSource(headDim: headDim), name: name,
                                          arch: device.architecture, nvrtc: device.libraries.nvrtc)
        let m = try KernelModule(device: device, cubin: cubin, name: name)
        attentionModules[headDim] = m
        return m
    }

    /// A scratch block for the ops enqueued inside `body`; returned to the pool right after
    /// (stream order keeps later users behind those ops).
    func withScratch<R>(bytes: Int, _ body: (CUdeviceptr) throws -> R) throws -> R {
        let block = try pool.allocate(bytes)
        defer { pool.release(block.pointer, size: block.size) }
        return try body(block.pointer)
    }

    // MARK: Memory

    public func makeBuffer(_ type: ElementType, count: Int) throws -> any DeviceBuffer {
        precondition(count >= 0, "negative buffer size")
        try device.makeCurrent()
        return try CUDABuffer(type, count: count, pool: pool)
    }

    public func makeView(_ type: ElementType, count: Int, of buffer: any DeviceBuffer, byteOffset: Int) -> any DeviceBuffer {
        guard let b = buffer as? CUDABuffer else { preconditionFailure("buffer of another backend passed to the CUDA backend") }
        return CUDABuffer(type, count: count, viewing: b, byteOffset: byteOffset)
    }

    /// Copies through the two pinned staging buffers in turn: the caller's bytes are consumed
    /// before returning, the GPU copy runs on behind.
    public func upload(_ bytes: UnsafeRawBufferPointer, to dst: TensorRef) {
        let size = dst.elementType.byteSize
        precondition(bytes.count % size == 0, "upload: \(bytes.count) bytes is not a whole number of \(dst.elementType)")
        let base = address(dst, bytes.count / size, [.f32, .bf16, .i32])
        enqueue("upload") {
            var done = 0, turn = 0
            while done < bytes.count {
                let n = min(Self.stagingBytes, bytes.count - done)
                try stagingDone[turn].synchronize()
                staging[turn].bytes.copyMemory(from: bytes.baseAddress! + done, byteCount: n)
                try device.check(device.driver.cuMemcpyHtoDAsync(base + CUdeviceptr(done), staging[turn].bytes, n,
                                                                 computeStream.handle), "cuMemcpyHtoDAsync")
                try stagingDone[turn].record(on: computeStream)
                done += n
                turn ^= 1
            }
        }
    }

    /// Waits for queued work, then copies through the staging buffers (the next chunk's copy
    /// overlaps the host copy of the current one).
    public func download(_ src: TensorRef, into bytes: UnsafeMutableRawBufferPointer) {
        let size = src.elementType.byteSize
        precondition(bytes.count % size == 0, "download: \(bytes.count) bytes is not a whole number of \(src.elementType)")
        let base = address(src, bytes.count / size, [.f32, .bf16, .i32])
        enqueue("download") {
            let chunks = (bytes.count + Self.stagingBytes - 1) / Self.stagingBytes
            func start(_ i: Int) throws {
                let offset = i * Self.stagingBytes, n = min(Self.stagingBytes, bytes.count - offset)
                try stagingDone[i % 2].synchronize()
                try device.check(device.driver.cuMemcpyDtoHAsync(staging[i % 2].bytes, base + CUdeviceptr(offset), n,
                                                                 computeStream.handle), "cuMemcpyDtoHAsync")
                try stagingDone[i % 2].record(on: computeStream)
            }
            if chunks > 0 { try start(0) }
            for i in 0..<chunks {
                if i + 1 < chunks { try start(i + 1) }
                try stagingDone[i % 2].synchronize()
                let offset = i * Self.stagingBytes, n = min(Self.stagingBytes, bytes.count - offset)
                (bytes.baseAddress! + offset).copyMemory(from: staging[i % 2].bytes, byteCount: n)
            }
        }
    }

    public func synchronize() {
        enqueue("synchronize") { try computeStream.synchronize() }
    }

    public func fill(_ dst: TensorRef, count: Int, value: Float) {
        enqueue("fill") {
            var args = KernelArguments()
            if dst.elementType == .i32 {
                args.append(ints(dst, count)); args.append(Int64(count)); args.append(UInt32(bitPattern: Int32(value)))
                try launch("fill_bits32", grid: gridFor(count), args)
            } else {
                let p = operand(&args, dst, count); args.append(value)
                try launchElementwise("fill_float", args, count: count, addresses: [p])
            }
        }
    }

    public func copy(_ src: TensorRef, to dst: TensorRef, count: Int) {
        enqueue("copy") {
            if src.elementType == dst.elementType {
                let types: Set<ElementType> = [src.elementType]
                try device.check(device.driver.cuMemcpyDtoDAsync(address(dst, count, types), address(src, count, types),
                                                                 count * src.elementType.byteSize, computeStream.handle),
                                 "cuMemcpyDtoDAsync")
                return
            }
            try convert(from: address(src, count), bf16: src.elementType == .bf16,
                        to: address(dst, count), bf16: dst.elementType == .bf16, count: count)
        }
    }
}
