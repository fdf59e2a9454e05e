#if canImport(Glibc)
import Glibc
#endif

/// Reusable scratch memory for parallel tasks (GEMM packing, attention score blocks), so hot
/// loops never allocate: a task borrows a buffer, uses it, and hands it back. At most one
/// buffer per concurrently running task is ever created.
final class ScratchPool {
    private var free: [(pointer: UnsafeMutableRawPointer, bytes: Int)] = []
    private var mutex = pthread_mutex_t()

    init() { pthread_mutex_init(&mutex, nil) }

    deinit {
        for b in free { b.pointer.deallocate() }
        pthread_mutex_destroy(&mutex)
    }

    /// Runs `body` with at least `floats` 64-byte aligned floats of scratch (contents unspecified).
    func withFloats<R>(_ floats: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let bytes = max(64, floats * MemoryLayout<Float>.stride)
        pthread_mutex_lock(&mutex)
        var buffer = free.popLast()
        pthread_mutex_unlock(&mutex)
        if let b = buffer, b.bytes < bytes {
            b.pointer.deallocate()
            buffer = nil
        }
        let b = buffer ?? (UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64), bytes)
        defer {
            pthread_mutex_lock(&mutex)
            free.append(b)
            pthread_mutex_unlock(&mutex)
        }
        return body(b.pointer.bindMemory(to: Float.self, capacity: b.bytes / 4))
    }
}
