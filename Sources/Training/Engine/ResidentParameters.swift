import Backends
import ModelFormats

/// The embedding, the final norm and the untied LM head, kept on the device for the whole run
/// with their optimizer state, and updated there by the backend's `adamW`.
///
/// Why resident: they are far larger than a decoder layer (V·C each: 525M parameters for a
/// 128k vocabulary at C = 4096) but used once per pass, at its two ends. Streamed, each step
/// would move their weights and gradients over PCIe twice and put their CPU AdamW, which
/// only can start after the backward's last layer, in front of the next step's first layer.
/// On the GPU their update takes a few milliseconds of HBM bandwidth. The price is 18 bytes
/// per parameter of GPU memory (bf16 weights, fp32 gradient, masters, m, v), which the plan
/// counts.
final class ResidentParameters {
    struct Tensor {
        let name: String
        /// The compute copy (the model's storage type) the ops read.
        let weights: any DeviceBuffer
        let gradients: any DeviceBuffer
        /// fp32 masters: `weights` itself when the storage is f32.
        let masters: any DeviceBuffer
        let m: any DeviceBuffer
        let v: any DeviceBuffer
        let decays: Bool
    }

    let backend: any Backend
    let embedding: Tensor
    let finalNorm: Tensor
    let lmHead: Tensor?
    var all: [Tensor] { [embedding, finalNorm] + (lmHead.map { [$0] } ?? []) }

    /// Uploads the host state's weights and moments of these tensors.
    init(layout: ModelLayout, host: HostTrainingState, storage: ElementType, backend: any Backend) throws {
        self.backend = backend
        func make(_ slot: TensorSlot) throws -> Tensor {
            guard let h = host.buffers.first(where: { $0.name == slot.name }) else {
                preconditionFailure("host state has no \(slot.name)")
            }
            let count = slot.count
            let weights = try backend.makeBuffer(storage, count: count)
            let masters = storage == .f32 ? weights : try backend.makeBuffer(.f32, count: count)
            let t = Tensor(name: slot.name, weights: weights, gradients: try backend.makeBuffer(.f32, count: count),
                           masters: masters, m: try backend.makeBuffer(.f32, count: count),
                           v: try backend.makeBuffer(.f32, count: count), decays: slot.decays)
            backend.upload(UnsafeRawBufferPointer(h.weights.pointer), to: masters.ref())
            backend.upload(UnsafeRawBufferPointer(start: h.moments.expAvg, count: count * 4), to: t.m.ref())
            backend.upload(UnsafeRawBufferPointer(start: h.moments.expAvgSq, count: count * 4), to: t.v.ref())
            if storage != .f32 { backend.copy(masters.ref(), to: weights.ref(), count: count) }
            return t
        }
        embedding = try make(layout.embedding)
        finalNorm = try make(layout.finalNorm)
        lmHead = try layout.lmHead.map(make)
    }

    func zeroGradients() {
        for t in all { backend.fill(t.gradients.ref(), count: t.gradients.count, value: 0) }
    }

    /// AdamW update number `step` of every tensor (no clipping), rewriting the compute copies.
    func update(hyperparameters h: AdamWHyperparameters, learningRate: Double, step: Int) {
        for t in all {
            backend.adamW(params: t.masters.ref(), m: t.m.ref(), v: t.v.ref(), grads: t.gradients.ref(),
                          computeCopy: t.weights === t.masters ? nil : t.weights.ref(), count: t.masters.count,
                          scalars: h.scalars(learningRate: learningRate, step: step, gradScale: 1, decays: t.decays))
        }
    }

    /// Copies masters and moments into the host state (for a checkpoint or the final model).
    func download(into host: HostTrainingState) {
        for t in all {
            guard let h = host.buffers.first(where: { $0.name == t.name }) else { continue }
            backend.download(t.masters.ref(), into: UnsafeMutableRawBufferPointer(h.weights.pointer))
            backend.download(t.m.ref(), into: UnsafeMutableRawBufferPointer(start: h.moments.expAvg, count: h.moments.count * 4))
            backend.download(t.v.ref(), into: UnsafeMutableRawBufferPointer(start: h.moments.expAvgSq, count: h.moments.count * 4))
        }
    }
}
