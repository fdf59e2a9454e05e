import ArgumentParser
import Datasets
import Training

extension DataFormat: ExpressibleByArgument {}

/// The dataset flags `train` and `loss` share (see docs/datasets.md).
struct DataFlags: ParsableArguments {
    @Option(help: "Training data: a JSONL file (or a JSON array) of text, instruct, chat or tokens rows.")
    var data: String

    @Option(help: "Row format: text, instruct, chat or tokens (default: detected from the first row's keys).")
    var dataFormat: DataFormat?

    @Option(help: "Tokens per row (T).")
    var seqLen = TrainOptions.defaults.data.seqLen

    @Option(help: "Rows per micro-batch (B).")
    var batchSize = TrainOptions.defaults.data.batchSize

    @Flag(help: "One document per row, padded or truncated, instead of packing documents into full rows.")
    var noPack = false

    @Flag(help: "Visit the rows in file order instead of a seeded random order reshuffled every epoch.")
    var noShuffle = false

    @Option(help: "Shuffle seed.")
    var seed = TrainOptions.defaults.data.seed

    var loaderOptions: DataLoaderOptions {
        DataLoaderOptions(format: dataFormat, seqLen: seqLen, batchSize: batchSize, pack: !noPack, shuffle: !noShuffle, seed: seed)
    }
}
