import Backends
import CKernels
import ModelFormats
import Support

/// A whole decoder-only model on one backend: embedding, decoder layers, final RMSNorm and
/// LM head (tied to the embedding or not), forward and backward with explicit ops.
///
/// Memory: weights and gradients are ONE flat buffer per layer (`LayerLayout`) plus the
/// embedding, final norm and untied head; the forward keeps only each layer's input
/// (`ActivationCheckpoints`) and the backward recomputes a layer's activations from it;
/// every workspace is sized once for `maxBatch × maxSeqLen` tokens and reused.
///
/// Loss: token cross-entropy with HF labels (aligned with the ids, -100 ignored; position t
/// predicts labels[t+1], the last position of each row predicts nothing), computed chunk
/// by chunk by the backend's fused `linearCrossEntropy`, never materializing (N,V) logits.
///
/// Precision: `storage` is the element type of the weights and of the activations that GEMMs
/// read or write (f32 on the CPU; bf16 on the GPU, like PyTorch autocast with bf16). RMSNorm
/// weights (`NormWeightCopies`, the final norm), weight gradients, the residual stream
/// (activation checkpoints and its gradient), norms' rstd and attention's lse are f32 whatever
/// the storage, as under autocast; math is fp32.
public final class DecoderModel {
    public let layout: ModelLayout
    public let backend: any Backend
    public let storage: ElementType
    public let maxBatch: Int
    public let maxSeqLen: Int

    private var config: ModelConfig { layout.config }
    private let layer: DecoderLayer
    private let layerWeights: [any DeviceBuffer]
    private let layerGradients: [any DeviceBuffer]
    private let layerWeightTensors: [DecoderLayerTensors]
    /// The layers' norm weights in f32 when the storage is not f32 (empty otherwise).
    private let layerNorms: [NormWeightCopies]
    private let layerGradientTensors: [DecoderLayerTensors]
    private let embedding: any DeviceBuffer           // (V,C)
    private let embeddingGradient: any DeviceBuffer
    private let finalNorm: any DeviceBuffer           // (C) f32
    private let finalNormGradient: any DeviceBuffer
    private let lmHead: (any DeviceBuffer)?           // (V,C), nil when tied
    private let lmHeadGradient: (any DeviceBuffer)?
    private let checkpoints: ActivationCheckpoints

    // Per-pass token buffers, maxTokens elements each unless noted.
    private let ids: any DeviceBuffer                 // (N) i32
    private let targets: any DeviceBuffer             // (N) i32, labels shifted left by one
    private let positions: any DeviceBuffer           // (N) i32, 0..<T per row
    private let normedFinal: any DeviceBuffer         // (N,C) final norm output
    private let rstdFinal: any DeviceBuffer           // (N)
    private let dNormedFinal: any DeviceBuffer        // (N,C)
    private let dResidual: any DeviceBuffer           // (N,C) gradient flowing down the residual stream
    private let lossSum: any DeviceBuffer             // (1)
    private let logits: any DeviceBuffer              // (V) one row, for sampling
    /// Tokens per `linearCrossEntropy` chunk (`MemoryPlanner.crossEntropyChunkTokens`).
    private let chunkTokens: Int

    // Host staging, reused across passes.
    private var hostTargets: [Int32]
    private var hostPositions: [Int32]
    private var lossSumHost: [Float] = [0]
    /// Row length the positions buffer currently holds (it is rewritten when T changes).
    private var positionsSeqLen = 0

    private var maxTokens: Int { maxBatch * maxSeqLen }

    public init(layout: ModelLayout, backend: any Backend, maxBatch: Int, maxSeqLen: Int,
                storage: ElementType = .f32,
                mlpChunkTokens: Int = MemoryPlanner.mlpChunkTokens) throws {
        precondition(storage != .i32, "model storage is f32 or bf16")
        let c = layout.config
        guard maxBatch >= 1, maxSeqLen >= 1, mlpChunkTokens >= 1 else {
            throw UsageError("maxBatch, maxSeqLen and mlpChunkTokens must be positive "
                             + "(got \(maxBatch), \(maxSeqLen), \(mlpChunkTokens))")
        }
        if let window = c.slidingWindow, maxSeqLen > window {
            // Attention is full causal, equal to the windowed one only up to the window.
            throw UsageError("sequences of \(maxSeqLen) tokens exceed the model's sliding window of \(window)")
        }
        guard backend.supportsAttention(headDim: c.headDim) else {
            throw UsageError("\(backend.name) cannot run attention with head dim \(c.headDim)")
        }
        self.layout = layout
        self.backend = backend
        self.maxBatch = maxBatch
        self.maxSeqLen = maxSeqLen
        self.storage = storage
        let n = maxBatch * maxSeqLen, C = c.hiddenSize, V = c.vocabSize

        func floats(_ count: Int) throws -> any DeviceBuffer { try backend.makeBuffer(.f32, count: count) }
        func stored(_ count: Int) throws -> any DeviceBuffer { try backend.makeBuffer(storage, count: count) }
        layerWeights = try (0..<c.numLayers).map { _ in try stored(layout.layer.count) }
        layerGradients = try (0..<c.numLayers).map { _ in try floats(layout.layer.count) }
        let norms = try storage == .f32 ? [] : (0..<c.numLayers).map { _ in try NormWeightCopies(layout: layout.layer, backend: backend) }
        layerNorms = norms
        layerWeightTensors = zip(layerWeights.indices, layerWeights).map { i, weights in
            DecoderLayerTensors(layout: layout.layer, buffer: weights, norms: norms.isEmpty ? nil : norms[i])
        }
        layerGradientTensors = layerGradients.map { DecoderLayerTensors(layout: layout.layer, buffer: $0) }
        embedding = try stored(layout.embedding.count)
        embeddingGradient = try floats(layout.embedding.count)
        finalNorm = try floats(layout.finalNorm.count)
        finalNormGradient = try floats(layout.finalNorm.count)
        lmHead = try layout.lmHead.map { try stored($0.count) }
        lmHeadGradient = try layout.lmHead.map { try floats($0.count) }
        checkpoints = try ActivationCheckpoints(layers: c.numLayers, maxTokens: n, channels: C, backend: backend)

        ids = try backend.makeBuffer(.i32, count: n)
        targets = try backend.makeBuffer(.i32, count: n)
        positions = try backend.makeBuffer(.i32, count: n)
        normedFinal = try stored(n * C)
        rstdFinal = try floats(n)
        dNormedFinal = try stored(n * C)
        dResidual = try floats(n * C)
        lossSum = try floats(1)
        logits = try floats(V)
        chunkTokens = MemoryPlanner.crossEntropyChunkTokens(c, tokens: n)
        hostTargets = [Int32](repeating: ignoredTarget, count: n)
        hostPositions = [Int32](repeating: 0, count: n)

        let invFreq = try backend.makeBuffer(RopeFrequencies.inverseFrequencies(
            headDim: c.headDim, theta: c.ropeTheta, scaling: RopeFrequencyScaling(c.ropeScaling)))
        layer = DecoderLayer(config: c, backend: backend,
                             workspace: try DecoderLayerWorkspace(config: c, maxTokens: n, mlpChunkTokens: mlpChunkTokens,
                                                                  storage: storage, backend: backend),
                             invFreq: invFreq.ref())
        zeroGradients()
    }

    // MARK: Parameters and gradients

    /// Every flat parameter buffer with its gradient, in `HostTrainingState`'s order: the
    /// decoder layers, the embedding, the final norm, the untied LM head.
    public var trainableBuffers: [TrainableBuffer] {
        let l = layout
        var buffers = (0..<config.numLayers).map {
            TrainableBuffer(name: "model.layers.\($0)", weights: layerWeights[$0], gradients: layerGradients[$0],
                            segments: OptimizerSegments(l.layer.tensors), f32Copies: layerNorms.isEmpty ? [] : layerNorms[$0].f32Copies)
        }
        buffers.append(TrainableBuffer(name: l.embedding.name, weights: embedding, gradients: embeddingGradient,
                                       segments: OptimizerSegments([l.embedding])))
        buffers.append(TrainableBuffer(name: l.finalNorm.name, weights: finalNorm, gradients: finalNormGradient,
                                       segments: OptimizerSegments([l.finalNorm])))
        if let head = l.lmHead, let lmHead, let lmHeadGradient {
            buffers.append(TrainableBuffer(name: head.name, weights: lmHead, gradients: lmHeadGradient,
                                           segments: OptimizerSegments([head])))
        }
        return buffers
    }

    /// Copies every parameter from host memory (its layout must be this model's), rounded to
    /// the storage type (norm weights stay f32).
    public func loadParameters(_ p: HostParameters) {
        precondition(p.layout == layout, "parameters of another model layout")
        for (buffer, host) in zip(layerWeights, p.layers) { upload(host, to: buffer) }
        for (norms, host) in zip(layerNorms, p.layers) { norms.upload(from: host, backend: backend) }
        upload(p.embedding, to: embedding)
        upload(p.finalNorm, to: finalNorm)
        if let lmHead, let host = p.lmHead { upload(host, to: lmHead) }
    }

    /// Copies every accumulated gradient into host memory (its layout must be this model's).
    /// A tied model's embedding gradient includes the LM head's contribution.
    public func readGradients(into g: HostParameters) {
        precondition(g.layout == layout, "gradients of another model layout")
        for (buffer, host) in zip(layerGradients, g.layers) { download(buffer, into: host) }
        download(embeddingGradient, into: g.embedding)
        download(finalNormGradient, into: g.finalNorm)
        if let lmHeadGradient, let host = g.lmHead { download(lmHeadGradient, into: host) }
    }

    /// Sets every gradient to zero (at the start of an optimizer step).
    public func zeroGradients() {
        for b in layerGradients + [embeddingGradient, finalNormGradient] + (lmHeadGradient.map { [$0] } ?? []) {
            backend.fill(b.ref(), count: b.count, value: 0)
        }
    }

    // MARK: Passes

    /// Forward and backward of one micro-batch (`batch` rows of `seqLen` tokens, row-major).
    /// Gradients of the loss Σ CE · `lossScale` are ACCUMULATED into the gradient buffers;
    /// pass `lossScale` = 1 / (target tokens of the whole optimizer step) for the token-mean
    /// loss over accumulated micro-batches. Returns the unscaled Σ of target-token CE.
    public func forwardBackward(inputIds: [Int32], labels: [Int32], batch: Int, seqLen: Int,
                                lossScale: Float) throws -> Double {
        let grid = try prepare(inputIds: inputIds, labels: labels, batch: batch, seqLen: seqLen)
        forwardHidden(grid)
        lossAndHeadBackward(grid, scale: lossScale)
        let C = config.hiddenSize, n = grid.tokens, last = checkpoints.slot(config.numLayers)
        backend.rmsNormBackward(dInp: dResidual.ref(), dWeight: finalNormGradient.ref(), dOut: dNormedFinal.ref(),
                                inp: last, weight: finalNorm.ref(), rstd: rstdFinal.ref(), rows: n, cols: C,
                                accumulate: false)
        for i in stride(from: config.numLayers - 1, through: 0, by: -1) {
            layer.backward(input: checkpoints.slot(i), dResidual: dResidual.ref(), weights: layerWeightTensors[i],
                           gradients: layerGradientTensors[i], grid: grid)
        }
        backend.dropPaddingLookups(dResidual.ref(), inputIds: inputIds, tokens: n, channels: C, padId: config.padTokenId)
        backend.embeddingBackward(dTable: embeddingGradient.ref(), dOut: dResidual.ref(), ids: ids.ref(),
                                  tokens: n, channels: C, vocab: config.vocabSize)
        // Read after the backward is queued, so the device never waits for the host mid-pass.
        return downloadedLossSum()
    }

    /// The loss of one batch, forward only: Σ target-token CE and the number of target tokens.
    /// (The fused cross-entropy op always produces a head gradient; it runs with scale 0, so it
    /// adds exact zeros to the accumulated LM-head gradient.)
    public func loss(inputIds: [Int32], labels: [Int32], batch: Int, seqLen: Int) throws -> (lossSum: Double, targets: Int) {
        let grid = try prepare(inputIds: inputIds, labels: labels, batch: batch, seqLen: seqLen)
        forwardHidden(grid)
        lossAndHeadBackward(grid, scale: 0)
        return (downloadedLossSum(), hostTargets[0..<grid.tokens].reduce(0) { $0 + ($1 == ignoredTarget ? 0 : 1) })
    }

    /// The (V) logits at the last position of one row of `seqLen` tokens, for sampling.
    public func lastLogits(inputIds: [Int32], seqLen: Int) throws -> [Float] {
        let grid = try prepare(inputIds: inputIds, labels: nil, batch: 1, seqLen: seqLen)
        forwardHidden(grid)
        return rowLogits(token: seqLen - 1)
    }

    /// The (N,V) logits of every position, one row at a time (for parity tests).
    func allLogits(inputIds: [Int32], batch: Int, seqLen: Int) throws -> [Float] {
        let grid = try prepare(inputIds: inputIds, labels: nil, batch: batch, seqLen: seqLen)
        forwardHidden(grid)
        return (0..<grid.tokens).flatMap { rowLogits(token: $0) }
    }

    // MARK: Steps of a pass

    /// Validates the batch, uploads ids, shifted targets (when labels are given) and positions.
    private func prepare(inputIds: [Int32], labels: [Int32]?, batch: Int, seqLen: Int) throws -> TokenGrid {
        try TokenBatchValidation.checkShape(batch: batch, seqLen: seqLen, maxBatch: maxBatch, maxSeqLen: maxSeqLen)
        let n = batch * seqLen, V = config.vocabSize
        try TokenBatchValidation.checkIds(inputIds, expected: n, seqLen: seqLen, vocab: V)
        if let labels {
            try TokenBatchValidation.checkLabels(labels, expected: n, seqLen: seqLen, vocab: V)
            // targets[t] = labels[t+1] within a row; the last position predicts nothing.
            for r in 0..<batch {
                for t in 0..<seqLen {
                    hostTargets[r * seqLen + t] = t + 1 < seqLen ? labels[r * seqLen + t + 1] : ignoredTarget
                }
            }
            hostTargets.withUnsafeBytes { backend.upload(UnsafeRawBufferPointer(rebasing: $0[0..<(n * 4)]), to: targets.ref()) }
        }
        inputIds.withUnsafeBytes { backend.upload($0, to: ids.ref()) }
        if positionsSeqLen != seqLen {
            for i in 0..<maxTokens { hostPositions[i] = Int32(i % seqLen) }
            backend.upload(hostPositions, to: positions.ref())
            positionsSeqLen = seqLen
        }
        return TokenGrid(batch: batch, seqLen: seqLen, positions: positions.ref())
    }

    /// Embedding and every layer: checkpoint slot L ends up holding the final hidden state.
    private func forwardHidden(_ grid: TokenGrid) {
        backend.embeddingForward(out: checkpoints.slot(0), ids: ids.ref(), table: embedding.ref(),
                                 tokens: grid.tokens, channels: config.hiddenSize, vocab: config.vocabSize)
        for i in 0..<config.numLayers {
            layer.forward(input: checkpoints.slot(i), output: checkpoints.slot(i + 1),
                          weights: layerWeightTensors[i], grid: grid)
        }
    }

    /// Final norm, LM head and cross-entropy over the uploaded targets: leaves Σ CE in
    /// `lossSum`, ∂(scale·Σ CE)/∂(normed hidden) in `dNormedFinal` and accumulates the head's
    /// gradient.
    private func lossAndHeadBackward(_ grid: TokenGrid, scale: Float) {
        let C = config.hiddenSize, n = grid.tokens
        backend.rmsNormForward(out: normedFinal.ref(), rstd: rstdFinal.ref(), inp: checkpoints.slot(config.numLayers),
                               weight: finalNorm.ref(), rows: n, cols: C, eps: Float(config.rmsNormEps))
        backend.fill(lossSum.ref(), count: 1, value: 0)
        backend.linearCrossEntropy(lossSum: lossSum.ref(), dHidden: dNormedFinal.ref(),
                                   dWeight: (lmHeadGradient ?? embeddingGradient).ref(),
                                   hidden: normedFinal.ref(), weight: (lmHead ?? embedding).ref(),
                                   targets: targets.ref(), tokens: n, channels: C, vocab: config.vocabSize,
                                   scale: scale, chunkTokens: chunkTokens)
    }

    private func downloadedLossSum() -> Double {
        lossSumHost.withUnsafeMutableBytes { backend.download(lossSum.ref(), into: $0) }
        return Double(lossSumHost[0])
    }

    /// The (V) logits of token `token` of the last forward: final norm of its hidden state,
    /// then the LM head.
    private func rowLogits(token: Int) -> [Float] {
        let C = config.hiddenSize, V = config.vocabSize
        backend.rmsNormForward(out: normedFinal.ref(), rstd: rstdFinal.ref(),
                               inp: checkpoints.slot(config.numLayers).advanced(by: token * C),
                               weight: finalNorm.ref(), rows: 1, cols: C, eps: Float(config.rmsNormEps))
        backend.linearForward(out: logits.ref(), inp: normedFinal.ref(), weight: (lmHead ?? embedding).ref(),
                              bias: nil, tokens: 1, inFeatures: C, outFeatures: V)
        return backend.downloadFloats(logits.ref(), count: V)
    }

    // MARK: Host transfers

    private func upload(_ host: FloatBuffer, to buffer: any DeviceBuffer) {
        switch buffer.elementType {
        case .bf16:
            let rounded = [UInt16](unsafeUninitializedCapacity: host.count) { out, n in
                sf_f32_to_bf16(out.baseAddress!, host.pointer.baseAddress!, host.count)
                n = host.count
            }
            rounded.withUnsafeBytes { backend.upload($0, to: buffer.ref()) }
        default:
            backend.upload(UnsafeRawBufferPointer(host.pointer), to: buffer.ref())
        }
    }

    private func download(_ buffer: any DeviceBuffer, into host: FloatBuffer) {
        backend.download(buffer.ref(), into: UnsafeMutableRawBufferPointer(host.pointer))
    }
}
