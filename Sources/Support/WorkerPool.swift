#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A persistent pool of worker threads for data-parallel loops (GEMM tiles, AdamW chunks).
/// Threads are created once and sleep on a condition variable between jobs, so a parallel
/// loop costs one wake-up, not a thread spawn. One job runs at a time; `parallelFor` blocks
/// the caller, which also works on the job.
public final class WorkerPool: @unchecked Sendable {
    public let threadCount: Int

    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var done = pthread_cond_t()
    private var threads: [pthread_t] = []

    // Current job, guarded by `mutex`.
    private var job: ((Int) -> Void)? = nil
    private var jobCount = 0
    private var nextIndex = 0
    private var unfinished = 0
    private var generation = 0
    private var stopping = false
    // Serializes callers of parallelFor.
    private var submitLock = pthread_mutex_t()

    /// `threads` counts the calling thread: a pool of 1 runs everything inline.
    public init(threads: Int = WorkerPool.defaultThreadCount) {
        threadCount = max(1, threads)
        pthread_mutex_init(&mutex, nil)
        pthread_mutex_init(&submitLock, nil)
        pthread_cond_init(&wake, nil)
        pthread_cond_init(&done, nil)
        for _ in 1..<threadCount {
            let box = Unmanaged.passRetained(self)
            var t = pthread_t()
            let rc = pthread_create(&t, nil, { arg in
                let pool = Unmanaged<WorkerPool>.fromOpaque(arg!).takeRetainedValue()
                pool.workerLoop()
                return nil
            }, box.toOpaque())
            if rc != 0 {
                box.release()
                break
            }
            self.threads.append(t)
        }
    }

    /// Online CPU count; $SLIDEFORMER_THREADS overrides it.
    public static var defaultThreadCount: Int {
        if let s = ProcessInfo.processInfo.environment["SLIDEFORMER_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Shared pool for code that has no engine-owned pool to use.
    public static let shared = WorkerPool()

    /// Runs `body(i)` for every i in 0..<count across the pool; returns when all are done.
    /// Indices are handed out dynamically, so uneven items balance.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threads.isEmpty {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            pthread_mutex_lock(&submitLock)
            pthread_mutex_lock(&mutex)
            job = body
            jobCount = count
            nextIndex = 0
            unfinished = count
            generation &+= 1
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
            runItems()
            pthread_mutex_lock(&mutex)
            while unfinished > 0 { pthread_cond_wait(&done, &mutex) }
            job = nil
            pthread_mutex_unlock(&mutex)
            pthread_mutex_unlock(&submitLock)
        }
    }

    /// Splits 0..<count into about `threadCount * 4` contiguous ranges of at least `minChunk`.
    public func parallelRanges(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let pieces = max(1, min(threadCount * 4, count / max(1, minChunk)))
        let step = (count + pieces - 1) / pieces
        parallelFor(pieces) { p in
            let lo = p * step
            let hi = min(count, lo + step)
            if lo < hi { body(lo..<hi) }
        }
    }

    private func runItems() {
        while true {
            pthread_mutex_lock(&mutex)
            guard var body = job, nextIndex < jobCount else {
                pthread_mutex_unlock(&mutex)
                return
            }
            let i = nextIndex
            nextIndex += 1
            pthread_mutex_unlock(&mutex)
            body(i)
            // Drop this thread's reference before reporting completion: the caller's closure
            // is non-escaping and must have no references left once `unfinished` reaches 0.
            body = { _ in }
            _ = body
            pthread_mutex_lock(&mutex)
            unfinished -= 1
            if unfinished == 0 { pthread_cond_broadcast(&done) }
            pthread_mutex_unlock(&mutex)
        }
    }

    private func workerLoop() {
        var seen = 0
        while true {
            pthread_mutex_lock(&mutex)
            while !stopping && (generation == seen || job == nil || nextIndex >= jobCount) {
                if generation != seen && (job == nil || nextIndex >= jobCount) { seen = generation }
                pthread_cond_wait(&wake, &mutex)
            }
            if stopping {
                pthread_mutex_unlock(&mutex)
                return
            }
            seen = generation
            pthread_mutex_unlock(&mutex)
            runItems()
        }
    }

    /// Stops the workers. The pool must not be used afterwards.
    public func shutdown() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
        threads.removeAll()
    }
}
