import Backends
import ModelFormats

/// The first decoder layers, kept on the device for the whole run with their optimizer state
/// and updated there by the backend's `adamW` right after their backward, when the plan gives
/// them the room.
///
/// Why the first layers: their gradients are the last to land, so their CPU AdamW is the one
/// the next step's forward waits for. Updated on the GPU right after their backward, they take
/// the host AdamW off the step's critical path when it is slower than the backward.
///
/// The price is 18 bytes per parameter of GPU memory (compute weights, fp32 gradient, masters,
/// m, v), which the plan counts. The embedding, final norm and LM head are kept the same way
/// when the plan places them on the GPU (`ModelLevelPlacement`).
final class ResidentParameters {
    struct Buffer {
        let name: String
        /// The compute copy (the model's storage type) the ops read.
        let weights: any DeviceBuffer
        let gradients: any DeviceBuffer
        /// fp32 masters: `weights` itself when the storage is f32.
        let masters: any DeviceBuffer
        let m: any DeviceBuffer
        let v: any DeviceBuffer
        let segments: OptimizerSegments
        /// The f32 norm weights the layer reads when the storage is not f32 (as `DecoderModel`'s),
        /// refreshed from the masters after each update.
        let norms: NormWeightCopies?
    }

    let backend: any Backend
    /// Decoder layers 0..<layers.count.
    let layers: [Buffer]
    /// The embedding, final norm (f32 weights) and LM head when `modelLevel` (else empty).
    let modelLevel: [Buffer]

    /// Uploads the host state's weights and moments of these buffers.
    init(layout: ModelLayout, host: HostTrainingState, decoderLayers: Int, modelLevel: Bool, storage: ElementType,
         backend: any Backend) throws {
        self.backend = backend
        func make(_ name: String, _ segments: OptimizerSegments, storage: ElementType) throws -> Buffer {
            guard let h = host.buffers.first(where: { $0.name == name }) else { preconditionFailure("host state has no \(name)") }
            let count = h.weights.count
            let weights = try backend.makeBuffer(storage, count: count)
            let masters = storage == .f32 ? weights : try backend.makeBuffer(.f32, count: count)
            let b = Buffer(name: name, weights: weights, gradients: try backend.makeBuffer(.f32, count: count),
                           masters: masters, m: try backend.makeBuffer(.f32, count: count),
                           v: try backend.makeBuffer(.f32, count: count), segments: segments,
                           norms: storage == .f32 || !name.hasPrefix("model.layers.") ? nil
                               : try NormWeightCopies(layout: layout.layer, backend: backend))
            backend.upload(UnsafeRawBufferPointer(h.weights.pointer), to: masters.ref())
            backend.upload(UnsafeRawBufferPointer(start: h.moments.expAvg, count: count * 4), to: b.m.ref())
            backend.upload(UnsafeRawBufferPointer(start: h.moments.expAvgSq, count: count * 4), to: b.v.ref())
            if storage != .f32 { backend.copy(masters.ref(), to: weights.ref(), count: count) }
            b.norms?.refresh(from: masters, backend: backend)
            return b
        }
        let layerSegments = OptimizerSegments(layout.layer.tensors)
        layers = try (0..<decoderLayers).map { try make("model.layers.\($0)", layerSegments, storage: storage) }
        let modelSlots = [(layout.embedding, storage), (layout.finalNorm, ElementType.f32)]
            + (layout.lmHead.map { [($0, storage)] } ?? [])
        self.modelLevel = try modelLevel ? modelSlots.map { try make($0.0.name, OptimizerSegments([$0.0]), storage: $0.1) } : []
    }

    /// AdamW update number `step` of one buffer, tensor by tensor (decay on matrices only), the
    /// gradients multiplied by `gradScale`, rewriting its compute copy in the same pass and then
    /// its f32 norm weights.
    func update(_ b: Buffer, hyperparameters h: AdamWHyperparameters, learningRate: Double, step: Int, gradScale: Float) {
        let withDecay = h.scalars(learningRate: learningRate, step: step, gradScale: gradScale, decays: true)
        let withoutDecay = h.scalars(learningRate: learningRate, step: step, gradScale: gradScale, decays: false)
        for s in b.segments.segments {
            let i = s.range.lowerBound
            backend.adamW(params: b.masters.ref(i), m: b.m.ref(i), v: b.v.ref(i), grads: b.gradients.ref(i),
                          computeCopy: b.weights === b.masters ? nil : b.weights.ref(i), count: s.range.count,
                          scalars: s.decays ? withDecay : withoutDecay)
        }
        b.norms?.refresh(from: b.masters, backend: backend)
    }

    /// Releases the host copies of these buffers' moments (`AdamWMoments.releasePages`): while
    /// the device holds and updates them, the host copy is only needed to save a checkpoint,
    /// and `download` brings it back for that. 8 bytes per resident parameter of host memory.
    func releaseHostMoments(of host: HostTrainingState) {
        for b in layers + modelLevel {
            host.buffers.first(where: { $0.name == b.name })?.moments.releasePages()
        }
    }

    /// Copies masters and moments into the host state (for a checkpoint or the final model).
    func download(into host: HostTrainingState) {
        for b in layers + modelLevel {
            guard let h = host.buffers.first(where: { $0.name == b.name }) else { continue }
            backend.download(b.masters.ref(), into: UnsafeMutableRawBufferPointer(h.weights.pointer))
            backend.download(b.m.ref(), into: UnsafeMutableRawBufferPointer(start: h.moments.expAvg, count: h.moments.count * 4))
            backend.download(b.v.ref(), into: UnsafeMutableRawBufferPointer(start: h.moments.expAvgSq, count: h.moments.count * 4))
        }
    }
}
