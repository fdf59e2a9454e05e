import ArgumentParser
import Training

/// The step shape and device shared by the training benchmarks (`bench train`, `bench sliding`).
struct BenchStepFlags: ParsableArguments {
    @Option(help: "Rows per step.")
    var batchSize = 8

    @Option(help: "Tokens per row.")
    var seqLen = 1024

    @Option(help: "Compute device: auto, cpu or cuda.")
    var device = TrainOptions.Device.auto

    @Option(help: "Timed optimizer steps (after 2 warm-up steps).")
    var steps = 5
}
