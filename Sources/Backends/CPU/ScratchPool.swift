#if canImport(Glibc)
import Glibc
#endif

/// Reusable scratch memory for parallel tasks (GEMM packing, attention score blocks), so hot
/// loops never allocate: a task borrows a buffer, uses it, and hands it back. A buffer is
/// created only when no free one is large enough; all are freed with the pool.
final class ScratchPool {
    private var free: [(pointer: UnsafeMutableRawPointer, bytes: Int)] = []
    private var mutex = pthread_mutex_t()

    init() { pthread_mutex_init(&mutex, nil) }

    deinit {
        for b in free { b.pointer.deallocate() }
        pthread_mutex_destroy(&mutex)
    }

    /// Runs `body` with at least `floats` 64-byte aligned floats of scratch (contents unspecified).
    /// Takes the smallest free buffer that fits, else makes a new one: buffers are never
    /// resized, so differently sized borrowers (packing, score blocks) do not churn memory.
    func withFloats<R>(_ floats: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let bytes = max(64, floats * MemoryLayout<Float>.stride)
        pthread_mutex_lock(&mutex)
        var fit: Int? = nil
        for i in free.indices where free[i].bytes >= bytes && (fit.map { free[i].bytes < free[$0].bytes } ?? true) {
            fit = i
        }
        let found = fit.map { free.remove(at: $0) }
        pthread_mutex_unlock(&mutex)
        let b = found ?? (UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64), bytes)
        defer {
            pthread_mutex_lock(&mutex)
            free.append(b)
            pthread_mutex_unlock(&mutex)
        }
        return body(b.pointer.bindMemory(to: Float.self, capacity: b.bytes / 4))
    }
}
