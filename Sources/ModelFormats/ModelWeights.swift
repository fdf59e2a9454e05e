#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Support

/// A model's parameters in fp32, in the engine's layout: one flat buffer per decoder layer
/// (packed by `LayerLayout`, padding zero), plus the embedding, the final norm and the
/// untied LM head. Loaded from and saved to Hugging Face folders (config.json + safetensors).
public final class ModelWeights: @unchecked Sendable {
    public let config: ModelConfig
    public let layout: ModelLayout
    /// `config.numLayers` buffers of `layout.layer.count` elements.
    public let layers: [FloatBuffer]
    /// [vocab, hidden]
    public let embedding: FloatBuffer
    /// [hidden]
    public let finalNorm: FloatBuffer
    /// [vocab, hidden]; nil when tied to the embedding.
    public let lmHead: FloatBuffer?

    /// Zero-filled weights for `config`.
    public init(config: ModelConfig) {
        let layout = ModelLayout(config)
        self.config = config
        self.layout = layout
        layers = (0..<config.numLayers).map { _ in FloatBuffer(count: layout.layer.count) }
        embedding = FloatBuffer(count: layout.embedding.count)
        finalNorm = FloatBuffer(count: layout.finalNorm.count)
        lmHead = layout.lmHead.map { FloatBuffer(count: $0.count) }
    }

    /// Every tensor with its Hugging Face name, in transformers' state-dict order, and the
    /// buffer elements that hold it.
    public var namedTensors: [(name: String, shape: [Int], values: UnsafeMutableBufferPointer<Float>)] {
        var out = [(layout.embedding.name, layout.embedding.shape, embedding.slice(layout.embedding))]
        for (i, buffer) in layers.enumerated() {
            for slot in layout.layer.tensors {
                out.append((LayerLayout.hfName(layer: i, slot.name), slot.shape, buffer.slice(slot)))
            }
        }
        out.append((layout.finalNorm.name, layout.finalNorm.shape, finalNorm.slice(layout.finalNorm)))
        if let head = layout.lmHead, let lmHead { out.append((head.name, head.shape, lmHead.slice(head))) }
        return out
    }

    // MARK: load

    /// Reads `directory/config.json` and the safetensors weights (any of BF16/F16/F32) into fp32.
    /// Every expected tensor must be present with its shape; an unknown tensor is an error
    /// (except rotary `inv_freq` buffers old checkpoints carry, and `lm_head.weight` of a tied
    /// model, which transformers ignores too).
    public static func load(directory: String, pool: WorkerPool = .shared) throws -> ModelWeights {
        let config = try ModelConfig.load(path: directory + "/config.json")
        let checkpoint = try SafeTensorsModel(directory: directory)
        let weights = ModelWeights(config: config)
        let tensors = weights.namedTensors
        let expected = Set(tensors.map(\.name))
        for name in checkpoint.tensorNames where !expected.contains(name) && !Self.ignoredOnLoad(name, config) {
            throw InputError(file: checkpoint.file(containing: name)?.path ?? directory, location: "tensor \(name)",
                             "not part of a \(config.family.rawValue) model with this config.json")
        }
        var sources: [(SafeTensorsFile, SafeTensorInfo)] = []
        for t in tensors {
            guard let file = checkpoint.file(containing: t.name), let info = file.info(t.name) else {
                throw InputError(file: directory, location: "tensor \(t.name)", "missing from the checkpoint")
            }
            guard info.shape == t.shape else {
                throw InputError(file: file.path, location: "tensor \(t.name)", "shape \(info.shape), config.json implies \(t.shape)")
            }
            sources.append((file, info))
        }
        for (t, (file, info)) in zip(tensors, sources) {
            pool.parallelRanges(info.elementCount, minChunk: 1 << 18) { r in
                file.convert(info, elements: r, into: UnsafeMutableBufferPointer(rebasing: t.values[r]))
            }
        }
        return weights
    }

    static func ignoredOnLoad(_ name: String, _ config: ModelConfig) -> Bool {
        name.hasSuffix(".rotary_emb.inv_freq") || (config.tieWordEmbeddings && name == "lm_head.weight")
    }

    // MARK: save

    /// Writes a Hugging Face folder at `directory` (replaced as a whole, atomically):
    /// config.json and the weights as `dtype` (BF16 rounds to nearest even), sharded above
    /// `maxShardBytes`. A tied model has no `lm_head.weight`. `sourceConfig` (the original
    /// config.json) keeps keys this code does not model.
    public func save(to directory: String, dtype: DType = .bf16, maxShardBytes: Int = 5_000_000_000,
                     sourceConfig: JSONObject? = nil, pool: WorkerPool = .shared) throws {
        try AtomicOutput.writeDirectory(at: directory) { tmp in
            try write(into: tmp, dtype: dtype, maxShardBytes: maxShardBytes, sourceConfig: sourceConfig, pool: pool)
        }
    }

    /// Like `save`, into an existing folder (for callers that assemble a larger folder).
    public func write(into directory: String, dtype: DType = .bf16, maxShardBytes: Int = 5_000_000_000,
                      sourceConfig: JSONObject? = nil, pool: WorkerPool = .shared) throws {
        guard dtype != .f16 else { throw UsageError("saving as F16 is not supported (use BF16 or F32)") }
        let tensors = namedTensors
        let specs = tensors.map { TensorSpec(name: $0.name, dtype: dtype, shape: $0.shape) }
        try SafeTensorsWriter.write(specs, toDirectory: directory, maxShardBytes: maxShardBytes) { i, destination in
            let src = tensors[i].values
            if dtype == .f32 {
                destination.copyMemory(from: UnsafeRawBufferPointer(src))
                return
            }
            // Every tensor of the file is bf16, so each starts 2-byte aligned.
            let out = destination.bindMemory(to: UInt16.self)
            pool.parallelRanges(src.count, minChunk: 1 << 18) { r in
                BFloat16.convert(UnsafeBufferPointer(rebasing: src[r]), to: UnsafeMutableBufferPointer(rebasing: out[r]))
            }
        }
        let configJSON = JSON.object(config.jsonObject(dtype: dtype, preserving: sourceConfig))
        try AtomicOutput.write(configJSON.serialized(.init(indent: 2)) + "\n", to: directory + "/config.json")
    }
}
