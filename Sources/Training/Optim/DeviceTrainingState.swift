import Backends
import ModelFormats

/// The optimizer state on the model's backend, so a step never leaves the device: per flat
/// parameter buffer the fp32 master weights (the model's own weights when it stores f32;
/// a separate f32 buffer when it computes in bf16), the AdamW moments m and v (f32) and a
/// view of the gradient. One path for every backend:
///   1. `gradientNorm()`: Σ g² of every tensor by the backend's `sumOfSquares` (one f32 slot
///      per tensor), the slots summed in double on the host: the global 2-norm;
///   2. the clip coefficient from that norm (`GradientClipping.coefficient`, by the caller);
///   3. `update`: the backend's `adamW` per tensor with its decay flag and the coefficient as
///      `gradScale`, writing the bf16 compute weights in the same pass (and copying the fp32
///      masters of the tensors the model reads in f32, its norm weights).
/// Masters and moments cross to the host only for checkpoints (`download`) and resume
/// (`upload`). No allocation per step.
public final class DeviceTrainingState {
    private struct Buffer {
        let name: String
        /// f32 masters: the model's weights themselves, or a separate buffer.
        let masters: any DeviceBuffer
        /// The model's bf16 weights, written from the masters by every update; nil when the
        /// masters are the model's weights.
        let computeCopy: (any DeviceBuffer)?
        let gradients: any DeviceBuffer
        /// Master ranges the model reads from separate f32 copies.
        let f32Copies: [TrainableBuffer.F32Copy]
        let m: any DeviceBuffer
        let v: any DeviceBuffer
        let segments: OptimizerSegments
    }

    public let backend: any Backend
    public let hyperparameters: AdamWHyperparameters
    private let buffers: [Buffer]
    /// One f32 Σ g² per tensor (segment), in buffer order.
    private let squareSums: any DeviceBuffer
    private var squareSumsHost: [Float]
    /// Updates applied so far (AdamW's step count; every buffer shares it).
    public private(set) var step = 0

    public init(model: any TrainableModel, hyperparameters: AdamWHyperparameters) throws {
        let backend = model.backend
        self.backend = backend
        self.hyperparameters = hyperparameters
        buffers = try model.trainableBuffers.map { b in
            let count = b.weights.count
            let separate = b.weights.elementType != .f32
            let m = try backend.makeBuffer(.f32, count: count), v = try backend.makeBuffer(.f32, count: count)
            return Buffer(name: b.name, masters: separate ? try backend.makeBuffer(.f32, count: count) : b.weights,
                          computeCopy: separate ? b.weights : nil, gradients: b.gradients, f32Copies: b.f32Copies, m: m, v: v,
                          segments: b.segments)
        }
        let tensors = buffers.reduce(0) { $0 + $1.segments.segments.count }
        squareSums = try backend.makeBuffer(.f32, count: tensors)
        squareSumsHost = [Float](repeating: 0, count: tensors)
    }

    // MARK: Host transfers

    /// Replaces masters, moments and step with the host state's (a fresh start or a resume)
    /// and rounds the masters into the model's compute weights.
    public func upload(_ host: HostTrainingState) {
        let hostBuffers = matched(host)
        for (b, h) in zip(buffers, hostBuffers) {
            upload(h.weights.pointer, to: b.masters)
            upload(UnsafeMutableBufferPointer(start: h.moments.expAvg, count: h.moments.count), to: b.m)
            upload(UnsafeMutableBufferPointer(start: h.moments.expAvgSq, count: h.moments.count), to: b.v)
            if let copy = b.computeCopy { backend.copy(b.masters.ref(), to: copy.ref(), count: copy.count) }
            refreshF32Copies(b)
        }
        step = host.step
    }

    /// Copies masters, moments and step into the host state (for a checkpoint or the final model).
    public func download(into host: HostTrainingState) {
        let hostBuffers = matched(host)
        for (b, h) in zip(buffers, hostBuffers) {
            backend.download(b.masters.ref(), into: UnsafeMutableRawBufferPointer(h.weights.pointer))
            backend.download(b.m.ref(), into: UnsafeMutableRawBufferPointer(start: h.moments.expAvg, count: h.moments.count * 4))
            backend.download(b.v.ref(), into: UnsafeMutableRawBufferPointer(start: h.moments.expAvgSq, count: h.moments.count * 4))
            h.moments.step = step
        }
    }

    private func matched(_ host: HostTrainingState) -> [HostTrainingState.Buffer] {
        precondition(host.buffers.map(\.name) == buffers.map(\.name)
                     && zip(host.buffers, buffers).allSatisfy { $0.weights.count == $1.masters.count },
                     "host state of another model layout")
        return host.buffers
    }

    private func upload(_ values: UnsafeMutableBufferPointer<Float>, to buffer: any DeviceBuffer) {
        backend.upload(UnsafeRawBufferPointer(values), to: buffer.ref())
    }

    // MARK: The step

    /// The 2-norm of all gradients together (before clipping).
    public func gradientNorm() -> Double {
        backend.fill(squareSums.ref(), count: squareSums.count, value: 0)
        var slot = 0
        for b in buffers {
            for s in b.segments.segments {
                backend.sumOfSquares(b.gradients.ref(s.range.lowerBound), count: s.range.count, into: squareSums.ref(slot))
                slot += 1
            }
        }
        squareSumsHost.withUnsafeMutableBytes { backend.download(squareSums.ref(), into: $0) }
        var total = 0.0
        for x in squareSumsHost { total += Double(x) }
        return total.squareRoot()
    }

    /// One AdamW update of every tensor with the gradients multiplied by `gradScale`.
    public func update(learningRate: Double, gradScale: Float) {
        step += 1
        let h = hyperparameters
        let withDecay = h.scalars(learningRate: learningRate, step: step, gradScale: gradScale, decays: true)
        let withoutDecay = h.scalars(learningRate: learningRate, step: step, gradScale: gradScale, decays: false)
        for b in buffers {
            for s in b.segments.segments {
                let i = s.range.lowerBound
                backend.adamW(params: b.masters.ref(i), m: b.m.ref(i), v: b.v.ref(i), grads: b.gradients.ref(i),
                              computeCopy: b.computeCopy?.ref(i), count: s.range.count,
                              scalars: s.decays ? withDecay : withoutDecay)
            }
            refreshF32Copies(b)
        }
    }

    private func refreshF32Copies(_ b: Buffer) {
        for c in b.f32Copies {
            backend.copy(b.masters.ref(c.range.lowerBound), to: c.target, count: c.range.count)
        }
    }
}
