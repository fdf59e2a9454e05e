#if canImport(Glibc)
import Glibc
#endif
import Backends

/// A `QueuedTransfers` for tests that behaves like a GPU whose queues lag, so that a missing
/// event dependency shows up as a wrong result on the CPU. The queues of `lagging` only hold
/// their work, which runs (the CPU backend's) when something forces it: an event recorded after
/// it being waited on by another queue or by a host thread, the queue's `synchronize`, or (for
/// the compute queue) a `download` / `upload`; the other queues run their work at once.
///
/// - `.copies` (a copy engine that lags): every host↔device copy reads its source when it runs,
///   so an op that overwrites a buffer a pending D2H copy reads, the AdamW thread writing host
///   memory (masters) a pending H2D copy reads, or an op or host thread reading a copy's
///   destination before its event was waited on, changes the result.
/// - `.compute` (a compute queue that lags): a copy that overwrites device memory (a weight
///   slot, a hidden buffer, a gradient slot) an op still has to read, or reads what an op has
///   not written yet, changes the result.
///
/// A host thread other than the one that made the engine (the AdamW thread) waits `hostLag`
/// before forcing, so the enqueueing thread runs ahead. One lock orders all work against every
/// force, so whatever the engine orders by events is ordered here too. Waits capture an event's
/// latest recording, as `cudaStreamWaitEvent` does; they point back in enqueue order, so forcing
/// cannot cycle.
final class LaggingQueuesBackend: QueuedTransfers {
    enum Lagging { case copies, compute }

    let cpu: CPUBackend
    let lagging: Lagging
    let hostLag: Duration
    private let creator = pthread_self()
    private var mutex = pthread_mutex_t()
    private let compute: LaggingQueue
    /// The most items one queue held at once (a test checks that copies did lag).
    private(set) var mostHeld = 0

    init(cpu: CPUBackend, lagging: Lagging, hostLag: Duration = .milliseconds(5)) {
        self.cpu = cpu
        self.lagging = lagging
        self.hostLag = hostLag
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(&mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
        compute = LaggingQueue(immediate: lagging != .compute)
        compute.engine = self
    }

    func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }

    /// Runs `queue`'s copies until `point` of them are done (on a non-enqueueing thread after the lag).
    func force(_ queue: LaggingQueue, through point: Int) {
        if pthread_equal(pthread_self(), creator) == 0 && locked({ queue.done < point }) {
            let lag = hostLag.components
            usleep(useconds_t(lag.seconds * 1_000_000 + lag.attoseconds / 1_000_000_000_000))
        }
        locked {
            while queue.done < point {
                let work = queue.pending.removeFirst()
                work()
                queue.done += 1
            }
        }
    }

    fileprivate func enqueue(on queue: any DeviceQueue, _ work: @escaping () -> Void) {
        guard let q = queue as? LaggingQueue, !q.immediate else { return locked(work) }
        locked {
            q.pending.append(work)
            q.enqueued += 1
            mostHeld = max(mostHeld, q.enqueued - q.done)
        }
    }

    // MARK: QueuedTransfers

    var computeQueue: any DeviceQueue { compute }
    func makeQueue() throws -> any DeviceQueue {
        let q = LaggingQueue(immediate: lagging != .copies)
        q.engine = self
        return q
    }
    func makeEvent(timing: Bool) throws -> any DeviceEvent { LaggingEvent(engine: self) }
    func makePinnedHostMemory(bytes: Int) throws -> any PinnedHostMemory { try cpu.makePinnedHostMemory(bytes: bytes) }
    func registerHostMemory(_ base: UnsafeMutableRawPointer, bytes: Int) throws -> any PinnedHostMemory {
        try cpu.registerHostMemory(base, bytes: bytes)
    }

    func copyToDevice(from source: UnsafeRawPointer, to destination: TensorRef, bytes: Int, on queue: any DeviceQueue) {
        let cpu = cpu
        enqueue(on: queue) { cpu.copyToDevice(from: source, to: destination, bytes: bytes, on: queue) }
    }

    func copyToDevice(converting source: UnsafePointer<Float>, to destination: TensorRef, count: Int,
                      scratch: TensorRef, on queue: any DeviceQueue) {
        let cpu = cpu
        enqueue(on: queue) {
            cpu.copyToDevice(converting: source, to: destination, count: count, scratch: scratch, on: queue)
        }
    }

    func copyToHost(from source: TensorRef, to destination: UnsafeMutableRawPointer, bytes: Int, on queue: any DeviceQueue) {
        let cpu = cpu
        enqueue(on: queue) { cpu.copyToHost(from: source, to: destination, bytes: bytes, on: queue) }
    }

    func copyToHost(converting source: TensorRef, toBF16 destination: UnsafeMutablePointer<UInt16>, count: Int,
                    scratch: TensorRef, on queue: any DeviceQueue) {
        let cpu = cpu
        enqueue(on: queue) {
            cpu.copyToHost(converting: source, toBF16: destination, count: count, scratch: scratch, on: queue)
        }
    }

    /// Runs an op on the compute queue.
    private func onCompute(_ op: @escaping (CPUBackend) -> Void) {
        let cpu = cpu
        enqueue(on: compute) { op(cpu) }
    }

    /// Runs everything enqueued on the compute queue so far.
    private func finishCompute() { compute.synchronize() }

    // MARK: Backend (every op on the compute queue)

    var name: String { "lagging copies over \(cpu.name)" }
    func makeBuffer(_ type: ElementType, count: Int) throws -> any DeviceBuffer { try cpu.makeBuffer(type, count: count) }
    func makeView(_ type: ElementType, count: Int, of buffer: any DeviceBuffer, byteOffset: Int) -> any DeviceBuffer {
        cpu.makeView(type, count: count, of: buffer, byteOffset: byteOffset)
    }
    func upload(_ bytes: UnsafeRawBufferPointer, to dst: TensorRef) {
        finishCompute()
        locked { cpu.upload(bytes, to: dst) }
    }
    func download(_ src: TensorRef, into bytes: UnsafeMutableRawBufferPointer) {
        finishCompute()
        locked { cpu.download(src, into: bytes) }
    }
    func synchronize() { finishCompute() }
    func fill(_ dst: TensorRef, count: Int, value: Float) { onCompute { cpu in cpu.fill(dst, count: count, value: value) } }
    func copy(_ src: TensorRef, to dst: TensorRef, count: Int) { onCompute { cpu in cpu.copy(src, to: dst, count: count) } }
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
              alpha: Float, a: TensorRef, b: TensorRef, beta: Float, c: TensorRef) {
        onCompute { cpu in cpu.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c) }
    }
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
              a: TensorRef, b: TensorRef, adding addend: TensorRef, out: TensorRef) {
        onCompute { cpu in cpu.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b, adding: addend, out: out) }
    }
    func addBias(_ out: TensorRef, bias: TensorRef, rows: Int, cols: Int) {
        onCompute { cpu in cpu.addBias(out, bias: bias, rows: rows, cols: cols) }
    }
    func biasBackward(dBias: TensorRef, dOut: TensorRef, rows: Int, cols: Int) {
        onCompute { cpu in cpu.biasBackward(dBias: dBias, dOut: dOut, rows: rows, cols: cols) }
    }
    func add(_ out: TensorRef, _ a: TensorRef, _ b: TensorRef, count: Int) { onCompute { cpu in cpu.add(out, a, b, count: count) } }
    func scale(_ x: TensorRef, count: Int, by factor: Float) { onCompute { cpu in cpu.scale(x, count: count, by: factor) } }
    func sumOfSquares(_ x: TensorRef, count: Int, into result: TensorRef) {
        onCompute { cpu in cpu.sumOfSquares(x, count: count, into: result) }
    }
    func adamW(params: TensorRef, m: TensorRef, v: TensorRef, grads: TensorRef, computeCopy: TensorRef?,
               count: Int, scalars: AdamWScalars) {
        onCompute { cpu in cpu.adamW(params: params, m: m, v: v, grads: grads, computeCopy: computeCopy, count: count, scalars: scalars) }
    }
    func embeddingForward(out: TensorRef, ids: TensorRef, table: TensorRef, tokens: Int, channels: Int, vocab: Int) {
        onCompute { cpu in cpu.embeddingForward(out: out, ids: ids, table: table, tokens: tokens, channels: channels, vocab: vocab) }
    }
    func embeddingBackward(dTable: TensorRef, dOut: TensorRef, ids: TensorRef, tokens: Int, channels: Int, vocab: Int) {
        onCompute { cpu in cpu.embeddingBackward(dTable: dTable, dOut: dOut, ids: ids, tokens: tokens, channels: channels, vocab: vocab) }
    }
    func embeddingBackwardGroups(dRows: TensorRef, dOut: TensorRef, tokenOrder: TensorRef, rowStarts: TensorRef,
                                 groupRows: TensorRef?, groups: Range<Int>, tokens: Int, channels: Int,
                                 firstRow: Int, rows: Int) {
        onCompute { cpu in
            cpu.embeddingBackwardGroups(dRows: dRows, dOut: dOut, tokenOrder: tokenOrder, rowStarts: rowStarts,
                                        groupRows: groupRows, groups: groups, tokens: tokens, channels: channels,
                                        firstRow: firstRow, rows: rows)
        }
    }
    func rmsNormForward(out: TensorRef, rstd: TensorRef, inp: TensorRef, weight: TensorRef, rows: Int, cols: Int, eps: Float) {
        onCompute { cpu in cpu.rmsNormForward(out: out, rstd: rstd, inp: inp, weight: weight, rows: rows, cols: cols, eps: eps) }
    }
    func rmsNormBackward(dInp: TensorRef, dWeight: TensorRef, dOut: TensorRef, inp: TensorRef,
                         weight: TensorRef, rstd: TensorRef, rows: Int, cols: Int, accumulate: Bool) {
        onCompute { cpu in
            cpu.rmsNormBackward(dInp: dInp, dWeight: dWeight, dOut: dOut, inp: inp, weight: weight, rstd: rstd,
                                rows: rows, cols: cols, accumulate: accumulate)
        }
    }
    func ropeForward(out: TensorRef, inp: TensorRef, positions: TensorRef, invFreq: TensorRef,
                     tokens: Int, heads: Int, headDim: Int) {
        onCompute { cpu in
            cpu.ropeForward(out: out, inp: inp, positions: positions, invFreq: invFreq, tokens: tokens, heads: heads,
                            headDim: headDim)
        }
    }
    func ropeBackward(dInp: TensorRef, dOut: TensorRef, positions: TensorRef, invFreq: TensorRef,
                      tokens: Int, heads: Int, headDim: Int) {
        onCompute { cpu in
            cpu.ropeBackward(dInp: dInp, dOut: dOut, positions: positions, invFreq: invFreq, tokens: tokens, heads: heads,
                             headDim: headDim)
        }
    }
    func supportsAttention(headDim: Int) -> Bool { cpu.supportsAttention(headDim: headDim) }
    func attentionForward(out: TensorRef, lse: TensorRef, q: TensorRef, k: TensorRef, v: TensorRef,
                          batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int) {
        onCompute { cpu in
            cpu.attentionForward(out: out, lse: lse, q: q, k: k, v: v, batch: batch, seqLen: seqLen, heads: heads,
                                 kvHeads: kvHeads, headDim: headDim)
        }
    }
    func attentionBackward(dq: TensorRef, dk: TensorRef, dv: TensorRef, dOut: TensorRef,
                           q: TensorRef, k: TensorRef, v: TensorRef, out: TensorRef, lse: TensorRef,
                           batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int) {
        onCompute { cpu in
            cpu.attentionBackward(dq: dq, dk: dk, dv: dv, dOut: dOut, q: q, k: k, v: v, out: out, lse: lse, batch: batch,
                                  seqLen: seqLen, heads: heads, kvHeads: kvHeads, headDim: headDim)
        }
    }
    func swigluForward(out: TensorRef, gate: TensorRef, up: TensorRef, count: Int) {
        onCompute { cpu in cpu.swigluForward(out: out, gate: gate, up: up, count: count) }
    }
    func swigluBackward(dGate: TensorRef, dUp: TensorRef, dOut: TensorRef, gate: TensorRef, up: TensorRef, count: Int) {
        onCompute { cpu in cpu.swigluBackward(dGate: dGate, dUp: dUp, dOut: dOut, gate: gate, up: up, count: count) }
    }
    func linearCrossEntropy(lossSum: TensorRef, dHidden: TensorRef, dWeight: TensorRef,
                            hidden: TensorRef, weight: TensorRef, targets: TensorRef,
                            tokens: Int, channels: Int, vocab: Int, scale: Float, chunkTokens: Int) {
        onCompute { cpu in
            cpu.linearCrossEntropy(lossSum: lossSum, dHidden: dHidden, dWeight: dWeight, hidden: hidden, weight: weight,
                                   targets: targets, tokens: tokens, channels: channels, vocab: vocab, scale: scale,
                                   chunkTokens: chunkTokens)
        }
    }
    func vocabChunkStatistics(rowMax: TensorRef, rowSum: TensorRef, targetLogit: TensorRef, logits: TensorRef,
                              hidden: TensorRef, weight: TensorRef, targets: TensorRef,
                              tokens: Int, channels: Int, vocabStart: Int, vocabRows: Int) {
        onCompute { cpu in
            cpu.vocabChunkStatistics(rowMax: rowMax, rowSum: rowSum, targetLogit: targetLogit, logits: logits, hidden: hidden,
                                     weight: weight, targets: targets, tokens: tokens, channels: channels,
                                     vocabStart: vocabStart, vocabRows: vocabRows)
        }
    }
    func vocabChunkLoss(lossSum: TensorRef, rowMax: TensorRef, rowSum: TensorRef, targetLogit: TensorRef,
                        targets: TensorRef, tokens: Int) {
        onCompute { cpu in
            cpu.vocabChunkLoss(lossSum: lossSum, rowMax: rowMax, rowSum: rowSum, targetLogit: targetLogit, targets: targets,
                               tokens: tokens)
        }
    }
    func vocabChunkBackward(dHidden: TensorRef, dWeight: TensorRef, logits: TensorRef, dlogits: TensorRef,
                            hidden: TensorRef, weight: TensorRef, targets: TensorRef, rowMax: TensorRef, rowSum: TensorRef,
                            tokens: Int, channels: Int, vocabStart: Int, vocabRows: Int, scale: Float, accumulate: Bool) {
        onCompute { cpu in
            cpu.vocabChunkBackward(dHidden: dHidden, dWeight: dWeight, logits: logits, dlogits: dlogits, hidden: hidden,
                                   weight: weight, targets: targets, rowMax: rowMax, rowSum: rowSum, tokens: tokens,
                                   channels: channels, vocabStart: vocabStart, vocabRows: vocabRows, scale: scale,
                                   accumulate: accumulate)
        }
    }
}

/// A queue of `LaggingQueuesBackend`: `immediate` (its work is done when enqueued) or holding its
/// work until forced.
final class LaggingQueue: DeviceQueue {
    let immediate: Bool
    unowned var engine: LaggingQueuesBackend!
    /// Held work, in order; `done` of `enqueued` items have run (guarded by the engine's lock).
    fileprivate var pending: [() -> Void] = []
    var enqueued = 0
    var done = 0

    init(immediate: Bool) { self.immediate = immediate }

    func wait(for event: any DeviceEvent) {
        guard let point = (event as? LaggingEvent)?.point else { return }
        if immediate { return engine.force(point.queue, through: point.count) }
        engine.enqueue(on: self) { [engine] in engine!.force(point.queue, through: point.count) }
    }

    func synchronize() {
        guard !immediate else { return }
        engine.force(self, through: engine.locked { enqueued })
    }
}

/// An event of `LaggingQueuesBackend`: the number of items its lagging queue had when recorded
/// (nil: recorded on an immediate queue, whose work is already done).
final class LaggingEvent: DeviceEvent {
    private unowned let engine: LaggingQueuesBackend
    private var recorded: (queue: LaggingQueue, count: Int)?

    init(engine: LaggingQueuesBackend) { self.engine = engine }

    var point: (queue: LaggingQueue, count: Int)? { engine.locked { recorded } }

    func record(on queue: any DeviceQueue) {
        guard let q = queue as? LaggingQueue else { return }
        engine.locked { recorded = q.immediate ? nil : (q, q.enqueued) }
    }

    func synchronize() {
        guard let point else { return }
        engine.force(point.queue, through: point.count)
    }

    var isComplete: Bool {
        guard let point else { return true }
        return engine.locked { point.queue.done >= point.count }
    }

    func milliseconds(since start: any DeviceEvent) -> Double { 0 }
}
