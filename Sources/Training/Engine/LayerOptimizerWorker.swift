#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Backends
import Support

/// A persistent host thread that runs the CPU AdamW of one update unit at a time (a streamed
/// decoder layer, or a part of at most a layer's size of the embedding, final norm or LM head)
/// while the caller goes on enqueueing GPU work: each job first waits for the event after its
/// gradient's device → host copy, then updates the unit's fp32 masters and moments
/// (multi-threaded on `pool`); the next step's compute weights are made from the masters on
/// their way to the device. The caller asks `waitForUpdate` before it copies a unit's masters
/// or reuses a gradient landing buffer.
///
/// Order: of the jobs whose gradient has landed, the one the next forward needs first (lowest
/// `ranks` entry) runs first. The LM head's gradient lands first in the backward but is needed
/// last in the forward; run in submission order, its update would hold back every layer's
/// (and, with a ring of landing buffers, the backward) and leave the AdamW thread idle during
/// the next forward.
final class LayerOptimizerWorker {
    struct Job {
        /// Index into `layers` (the update units).
        let layer: Int
        /// Fires when the gradient has landed in `gradients`.
        let landed: any DeviceEvent
        let gradients: GradientInput
        let learningRate: Double
        /// The clipping coefficient (1 without clipping).
        let gradScale: Float
    }

    /// What one unit's update needs: its masters and moments (pointers at the unit's first
    /// element of the buffer's) and the segments indexed from there. `moments`
    /// is the whole buffer's, whose step count the update sets.
    struct Layer {
        let masters: UnsafeMutablePointer<Float>
        let m: UnsafeMutablePointer<Float>
        let v: UnsafeMutablePointer<Float>
        let moments: AdamWMoments
        let segments: OptimizerSegments
        let count: Int
    }

    let optimizer: AdamW
    /// Elements per piece of an update whose progress is published (`waitForUpdate(elements:)`);
    /// the engine's is the upload's piece, so each piece's copy to the GPU starts behind its update.
    let pieceElements: Int
    private let layers: [Layer]
    /// Per unit: when the next forward needs its update (smaller: sooner).
    private let ranks: [Int]
    private let pool: WorkerPool
    private var mutex = pthread_mutex_t()
    private var changed = pthread_cond_t()
    private var pending: [Job] = []
    private var stopping = false
    private var thread = pthread_t()
    /// Updates applied per layer (guarded by `mutex`).
    private var updates: [Int]
    /// Units whose waiting job a caller holds back (`hold`), and those whose waiting job goes
    /// after every other (released by `release`) (guarded by `mutex`).
    private var held: Set<Int> = []
    private var demoted: Set<Int> = []
    /// The unit whose update runs now, and the elements of it updated so far (guarded by `mutex`).
    private var runningLayer: Int?
    private var runningProgress = 0
    /// Host start and end of each layer's last two updates, at [update count mod 2] (guarded by `mutex`).
    private var spans: [[(count: Int, start: ContinuousClock.Instant, end: ContinuousClock.Instant)?]]

    init(optimizer: AdamW, layers: [Layer], ranks: [Int], pool: WorkerPool,
         pieceElements: Int = MemoryPlanner.uploadPieceElements) {
        precondition(ranks.count == layers.count, "a rank per update unit")
        self.optimizer = optimizer
        self.pieceElements = pieceElements
        self.layers = layers
        self.ranks = ranks
        self.pool = pool
        updates = layers.map(\.moments.step)
        spans = Array(repeating: Array(repeating: nil, count: layers.count), count: 2)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&changed, nil)
        let box = Unmanaged.passRetained(self)
        let rc = pthread_create(&thread, nil, { arg in
            Unmanaged<LayerOptimizerWorker>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, box.toOpaque())
        precondition(rc == 0, "cannot start the optimizer thread (pthread_create \(rc))")
    }

    /// Stops the thread after the jobs already submitted.
    func shutdown() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_broadcast(&changed)
        pthread_mutex_unlock(&mutex)
        pthread_join(thread, nil)
    }

    func submit(_ job: Job) {
        pthread_mutex_lock(&mutex)
        pending.append(job)
        pthread_cond_broadcast(&changed)
        pthread_mutex_unlock(&mutex)
    }

    /// Blocks until layer `layer` has had `count` updates in all, or (`elements`) until update
    /// number `count` has written its first `elements` elements; true when it had to wait.
    @discardableResult
    func waitForUpdate(layer: Int, count: Int, elements: Int = .max) -> Bool {
        pthread_mutex_lock(&mutex)
        func done() -> Bool {
            updates[layer] >= count
                || (updates[layer] == count - 1 && runningLayer == layer && runningProgress >= elements)
        }
        let waits = !done()
        while !done() { pthread_cond_wait(&changed, &mutex) }
        pthread_mutex_unlock(&mutex)
        return waits
    }

    /// Holds back update number `count` of each of `units` so the caller can read what it will
    /// write: per unit, nil once that update has run (after waiting for it when it is running),
    /// else the job and its step number, its gradient landed; the jobs do not start until
    /// `release(layer:)`. They are held all at once, so none of them runs between the holds and
    /// those released run in submission order: a later unit's update having run means an
    /// earlier one's has (landing buffers shared by the units are freed by the last one's).
    /// `waited`: whether it had to wait.
    func hold(units: [Int], count: Int) -> (held: [(job: Job, step: Int)?], waited: Bool) {
        pthread_mutex_lock(&mutex)
        var waited = false
        // Wait while one of them runs, or has an update still to come that is not submitted yet.
        while units.contains(where: { u in
            updates[u] < count && (runningLayer == u || !pending.contains { $0.layer == u })
        }) {
            pthread_cond_wait(&changed, &mutex)
            waited = true
        }
        let held: [(job: Job, step: Int)?] = units.map { u in
            guard updates[u] < count, let job = pending.first(where: { $0.layer == u }) else { return nil }
            self.held.insert(u)
            return (job, updates[u] + 1)
        }
        pthread_mutex_unlock(&mutex)
        for h in held where h.map({ !$0.job.landed.isComplete }) ?? false {
            h?.job.landed.synchronize()
            waited = true
        }
        return (held, waited)
    }

    /// Lets a held job run, after every job that is not also released this way: what the caller
    /// needed from it is taken.
    func release(layer: Int) {
        pthread_mutex_lock(&mutex)
        held.remove(layer)
        demoted.insert(layer)
        pthread_cond_broadcast(&changed)
        pthread_mutex_unlock(&mutex)
    }

    /// Whether update number `count` of layer `layer` has started (or run), without waiting.
    func hasStarted(layer: Int, count: Int) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return updates[layer] >= count || (updates[layer] == count - 1 && runningLayer == layer)
    }

    /// Whether layer `layer` has had `count` updates in all (without waiting).
    func hasUpdate(layer: Int, count: Int) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return updates[layer] >= count
    }

    /// Blocks until every submitted job has run.
    func drain() {
        pthread_mutex_lock(&mutex)
        while !pending.isEmpty || runningLayer != nil { pthread_cond_wait(&changed, &mutex) }
        pthread_mutex_unlock(&mutex)
    }

    /// Units the thread updates (index `layer` of the other calls).
    var unitCount: Int { layers.count }

    /// The masters, moments and segments of unit `layer`.
    func unit(_ layer: Int) -> Layer { layers[layer] }

    /// When layer `layer`'s update number `count` ran (host clock), if it is one of the last two.
    func updateSpan(layer: Int, count: Int) -> (start: ContinuousClock.Instant, end: ContinuousClock.Instant)? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard let s = spans[count % 2][layer], s.count == count else { return nil }
        return (s.start, s.end)
    }

    private func run() {
        let clock = ContinuousClock()
        while true {
            pthread_mutex_lock(&mutex)
            var chosen = Self.next(pending, ranks: ranks, held: held, demoted: demoted)
            while chosen == nil && !(stopping && pending.isEmpty) {
                pthread_cond_wait(&changed, &mutex)
                chosen = Self.next(pending, ranks: ranks, held: held, demoted: demoted)
            }
            guard let k = chosen else { pthread_mutex_unlock(&mutex); return }
            let job = pending.remove(at: k)
            runningLayer = job.layer
            runningProgress = 0
            pthread_mutex_unlock(&mutex)

            job.landed.synchronize()
            let start = clock.now
            update(job)
            let end = clock.now

            pthread_mutex_lock(&mutex)
            runningLayer = nil
            demoted.remove(job.layer)
            updates[job.layer] += 1
            spans[updates[job.layer] % 2][job.layer] = (updates[job.layer], start, end)
            pthread_cond_broadcast(&changed)
            pthread_mutex_unlock(&mutex)
        }
    }

    /// The index in `pending` of the job to run next, of those not `held`: among those whose
    /// gradient has landed, the lowest rank (`demoted` units rank last; the earlier submitted on
    /// a tie); the oldest when none has; nil when there is none. Gradients land in submission
    /// order (one copy queue), so the landed jobs are a prefix.
    static func next(_ pending: [Job], ranks: [Int], held: Set<Int> = [], demoted: Set<Int> = []) -> Int? {
        func rank(_ k: Int) -> Int { demoted.contains(pending[k].layer) ? Int.max : ranks[pending[k].layer] }
        var best: Int?
        for (k, job) in pending.enumerated() {
            guard job.landed.isComplete else { break }
            if held.contains(job.layer) { continue }
            if best.map({ rank(k) < rank($0) }) ?? true { best = k }
        }
        return best ?? pending.indices.first { !held.contains(pending[$0].layer) }
    }

    private func update(_ job: Job) {
        let l = layers[job.layer]
        pthread_mutex_lock(&mutex)
        let step = updates[job.layer] + 1
        pthread_mutex_unlock(&mutex)
        optimizer.update(params: l.masters, gradients: job.gradients, m: l.m, v: l.v, segments: l.segments,
                         step: step, learningRate: job.learningRate, gradScale: job.gradScale, bf16Output: nil,
                         pool: pool, pieceElements: pieceElements) { elements in
            pthread_mutex_lock(&self.mutex)
            self.runningProgress = elements
            pthread_cond_broadcast(&self.changed)
            pthread_mutex_unlock(&self.mutex)
        }
        l.moments.step = step
    }
}
