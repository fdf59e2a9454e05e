import Backends
import ModelFormats

/// The embedding, final norm and untied LM head of a sliding-window run: their compute weights
/// and fp32 gradients live on the device, their fp32 masters and AdamW moments in host RAM
/// (`HostTrainingState`), updated by the optimizer thread like a streamed layer.
///
/// Why not their whole AdamW state on the device: for a 128k vocabulary at C = 4096 they hold
/// 1.05 B parameters, 18.9 GB at 18 B/param, more than a 24 GiB card can spare next to the
/// window; compute weights and gradients take 6 B/param (6.3 GB). Why not streamed like a layer:
/// the embedding and LM head are used at the two ends of every pass, their bf16 weights would
/// cross PCIe twice per step, and the cross-entropy reads its weight once per token chunk.
///
/// Updates go in parts (`Part`) of at most one decoder layer's size, so their gradients land in
/// the engine's layer-sized landing buffers and the host AdamW of a part takes about as long as a
/// layer's. The masters are registered (pinned) host memory: the engine copies them to the
/// device, converted to the compute type, before the weights' next use.
///
/// Streamed (`ModelLevelPlacement.streamed`), the embedding and LM head have no device buffers:
/// their parts are chunks of whole vocabulary rows that `StreamedModelLevel` carries to and
/// from the device one at a time.
final class ModelLevelParameters {
    /// A part of a tensor that is updated as one unit.
    struct Part {
        /// Elements of the tensor's flat buffer.
        let range: Range<Int>
        /// The optimizer thread's unit.
        let unit: Int
    }

    final class Tensor {
        let name: String
        /// (count) storage type; f32 for the final norm. nil: streamed.
        let weights: (any DeviceBuffer)?
        /// (count) f32. nil: streamed.
        let gradients: (any DeviceBuffer)?
        /// Host-updated: the fp32 masters (host), pinned for as long as this lives.
        let registration: (any PinnedHostMemory)?
        /// GPU-updated: weights, gradients, masters and moments on the device.
        let device: ResidentParameters.Buffer?
        let segments: OptimizerSegments
        let parts: [Part]
        /// Updates applied to the weights now on the device (nil: nothing loaded yet).
        var deviceVersion: Int?

        init(name: String, weights: (any DeviceBuffer)?, gradients: (any DeviceBuffer)?, registration: (any PinnedHostMemory)?,
             device: ResidentParameters.Buffer?, segments: OptimizerSegments, parts: [Part], deviceVersion: Int?) {
            self.name = name
            self.weights = weights
            self.gradients = gradients
            self.registration = registration
            self.device = device
            self.segments = segments
            self.parts = parts
            self.deviceVersion = deviceVersion
        }

        /// Streamed in vocabulary chunks (no whole copy on the device).
        var streamed: Bool { weights == nil }

        /// The whole compute weights on the device (every tensor but a streamed one).
        var deviceWeights: any DeviceBuffer {
            guard let weights else { preconditionFailure("\(name) is streamed: it has no whole weights on the device") }
            return weights
        }

        /// The whole fp32 gradient on the device (every tensor but a streamed one).
        var deviceGradients: any DeviceBuffer {
            guard let gradients else { preconditionFailure("\(name) is streamed: it has no whole gradient on the device") }
            return gradients
        }
    }

    let embedding: Tensor
    let finalNorm: Tensor
    let lmHead: Tensor?
    /// The embedding, final norm and LM head (the host state's and the norm's order).
    var all: [Tensor] { [embedding, finalNorm] + (lmHead.map { [$0] } ?? []) }
    /// The optimizer thread's units for every part, in unit order (from `firstUnit`).
    let units: [LayerOptimizerWorker.Layer]

    /// Takes the GPU-updated buffers from `onDevice` (`ResidentParameters.modelLevel`) when it is
    /// not empty; else allocates the device buffers and registers the host masters (the weights
    /// are loaded before their first use). Parts hold at most `partElements` elements; their
    /// units are numbered from `firstUnit`. `streamedRows`: the embedding and LM head are
    /// streamed, in parts of that many vocabulary rows (no device buffers).
    init(layout: ModelLayout, host: HostTrainingState, storage: ElementType, onDevice: [ResidentParameters.Buffer],
         partElements: Int, streamedRows: Int? = nil, firstUnit: Int, backend: any QueuedTransfers) throws {
        var units: [LayerOptimizerWorker.Layer] = []
        func make(_ slot: TensorSlot, storage: ElementType, streamed: Bool = false) throws -> Tensor {
            if let b = onDevice.first(where: { $0.name == slot.name }) {
                return Tensor(name: slot.name, weights: b.weights, gradients: b.gradients, registration: nil, device: b,
                              segments: b.segments, parts: [], deviceVersion: nil)
            }
            guard let h = host.buffers.first(where: { $0.name == slot.name }) else { preconditionFailure("host state has no \(slot.name)") }
            let count = h.weights.count
            let masters = h.weights.pointer.baseAddress!
            var parts: [Part] = []
            var lo = 0
            let step = streamed ? (streamedRows ?? 1) * layout.config.hiddenSize : partElements
            while lo < count {
                let hi = min(count, lo + step)
                parts.append(Part(range: lo..<hi, unit: firstUnit + units.count))
                units.append(.init(masters: masters + lo, m: h.moments.expAvg + lo, v: h.moments.expAvgSq + lo,
                                   moments: h.moments,
                                   segments: OptimizerSegments([DecaySegment(0..<(hi - lo), decays: slot.decays)]),
                                   count: hi - lo))
                lo = hi
            }
            let registration = try backend.registerHostMemory(UnsafeMutableRawPointer(masters), bytes: count * 4)
            return Tensor(name: slot.name, weights: streamed ? nil : try backend.makeBuffer(storage, count: count),
                          gradients: streamed ? nil : try backend.makeBuffer(.f32, count: count),
                          registration: registration, device: nil,
                          segments: OptimizerSegments([slot]), parts: parts, deviceVersion: nil)
        }
        let streamed = streamedRows != nil
        embedding = try make(layout.embedding, storage: storage, streamed: streamed)
        finalNorm = try make(layout.finalNorm, storage: .f32)   // norm weights stay f32, as in `DecoderModel`
        lmHead = try layout.lmHead.map { try make($0, storage: storage, streamed: streamed) }
        self.units = units
    }
}
