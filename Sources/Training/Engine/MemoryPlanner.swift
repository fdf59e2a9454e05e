import CUDABackend
import ModelFormats
import Support

/// The memory a sliding-window training run will hold, computed from the model's shape alone
/// (no GPU needed), and the decisions that follow from the budgets: the window K (decoder
/// layers whose bf16 weights are on the GPU at once, 2 ≤ K ≤ L; all layers when they fit) and
/// the largest batch that fits.
///
/// What lives where (`SlidingWindowEngine`):
/// - GPU: K bf16 weight slots of one layer each; fp32 upload scratch of at most
///   `uploadPieceElements` (the masters cross PCIe in fp32 and are rounded to bf16 on the H2D
///   queue, piece by piece); 2 fp32 gradient slots, and one per deferred layer gradient; the
///   embedding, final norm and LM head's bf16 weights and fp32 gradients (6 bytes per
///   parameter; their masters and moments are on the host), or when streamed only the final
///   norm's and the LM head's chunk buffers (`streamedGPUItems`); one layer's activations and
///   backward scratch at N = B·T tokens (the MLP's (·, I) buffers at one chunk of tokens); the
///   residual stream and token buffers; with bf16 checkpoints two (N,C) bf16 staging buffers
///   they are rounded into / widened from; then what the backend takes from its pool or the
///   driver (`Item.engineBuffer` false): attention's backward scratch, one cross-entropy chunk,
///   the cuBLASLt workspace, the CUDA context, the pool's size-class rounding.
/// - Pinned host (page-locked, allocated as such): the gradient landing buffers (fp32, one
///   layer each: a ring of 2, or one per streamed layer plus 2 for the host-placed model-level
///   parts; streamed, with one per layer also one per chunk of the embedding and LM head and
///   one for the final norm instead of those 2, with the ring a ring of 2–8 chunk-sized ones
///   within 256 MiB, and two pieces of the embedding's gathered rows), every layer's input as
///   activation checkpoint ((N,C) of `CheckpointElementType`: f32 keeps the residual stream exactly, so
///   the recompute sees the forward's input; bf16 halves it; the last layer's stays on the
///   GPU), the backend's copy staging.
/// - Host: fp32 masters of every parameter (4 bytes each), m and v of the host-updated ones
///   (8 bytes each; the resident layers' and a GPU-placed embedding / LM head's moments are
///   on the GPU, and their host copies are given back to the system until a checkpoint is
///   saved: `checkpointSaveBytes` more while one is). The masters of streamed layers and of
///   the embedding / final norm / LM head are registered (page-locked where they are): the H2D
///   reads them, so no bf16 copy of the weights is kept on the host.
public struct SlidingWindowPlan: Sendable {
    public struct Item: Sendable, Equatable {
        public let name: String
        public let bytes: Int
        /// A buffer the engine allocates itself (`makeBuffer` / `makePinnedHostMemory`); false
        /// for the backend's scratch, workspace, context and rounding.
        public let engineBuffer: Bool
        /// GPU items: what the pool's size classes add to `bytes` (`buffers` lists them; 0 for
        /// memory outside the pool); nil for host items.
        public let poolWaste: Int?

        public init(name: String, bytes: Int, engineBuffer: Bool = true, poolWaste: Int? = nil) {
            self.name = name
            self.bytes = bytes
            self.engineBuffer = engineBuffer
            self.poolWaste = poolWaste
        }

        /// An item of `count` times the buffers `sizes` (bytes each), with their exact pool waste.
        static func buffers(_ name: String, count: Int = 1, _ sizes: [Int], engineBuffer: Bool = true) -> Item {
            Item(name: name, bytes: count * sizes.reduce(0, +), engineBuffer: engineBuffer,
                 poolWaste: count * sizes.reduce(0) { $0 + DeviceMemoryPool.sizeClass($1) - $1 })
        }

        /// The pool's rounding of this GPU item.
        var rounding: Int {
            guard let waste = poolWaste else { preconditionFailure("\(name): a GPU item without its pool rounding") }
            return waste
        }
    }

    public let config: ModelConfig
    public let batchSize: Int
    public let seqLen: Int
    /// Tokens per MLP chunk of the layer workspace: the requested chunk, or N = B·T when that
    /// is fewer (what the engine is built with).
    public let mlpChunkTokens: Int
    /// Decoder layers whose weights are on the GPU at once (0 when not even 2 fit).
    public let window: Int
    /// Decoder layers kept on the GPU with their optimizer state (the first ones).
    public let residentLayers: Int
    /// Where the embedding, final norm and LM head are (gpu, host or streamed; never auto).
    public let modelLevel: ModelLevelPlacement
    /// Vocabulary rows per chunk of the streamed embedding and LM head (their AdamW parts).
    public let vocabChunkRows: Int
    /// The element type of the activation checkpoints (the engine's `checkpointType`).
    public let checkpointType: CheckpointElementType
    /// Host buffers that the layers' gradients land in (a ring; every streamed layer when
    /// clipping, and then 2 more for the host-placed model-level parts): the engine's `landingBuffers`.
    public let gradientLandingBuffers: Int
    /// The element type the gradients leave the device in (the engine's `gradientType`).
    public let gradientType: GradientElementType
    /// The last decoder layers whose fp32 gradient stays on the GPU until the next step's
    /// forward (`SlidingWindowEngine.deferredLayers`): as many as asked, without clipping or
    /// accumulation and as GPU memory allows after a window of 4. None unless asked: measured
    /// on the H100 host it did not shorten the AdamW-bound 8B step, and under a GPU cap its
    /// smaller window costs more H2D than the overlap gains (bench/RESULTS.md).
    public let deferredGradients: Int
    /// Decoder layers whose attention output and lse stay on the GPU from their forward to their
    /// backward, whose recompute then skips the attention (the engine's `keptAttentionLayers`,
    /// the first ones): as many as GPU memory holds once the window has every streamed layer,
    /// none without a GPU budget.
    public let keptAttentionLayers: Int
    public let gpuItems: [Item]
    public let pinnedItems: [Item]
    public let pageableItems: [Item]
    /// Host memory a checkpoint save adds to `hostPeakBytes` while it runs: the moments of the
    /// GPU-updated parameters, brought back to the host to be written.
    public let checkpointSaveBytes: Int
    /// nil: not given (the GPU side is not checked, the window is every layer).
    public let gpuBudget: Int?
    public let hostBudget: Int?
    /// Why the plan does not fit (empty when it fits).
    public let problems: [String]
    /// The largest batch of `seqLen`-token rows that fits both budgets (nil: no budget given,
    /// or not even one row fits).
    public var maxBatchSize: Int?

    public var gpuPeakBytes: Int { gpuItems.reduce(0) { $0 + $1.bytes } }
    public var pinnedHostBytes: Int { pinnedItems.reduce(0) { $0 + $1.bytes } }
    public var pageableHostBytes: Int { pageableItems.reduce(0) { $0 + $1.bytes } }
    public var hostPeakBytes: Int { pinnedHostBytes + pageableHostBytes }
    public var fits: Bool { problems.isEmpty }
}

/// Computes `SlidingWindowPlan`s.
public enum MemoryPlanner {
    /// Elements per bf16 weight and fp32 gradient/optimizer value.
    static let bf16 = 2, f32 = 4
    /// cuBLASLt workspace (CUDABackend.workspaceBytes).
    static let blasWorkspaceBytes = 32 << 20
    /// Scratch the backend takes for one op and returns right after: the RMSNorm backward's
    /// per-row-slot dW partial sums (as many slots as run at once: ≤ 2048 threads per SM × SMs ×
    /// 16 columns per thread group, f32, ≈ 17 MB on 132 SMs at any hidden size) and the bias /
    /// column sums' partials, with room for GPUs of up to ~240 SMs.
    static let opScratchBytes = 32 << 20
    /// The CUDA context, loaded kernel modules and cuBLASLt handles: measured ~0.5 GiB on the
    /// H100 (bench/cuda.md); rounded up.
    static let contextBytes = 640 << 20
    /// What the process holds on the host besides its buffers (code, heap, the CUDA driver's
    /// own allocations): measured 0.43–0.45 GiB above the buffers' total on the H100 host
    /// (bench/RESULTS.md); rounded up.
    static let processHostBytes = 512 << 20
    /// The backend's two pinned upload/download staging buffers (CUDABackend.stagingBytes).
    static let backendStagingBytes = 2 * (16 << 20)
    /// Gradient landing buffers without clipping, at least: a ring of 2, where layer i's D2H
    /// waits (on the host) for the AdamW of layer i+2. A deeper ring (up to one per streamed
    /// layer, 4 B/param of a layer each, 2 B with bf16 gradients) lets the updates run on into
    /// the next forward: 1.5B at 8×1024 went from 1.46 to 1.03 × its bounds with one per layer
    /// (bench/RESULTS.md).
    static let landingRing = 2
    /// Landing buffers the streamed embedding's and LM head's vocabulary chunks (`chunkElements`
    /// f32 each) take turns on with a ring of layer landing buffers: up to 8 within 256 MiB, at
    /// least 2. The AdamW of a chunk (Vc·C at ~5 Gparam/s) keeps up with the LM head's backward
    /// of a chunk at large batches; at small ones the backward waits for it.
    static func streamedLandingRing(chunkElements: Int) -> Int {
        min(8, max(2, (256 << 20) / max(1, chunkElements * f32)))
    }
    /// Tokens per piece of the streamed embedding's rows, gathered on the host into one of two
    /// pinned buffers while the other's copy runs.
    static let gatherPieceTokens = 4096
    /// (buffers, tokens each) of the streamed embedding's gather for N tokens.
    static func gatherBuffers(tokens n: Int) -> (count: Int, tokens: Int) {
        let piece = min(n, gatherPieceTokens)
        return (min(2, (n + piece - 1) / piece), piece)
    }
    /// Without `landingBuffers`, the plan adds landing buffers to the ring while the host
    /// total stays within 12 B/param + activation checkpoints + this (and 90 % of the host
    /// budget, a checkpoint save's transient included): the host-memory envelope the project
    /// holds itself to, so that extra buffers only use memory the run frees elsewhere (the
    /// GPU-updated moments, smaller bf16 gradients).
    static let hostEnvelopeSlack = 2_000_000_000
    /// Logits per cross-entropy chunk on the GPU (the resident `DecoderModel` and the engine):
    /// 2^28 f32 = 1 GiB, 2093 tokens at a 128k vocabulary. Much smaller chunks make the LM
    /// head's GEMMs skinny and re-read the fp32 dW once per chunk: 130-token chunks cost the
    /// 8B shape 0.6 s per 32×1024 step on the H100 (bench/RESULTS.md).
    public static let chunkLogits = 1 << 28

    /// Tokens per `linearCrossEntropy` chunk at N tokens: at most `chunkLogits` logits at once.
    public static func crossEntropyChunkTokens(_ c: ModelConfig, tokens n: Int) -> Int {
        max(1, min(n, chunkLogits / c.vocabSize))
    }
    /// Tokens per MLP chunk of a decoder layer (`DecoderLayerWorkspace`): its four (·, I) bf16
    /// buffers take 4·I·2 B per token (115 KB for the 8B shape: 7.5 GiB at 64×1024 tokens,
    /// 1.75 GiB at 16384). Each chunk re-reads and re-writes the MLP's fp32 weight gradients
    /// once more: on the H100 the 8B shape at 64×1024 ran 9,891 tok/s with 4096-token chunks
    /// and 10,141 with 16384 (bench/RESULTS.md). The plan halves it down to
    /// `windowFirstMLPChunk` while the window is short of `windowBesideLargerMLPChunks`, and
    /// further (to `smallestMLPChunk`) while the plan does not fit.
    public static let mlpChunkTokens = 16384
    static let windowFirstMLPChunk = 4096
    /// The window that MLP chunks above `windowFirstMLPChunk` leave: one layer computing, one
    /// loaded, one loading. Slots beyond it save only some uploads per step, which the GPU
    /// does not wait for once it computes longer than a layer takes to load.
    static let windowBesideLargerMLPChunks = 3
    /// The smallest MLP chunk the planner falls back to when the GPU budget is tight (each
    /// halving saves half the chunk's 4·I·2 B per token; below ~1024 rows the GEMMs lose efficiency).
    static let smallestMLPChunk = 1024
    /// The least room for one vocabulary chunk of the streamed LM head: (N, Vc) f32 logits and
    /// bf16 dlogits within this, or within the layers' shared scratch where that is larger
    /// (`vocabChunkRows`).
    public static let streamedLogitsBytes = 256 << 20
    /// The most bytes of one vocabulary chunk's f32 gradient: two of them fill the pinned
    /// landing ring's 256 MiB (`streamedLandingRing`); the GPU holds two such gradient chunks
    /// and two bf16 weight chunks.
    static let streamedChunkBytes = 128 << 20
    /// Floats per piece of the fp32 upload scratch: the masters cross to the device and are
    /// rounded to bf16 64 MiB at a time (one 8B layer would take 832 MiB).
    public static let uploadPieceElements = 16 << 20

    /// The plan for `batchSize` rows of `seqLen` tokens; `clipping`: exact global-norm
    /// clipping keeps every layer's gradient on the host until the norm is known;
    /// `residentLayers`: the first layers stay on the GPU with their AdamW state;
    /// `modelLevel`: where the embedding, final norm and LM head are updated (`.auto`: the GPU
    /// when this batch fits with them there, else the host, else streamed for an untied head,
    /// each only where it leaves no shorter window than a later one that fits);
    /// `checkpointType`: the activation checkpoints' elements; `mlpChunkTokens` (≥ 1): tokens per
    /// MLP chunk; `deferredGradients`: the most deferred layer gradients (nil: none; memory may
    /// allow fewer); `landingBuffers`: without clipping, the landing ring's size (nil: 2);
    /// `gradientType`: the element type of the host-bound gradients.
    public static func plan(config: ModelConfig, batchSize: Int, seqLen: Int, gpuBudget: Int?, hostBudget: Int?,
                            clipping: Bool = false, residentLayers: Int = 0,
                            modelLevel: ModelLevelPlacement = .auto,
                            checkpointType: CheckpointElementType = .f32,
                            mlpChunkTokens: Int = MemoryPlanner.mlpChunkTokens,
                            deferredGradients: Int? = nil, landingBuffers: Int? = nil,
                            gradientType: GradientElementType = .f32) -> SlidingWindowPlan {
        var chunk = mlpChunkRows(tokens: batchSize * seqLen, requested: mlpChunkTokens)
        func fixed(_ b: Int, _ placement: ModelLevelPlacement) -> SlidingWindowPlan {
            fixedPlan(config: config, batchSize: b, seqLen: seqLen, gpuBudget: gpuBudget, hostBudget: hostBudget,
                      clipping: clipping, residentLayers: residentLayers, modelLevel: placement,
                      checkpointType: checkpointType, mlpChunkTokens: chunk, deferredGradients: deferredGradients,
                      landingBuffers: landingBuffers, gradientType: gradientType)
        }
        var placement = modelLevel
        if modelLevel == .auto {
            let candidates: [ModelLevelPlacement] = config.tieWordEmbeddings ? [.gpu, .host] : [.gpu, .host, .streamed]
            // A placement that keeps more on the GPU only where it costs no window slot against
            // the later ones that fit: a short window re-uploads layers at every step.
            let fitting = candidates.map { fixed(batchSize, $0) }.filter(\.fits)
            placement = fitting.indices.first { i in fitting[i...].allSatisfy { $0.window <= fitting[i].window } }
                .map { fitting[$0].modelLevel } ?? candidates[candidates.count - 1]
        }
        // Chunks above `windowFirstMLPChunk` only while the window keeps `windowBesideLargerMLPChunks`
        // slots (or every streamed layer): below that its uploads would wait on the compute.
        let streamed = config.numLayers - min(max(0, residentLayers), config.numLayers)
        let window = min(streamed, windowBesideLargerMLPChunks)
        while chunk / 2 >= windowFirstMLPChunk, fixed(batchSize, placement).window < window {
            chunk /= 2
        }
        // A tight GPU: the MLP in smaller token chunks (down to `smallestMLPChunk`) before giving up.
        while !fixed(batchSize, placement).fits, chunk / 2 >= smallestMLPChunk {
            chunk /= 2
        }
        func fits(_ b: Int) -> Bool { fixed(b, placement).fits }
        var p = fixed(batchSize, placement)
        guard gpuBudget != nil || hostBudget != nil, fits(1) else { return p }
        // Every item grows with the batch, so the batches that fit are 1...max: double, then bisect.
        var low = 1, high = 2
        while high <= 1 << 20, fits(high) { (low, high) = (high, high * 2) }
        while high - low > 1 {
            let mid = (low + high) / 2
            if fits(mid) { low = mid } else { high = mid }
        }
        p.maxBatchSize = low
        return p
    }

    /// The plan for exactly this batch (no search).
    static func fixedPlan(config c: ModelConfig, batchSize: Int, seqLen: Int, gpuBudget: Int?, hostBudget: Int?,
                          clipping: Bool, residentLayers: Int, modelLevel: ModelLevelPlacement,
                          checkpointType: CheckpointElementType, mlpChunkTokens: Int,
                          deferredGradients: Int?, landingBuffers: Int? = nil,
                          gradientType: GradientElementType = .f32) -> SlidingWindowPlan {
        precondition(modelLevel != .auto, "a fixed plan has a placement")
        let layout = ModelLayout(c)
        let L = c.numLayers, layer = layout.layer.count, n = batchSize * seqLen, C = c.hiddenSize
        let mlpChunk = mlpChunkRows(tokens: n, requested: mlpChunkTokens)
        let residentParameters = layout.embedding.count + layout.finalNorm.count + (layout.lmHead?.count ?? 0)
        let m = min(max(0, residentLayers), L), streamed = L - m
        let landing = max(1, clipping ? streamed : min(streamed, landingBuffers ?? landingRing))
        // The engine adds 2 for the host-placed (not streamed) model-level parts when every streamed layer has its own.
        let landingTotal = landing + (landing >= streamed && modelLevel == .host ? 2 : 0)
        let norms = NormWeightCopies.elementCount(layout.layer) * f32

        // bf16 checkpoints are rounded into (and widened from) 2 alternating device buffers.
        let checkpointStaging: [SlidingWindowPlan.Item] = checkpointType == .f32 ? [] : [
            .buffers("checkpoint staging (2 x \(checkpointType.rawValue) (B*T, C))", count: 2,
                     [n * C * checkpointType.byteSize]),
        ]
        let vocabChunk = vocabChunkRows(c, tokens: n, mlpChunkTokens: mlpChunk)
        // Per tensor: weights in the storage type (the final norm f32), then f32 buffers.
        let modelTensors = [(layout.embedding.count, bf16), (layout.finalNorm.count, f32)]
            + (layout.lmHead.map { [($0.count, bf16)] } ?? [])
        let modelLevelItems: [SlidingWindowPlan.Item] = switch modelLevel {
        case .gpu:
            // Weights, and f32 gradients, m, v and masters (the f32 norm's weights are its masters).
            [.buffers("embedding, final norm, LM head with AdamW state (18 B/param; the f32 norm 16)",
                      modelTensors.flatMap { count, size in
                          [count * size] + Array(repeating: count * f32, count: size == f32 ? 3 : 4)
                      })]
        case .host:
            [.buffers("embedding, final norm, LM head: bf16 weights (the norm f32) and fp32 gradients",
                      modelTensors.flatMap { count, size in [count * size, count * f32] })]
        case .streamed, .auto:
            streamedGPUItems(c, tokens: n, vocabChunkRows: vocabChunk)
        }
        var fixedGPU: [SlidingWindowPlan.Item] = [
            .buffers("upload scratch (fp32, converted to bf16 on the H2D queue in pieces)",
                     [min(layer, uploadPieceElements) * f32]),
            .buffers("gradient slots (2 x fp32 layer)", count: 2, [layer * f32]),
        ] + (gradientType == .f32 ? [] : [
            .buffers("download scratch (bf16, gradients rounded on the D2H queue in pieces)",
                     [min(layer, uploadPieceElements) * bf16]),
        ]) + modelLevelItems + [
            .buffers("resident layers with AdamW state (\(m) x (18 B/param + f32 norm weights))", count: m,
                     [layer * bf16] + Array(repeating: layer * f32, count: 4) + [norms]),
            .buffers("one layer's activations and backward scratch ("
                        + (mlpChunk < n ? "MLP in \(mlpChunk)-token chunks" : "MLP in one chunk")
                        + (modelLevel == .streamed ? "; the LM head's logits between the layers)" : ")"),
                     layerWorkspaceBuffers(c, tokens: n, mlpChunkTokens: mlpChunk,
                                           sharedScratchBytes: modelLevel == .streamed
                                               ? StreamedModelLevel.logitsBytes(tokens: n, chunkRows: vocabChunk, storage: .bf16)
                                               : 0)),
            .buffers("residual stream, final norm" + (modelLevel == .streamed ? " (f32 output gradient)" : "")
                        + ", token buffers, rope, loss and norm sums",
                     streamBuffers(c, tokens: n, finalGradientSize: modelLevel == .streamed ? f32 : bf16)
                        + smallBuffers(layout)),
        ] + checkpointStaging + [
            .buffers("attention backward scratch (f32 (B,H,T))", [n * c.numHeads * f32], engineBuffer: false),
            .init(name: "norm and bias backward partial sums (estimate)", bytes: opScratchBytes, engineBuffer: false,
                  poolWaste: 0),
        ] + (modelLevel == .streamed ? [] : [
            .buffers("cross-entropy chunk (f32 logits, bf16 dlogits)", crossEntropyBuffers(c, tokens: n),
                     engineBuffer: false),
        ]) + [
            .buffers("cuBLASLt workspace", [blasWorkspaceBytes], engineBuffer: false),
            .init(name: "CUDA context and kernels (estimate)", bytes: contextBytes, engineBuffer: false, poolWaste: 0),
        ]
        // The pool rounds each block up to its size class (`DeviceMemoryPool.sizeClass`).
        let slot = SlidingWindowPlan.Item.buffers("weight slot", weightSlotBuffers(layout))
        let slotPooled = slot.bytes + slot.rounding
        let rounding = fixedGPU.reduce(0) { $0 + $1.rounding }
        let fixedTotal = fixedGPU.reduce(0) { $0 + $1.bytes } + rounding

        // Deferred gradients (their AdamW then overlaps the next forward) take GPU memory before
        // the window grows past 4.
        let deferredTarget = clipping ? 0 : min(streamed, max(0, deferredGradients ?? 0))
        let deferredSlot = SlidingWindowPlan.Item.buffers("deferred gradient", [layer * f32])
        let deferredBytes = deferredSlot.bytes + deferredSlot.rounding
        var deferred = deferredTarget
        var problems: [String] = []
        if let asked = landingBuffers, asked < 1 {
            problems.append("--landing-buffers must be at least 1 (got \(asked))")
        }
        if modelLevel == .streamed && layout.lmHead == nil {
            problems.append("the streamed placement needs an untied LM head (a tied head is the embedding)")
        }
        var window = streamed
        if let gpu = gpuBudget {
            let spare = gpu - fixedTotal
            deferred = min(deferredTarget, max(0, (spare - min(streamed, 4) * slotPooled) / deferredBytes))
            window = min(streamed, max(0, (spare - deferred * deferredBytes) / slotPooled))
            if window < min(2, streamed) {
                window = 0
                problems.append("GPU: \(Format.bytes(fixedTotal + min(2, streamed) * slotPooled)) needed with a window of "
                                + "\(min(2, streamed)) layers, \(Format.bytes(gpu)) available")
            } else if streamed == 0 && fixedTotal > gpu {
                // Every layer resident: no window to shrink.
                problems.append("GPU: \(Format.bytes(fixedTotal)) needed with every layer resident, \(Format.bytes(gpu)) available")
            }
        }
        // Attention outputs kept from the forward, with what is left once every streamed layer
        // has a slot.
        let keptSlot = SlidingWindowPlan.Item.buffers("kept attention", keptAttentionBuffers(c, tokens: n))
        var kept = 0
        if let gpu = gpuBudget, window == streamed, problems.isEmpty {
            let left = gpu - fixedTotal - deferred * deferredBytes - window * slotPooled
            kept = min(L, max(0, left / (keptSlot.bytes + keptSlot.rounding)))
        }
        fixedGPU.insert(.buffers("deferred gradients of the last layers (\(deferred) x fp32 layer)", count: deferred,
                                 [layer * f32]), at: 2)
        fixedGPU.append(.buffers("attention outputs kept for the backward (\(kept) x (bf16 (B*T, H*D) + f32 (B,H,T)))",
                                 count: kept, keptAttentionBuffers(c, tokens: n)))
        fixedGPU.append(.init(name: "memory pool size-class rounding",
                              bytes: rounding + deferred * deferredSlot.rounding + window * slot.rounding
                                  + kept * keptSlot.rounding,
                              engineBuffer: false, poolWaste: 0))
        let gpuItems = [SlidingWindowPlan.Item.buffers("decoder-layer weight slots (\(window) x (bf16 layer + f32 norm weights))",
                                                       count: window, weightSlotBuffers(layout))] + fixedGPU
        let pinned: [SlidingWindowPlan.Item] = [
            .init(name: "gradient landing buffers (\(landingTotal) x \(gradientType.rawValue) layer)",
                  bytes: landingTotal * layer * gradientType.byteSize),
        ] + (modelLevel == .streamed ? streamedPinnedItems(c, tokens: n, vocabChunkRows: vocabChunk,
                                                           ring: landing < streamed) : []) + [
            .init(name: "activation checkpoints (\(L - 1) x \(checkpointType.rawValue) (B*T, C))",
                  bytes: (L - 1) * n * C * checkpointType.byteSize),
            .init(name: "backend copy staging", bytes: backendStagingBytes, engineBuffer: false),
        ]
        let parameters = L * layer + residentParameters
        let deviceUpdated = m * layer + (modelLevel == .gpu ? residentParameters : 0)
        let pageable: [SlidingWindowPlan.Item] = [
            .init(name: "fp32 masters (streamed ones registered) (4 B/param)", bytes: parameters * f32, engineBuffer: false),
            .init(name: "AdamW m and v of the host-updated parameters (8 B/param)",
                  bytes: (parameters - deviceUpdated) * 2 * f32, engineBuffer: false),
            .init(name: "the process itself and the CUDA driver's host memory", bytes: processHostBytes, engineBuffer: false),
        ]
        let host = (pinned + pageable).reduce(0) { $0 + $1.bytes }
        let saving = deviceUpdated * 2 * f32
        if let budget = hostBudget, host + saving > budget {
            problems.append("host: \(Format.bytes(host + saving)) needed"
                            + (saving > 0 ? " while a checkpoint is saved" : "") + ", \(Format.bytes(budget)) available")
        }
        if landingBuffers == nil, !clipping, (deferredGradients ?? 0) == 0, streamed > landingRing {
            // More landing buffers, from the host memory left within the default envelope.
            let envelope = parameters * 12 + (L - 1) * n * C * checkpointType.byteSize + hostEnvelopeSlack
            let limit = min(envelope, hostBudget.map { $0 * 9 / 10 - saving } ?? envelope)
            let perBuffer = layer * gradientType.byteSize
            var k = min(streamed, landingRing + max(0, limit - host) / perBuffer)
            while k > landingRing {
                let p = fixedPlan(config: c, batchSize: batchSize, seqLen: seqLen, gpuBudget: gpuBudget,
                                  hostBudget: hostBudget, clipping: false, residentLayers: m, modelLevel: modelLevel,
                                  checkpointType: checkpointType, mlpChunkTokens: mlpChunkTokens,
                                  deferredGradients: deferredGradients, landingBuffers: k, gradientType: gradientType)
                if p.hostPeakBytes <= limit { return p }
                k -= 1
            }
        }
        return SlidingWindowPlan(config: c, batchSize: batchSize, seqLen: seqLen, mlpChunkTokens: mlpChunk,
                                 window: window, residentLayers: m,
                                 modelLevel: modelLevel, vocabChunkRows: vocabChunk, checkpointType: checkpointType,
                                 gradientLandingBuffers: landing, gradientType: gradientType, deferredGradients: deferred,
                                 keptAttentionLayers: kept,
                                 gpuItems: gpuItems, pinnedItems: pinned,
                                 pageableItems: pageable, checkpointSaveBytes: saving,
                                 gpuBudget: gpuBudget, hostBudget: hostBudget,
                                 problems: problems, maxBatchSize: nil)
    }

    /// Vocabulary rows per chunk of the streamed embedding and LM head: (N, Vc) f32 logits and
    /// bf16 dlogits within the decoder layers' shared scratch at `mlpChunkTokens` (where they
    /// live), or `streamedLogitsBytes` where that is more; a chunk's f32 gradient at most
    /// `streamedChunkBytes` and a decoder layer's size (an AdamW unit lands in a layer-sized
    /// time); a multiple of 64 rows below the whole vocabulary (GEMM tiles).
    public static func vocabChunkRows(_ c: ModelConfig, tokens n: Int, mlpChunkTokens: Int) -> Int {
        let shared = DecoderLayerWorkspace.sharedScratchElements(
            c, tokens: n, mlpChunkTokens: mlpChunkRows(tokens: n, requested: mlpChunkTokens)) * bf16
        // `StreamedModelLevel.logitsBytes` aligns the dlogits: 256 bytes more.
        let byLogits = (max(streamedLogitsBytes, shared) - 256) / max(1, n * (f32 + bf16))
        let byPart = min(ModelLayout(c).layer.count, streamedChunkBytes / f32) / c.hiddenSize
        let rows = min(c.vocabSize, byLogits, byPart)
        return rows < c.vocabSize ? max(64, rows / 64 * 64) : rows
    }

    /// The streamed placement's GPU buffers (`StreamedModelLevel` and the f32 final norm; the
    /// final norm's f32 output gradient is in `streamBuffers`).
    static func streamedGPUItems(_ c: ModelConfig, tokens n: Int, vocabChunkRows vc: Int) -> [SlidingWindowPlan.Item] {
        let C = c.hiddenSize
        return [
            .buffers("final norm: f32 weights and gradients", count: 2, [C * f32]),
            .buffers("LM head weight chunks (2 x bf16 (\(vc), C))", count: 2, [vc * C * bf16]),
            .buffers("embedding / LM head gradient chunks (2 x fp32 (\(vc), C))", count: 2, [vc * C * f32]),
            .buffers("LM head row max, sum of exponentials, target logit (3 x f32 (B*T))", count: 3, [n * f32]),
            .buffers("embedding gradient: the tokens grouped by row (i32 (3*B*T + 1))", [(3 * n + 1) * 4]),
        ]
    }

    /// The streamed placement's pinned host buffers: the gradient landing of the embedding and
    /// LM head and the embedding's gathered rows (`gatherBuffers`). `ring`: the layers' landing
    /// buffers are a ring (one micro-batch, no clipping), and the chunks take turns on
    /// `streamedLandingRing` chunk-sized buffers; else a landing buffer per chunk and one for the
    /// final norm (their gradients wait there for the norm and the other micro-batches).
    static func streamedPinnedItems(_ c: ModelConfig, tokens n: Int, vocabChunkRows: Int,
                                    ring: Bool) -> [SlidingWindowPlan.Item] {
        let layout = ModelLayout(c)
        let chunkElements = min(c.vocabSize, vocabChunkRows) * c.hiddenSize
        let streamedRing = streamedLandingRing(chunkElements: chunkElements)
        let gather = gatherBuffers(tokens: n)
        return [
            ring ? .init(name: "embedding and LM head gradient landing (fp32, a ring of \(streamedRing) vocabulary chunks)",
                         bytes: streamedRing * chunkElements * f32)
                : .init(name: "embedding, final norm and LM head gradient landing (fp32, one buffer per chunk)",
                        bytes: (layout.embedding.count + layout.finalNorm.count + (layout.lmHead?.count ?? 0)) * f32),
            .init(name: "embedding rows gathered on the host (fp32, \(gather.count) x \(gather.tokens) tokens)",
                  bytes: gather.count * gather.tokens * c.hiddenSize * f32),
        ]
    }

    /// One weight slot's buffers (bytes): a bf16 layer and its norm weights in f32 (`NormWeightCopies`).
    static func weightSlotBuffers(_ layout: ModelLayout) -> [Int] {
        [layout.layer.count * bf16, NormWeightCopies.elementCount(layout.layer) * f32]
    }

    static func weightSlotBytes(_ layout: ModelLayout) -> Int { weightSlotBuffers(layout).reduce(0, +) }

    /// One layer's kept attention (`KeptAttention`): output (N, H·D) bf16 and lse (B,H,T) f32.
    static func keptAttentionBuffers(_ c: ModelConfig, tokens n: Int) -> [Int] {
        [n * c.qDim * bf16, n * c.numHeads * f32]
    }

    /// GPU bytes of resident training (`DecoderModel` + `DeviceTrainingState`, bf16 compute):
    /// 18 B/param (bf16 weights, fp32 gradients, masters, m, v), every layer's f32 input kept
    /// for the backward, one layer's workspace (MLP in chunks of `mlpChunkTokens`), the
    /// residual stream, a cross-entropy chunk, cuBLASLt, the context and the pool's rounding.
    public static func residentTrainingBytes(config c: ModelConfig, batchSize: Int, seqLen: Int,
                                             mlpChunkTokens: Int = MemoryPlanner.mlpChunkTokens) -> Int {
        let n = batchSize * seqLen
        let chunk = crossEntropyChunkTokens(c, tokens: n)
        let workspace = layerWorkspaceBuffers(c, tokens: n, mlpChunkTokens: mlpChunkRows(tokens: n, requested: mlpChunkTokens))
        let activations = workspace.reduce(0, +) + n * c.numHeads * f32 + streamBuffers(c, tokens: n).reduce(0, +)
        let pooled = ModelLayout(c).parameterCount * 18 + (c.numLayers + 1) * n * c.hiddenSize * f32
            + activations + chunk * c.vocabSize * (f32 + bf16)
            + blasWorkspaceBytes
        return pooled + pooled / 8 + contextBytes
    }

    /// Rows of the MLP's buffers (`DecoderLayerWorkspace.mlpChunkTokens`): the requested
    /// chunk, at most N.
    static func mlpChunkRows(tokens n: Int, requested: Int) -> Int { max(1, min(n, requested)) }

    /// `DecoderLayerWorkspace`'s buffers (bytes each) at N tokens, the MLP's at `mlpChunkTokens`
    /// (≤ N) rows, with bf16 storage: GEMM operands bf16; rstd, lse and the attention residual f32.
    static func layerWorkspaceBuffers(_ c: ModelConfig, tokens n: Int, mlpChunkTokens m: Int,
                                      sharedScratchBytes: Int = 0) -> [Int] {
        let C = c.hiddenSize, q = c.qDim, kv = c.kvDim
        // normedInput, normedPost, dNormed, dOutput (C); q, attention (q); k, v (kv); Qwen3
        // pre-norm q/k; the shared scratch (the MLP chunk's (M,I) buffers, then the attention
        // block's gradients).
        var bf16Elements: [Int] = [n * C, n * C, n * C, n * C, n * q, n * q, n * kv, n * kv]
        if c.qkNorm { bf16Elements += [n * q, n * kv] }
        bf16Elements.append(DecoderLayerWorkspace.sharedScratchElements(c, tokens: n, mlpChunkTokens: m,
                                                                        leastBytes: sharedScratchBytes))
        // rstdInput, rstdPost, residual (N,C), lse (N·H), Qwen3 rstdQ/rstdK.
        var f32Elements: [Int] = [n, n, n * C, n * c.numHeads]
        if c.qkNorm { f32Elements += [n * c.numHeads, n * c.numKVHeads] }
        return bf16Elements.map { $0 * bf16 } + f32Elements.map { $0 * f32 }
    }

    /// Two (N,C) f32 hidden buffers (layer input/output in the forward; checkpoint prefetch in
    /// the backward), the (N,C) f32 residual gradient, the final norm's output (bf16) and its
    /// gradient (`finalGradientSize` bytes per element: bf16, or f32 where the streamed LM head's
    /// chunks add up in it), rstd, ids, targets, positions (i32), in bytes each.
    static func streamBuffers(_ c: ModelConfig, tokens n: Int, finalGradientSize: Int = bf16) -> [Int] {
        let C = c.hiddenSize
        let hidden: [Int] = [n * C * f32, n * C * f32, n * C * f32]
        let finalNorm: [Int] = [n * C * bf16, n * C * finalGradientSize, n * f32]
        return hidden + finalNorm + [n * 4, n * 4, n * 4]
    }

    /// The rope inverse frequencies (D/2), one loss sum per micro-batch (1 here) and one Σ g²
    /// slot per tensor (f32), in bytes each.
    static func smallBuffers(_ layout: ModelLayout) -> [Int] {
        let c = layout.config
        let tensors = c.numLayers * OptimizerSegments(layout.layer.tensors).segments.count
            + [layout.embedding, layout.finalNorm].count + (layout.lmHead == nil ? 0 : 1)
        return [c.headDim / 2 * f32, f32, tensors * f32]
    }

    /// One chunk of `linearCrossEntropy`: f32 logits, bf16 dlogits, f32 row losses (bytes each).
    static func crossEntropyBuffers(_ c: ModelConfig, tokens n: Int) -> [Int] {
        let chunk = crossEntropyChunkTokens(c, tokens: n)
        return [chunk * c.vocabSize * f32, chunk * c.vocabSize * bf16, chunk * f32]
    }
}
