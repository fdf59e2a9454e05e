#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Support

/// The reference backend: host memory, fp32 storage and math, each op run to completion on
/// the calling thread plus the worker pool (GEMM through the packed AVX2/FMA kernel in
/// CKernels). Every other backend is validated against this one.
public final class CPUBackend: Backend {
    public let pool: WorkerPool
    let scratch = ScratchPool()
    private let ownsPool: Bool
    /// When set, every device buffer and pinned host allocation is recorded here (for tests
    /// that check a memory plan against what was allocated).
    public var allocationLog: AllocationLog?

    /// Runs ops on `pool` (shared with other users of the pool; one op at a time).
    public init(pool: WorkerPool) {
        self.pool = pool
        ownsPool = false
    }

    /// Runs ops on a pool of its own with `threads` threads (the caller's thread included).
    public init(threads: Int) {
        pool = WorkerPool(threads: threads)
        ownsPool = true
    }

    deinit {
        if ownsPool { pool.shutdown() }
    }

    public var name: String { "CPU (\(pool.threadCount) threads)" }

    // MARK: Operand access (misuse traps: these are programming errors, not input errors)

    @inline(__always)
    func storage(_ t: TensorRef, _ type: ElementType, _ count: Int) -> UnsafeMutableRawPointer {
        guard let b = t.buffer as? CPUBuffer else { preconditionFailure("buffer of another backend passed to the CPU backend") }
        precondition(b.elementType == type, "CPU backend: expected a \(type) operand, got \(b.elementType)")
        precondition(t.offset >= 0 && count >= 0 && t.offset + count <= b.count,
                     "CPU backend: operand range \(t.offset)..<\(t.offset + count) outside a buffer of \(b.count)")
        return b.raw + t.offset * type.byteSize
    }

    @inline(__always)
    func floats(_ t: TensorRef, _ count: Int) -> UnsafeMutablePointer<Float> {
        storage(t, .f32, count).assumingMemoryBound(to: Float.self)
    }

    @inline(__always)
    func ints(_ t: TensorRef, _ count: Int) -> UnsafeMutablePointer<Int32> {
        storage(t, .i32, count).assumingMemoryBound(to: Int32.self)
    }

    /// Splits 0..<count into at most 4 non-empty contiguous pieces per thread, of at least
    /// `minChunk` where possible, and runs them on the pool; `body(piece, range)` gets the
    /// piece's index (for per-piece partial results). Returns the number of pieces.
    @discardableResult
    func forEachPiece(_ count: Int, minChunk: Int, _ body: (Int, Range<Int>) -> Void) -> Int {
        if count <= 0 { return 0 }
        let wanted = max(1, min(pool.threadCount * 4, count / max(1, minChunk)))
        let step = (count + wanted - 1) / wanted
        // Recounted so that every piece is non-empty.
        let pieces = (count + step - 1) / step
        pool.parallelFor(pieces) { p in
            body(p, (p * step)..<min(count, p * step + step))
        }
        return pieces
    }

    // MARK: Memory

    public func makeBuffer(_ type: ElementType, count: Int) throws -> any DeviceBuffer {
        precondition(count >= 0, "negative buffer size")
        allocationLog?.recordDevice(type, count: count)
        return CPUBuffer(type, count: count)
    }

    public func makeView(_ type: ElementType, count: Int, of buffer: any DeviceBuffer, byteOffset: Int) -> any DeviceBuffer {
        guard let b = buffer as? CPUBuffer else { preconditionFailure("buffer of another backend passed to the CPU backend") }
        return CPUBuffer(type, count: count, viewing: b, byteOffset: byteOffset)
    }

    public func upload(_ bytes: UnsafeRawBufferPointer, to dst: TensorRef) {
        let size = dst.elementType.byteSize
        precondition(bytes.count % size == 0, "upload: \(bytes.count) bytes is not a whole number of \(dst.elementType)")
        let p = storage(dst, dst.elementType, bytes.count / size)
        if let base = bytes.baseAddress { p.copyMemory(from: base, byteCount: bytes.count) }
    }

    public func download(_ src: TensorRef, into bytes: UnsafeMutableRawBufferPointer) {
        let size = src.elementType.byteSize
        precondition(bytes.count % size == 0, "download: \(bytes.count) bytes is not a whole number of \(src.elementType)")
        let p = storage(src, src.elementType, bytes.count / size)
        if let base = bytes.baseAddress { base.copyMemory(from: p, byteCount: bytes.count) }
    }

    public func synchronize() {}

    public func fill(_ dst: TensorRef, count: Int, value: Float) {
        switch dst.elementType {
        case .f32:
            let p = floats(dst, count)
            forEachPiece(count, minChunk: 1 << 16) { _, r in (p + r.lowerBound).update(repeating: value, count: r.count) }
        case .bf16:
            let p = storage(dst, .bf16, count).assumingMemoryBound(to: UInt16.self)
            p.update(repeating: BFloat16Conversion.fromFloat(value), count: count)
        case .i32:
            ints(dst, count).update(repeating: Int32(value), count: count)
        }
    }

    public func copy(_ src: TensorRef, to dst: TensorRef, count: Int) {
        switch (src.elementType, dst.elementType) {
        case (.f32, .bf16):
            let s = floats(src, count)
            let d = storage(dst, .bf16, count).assumingMemoryBound(to: UInt16.self)
            forEachPiece(count, minChunk: 1 << 15) { _, r in
                for i in r { d[i] = BFloat16Conversion.fromFloat(s[i]) }
            }
        case (.bf16, .f32):
            let s = storage(src, .bf16, count).assumingMemoryBound(to: UInt16.self)
            let d = floats(dst, count)
            forEachPiece(count, minChunk: 1 << 15) { _, r in
                for i in r { d[i] = BFloat16Conversion.toFloat(s[i]) }
            }
        case let (a, b):
            precondition(a == b, "copy: cannot convert \(a) to \(b)")
            let bytes = count * a.byteSize
            storage(dst, b, count).copyMemory(from: storage(src, a, count), byteCount: bytes)
        }
    }
}
