import Backends
import ModelFormats
import Support

extension DecoderModel: TrainableModel {}

extension TrainOptions.Device {
    /// Builds decoder models on this device. The CPU backend computes in fp32 on `pool`.
    public func modelFactory(pool: WorkerPool = .shared) throws -> TrainableModelFactory {
        _ = try resolved()
        let backend = CPUBackend(pool: pool)
        return { layout, maxBatch, maxSeqLen in
            try DecoderModel(layout: layout, backend: backend, maxBatch: maxBatch, maxSeqLen: maxSeqLen)
        }
    }
}

extension Trainer {
    /// The tokenizer and chat template of `options.modelDirectory`, the model on `options.device`.
    public convenience init(options: TrainOptions, log: @escaping (String) -> Void = { print($0) }) throws {
        try options.validate()
        let tokenizer = try ModelTokenizer.load(directory: options.modelDirectory)
        self.init(options: options, encoder: tokenizer.encoder, chatTemplate: tokenizer.chatTemplate,
                  makeModel: try options.device.modelFactory(), log: log)
    }
}
