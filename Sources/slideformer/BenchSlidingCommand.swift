import ArgumentParser
import Backends
import ModelFormats
import Support
import Training

/// `slideformer bench sliding`: the sliding-window engine's training throughput, its bounds,
/// and optionally its per-step losses against GPU-resident training.
struct BenchSlidingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sliding",
        abstract: "Sliding-window engine throughput (tok/s, GPU busy fraction, compute / AdamW / PCIe bounds) "
            + "of a random-init model built from a config.json."
    )

    @Option(help: "A Hugging Face config.json (e.g. bench/configs/llama-1.5b.json).")
    var config: String

    @Option(help: "Rows per step.")
    var batchSize = 8

    @Option(help: "Tokens per row.")
    var seqLen = 1024

    @Option(help: "Compute device: auto, cpu or cuda.")
    var device = TrainOptions.Device.auto

    @Option(help: "Timed optimizer steps (after 2 warm-up steps).")
    var steps = 5

    @Option(help: "Decoder layers on the GPU at once (default: the plan's window).")
    var window: Int?

    @Option(help: "The first N decoder layers stay on the GPU with their AdamW state (updated there); the rest are streamed.")
    var residentLayers = 0

    @Option(help: "GPU memory to plan the window for, e.g. 24GiB (default: every layer).")
    var gpuMemory: String?

    @Option(help: "Clip the global gradient norm to this value (0: no clipping): AdamW after the backward, in forward order.")
    var maxGradNorm = 0.0

    @Option(help: "Micro-batches per optimizer step (gradient accumulation).")
    var gradAccum = 1

    @Option(help: "Instead of timing: train this many steps both GPU-resident and sliding-window and print both losses per step.")
    var compareResident: Int?

    func run() throws {
        let modelConfig = try ModelConfig.load(path: config)
        let compute = try ComputeDevice.open(device)
        guard let backend = compute.backend as? QueuedTransfers else {
            throw UsageError("\(compute.backend.name) has no transfer queues")
        }
        if let compareSteps = compareResident {
            let parity = SlidingWindowParity(config: modelConfig, batch: batchSize, seqLen: seqLen, steps: compareSteps,
                                             window: window ?? 2, residentLayers: residentLayers,
                                             microBatches: gradAccum, maxGradNorm: maxGradNorm)
            let r = try parity.run(backend: backend, storage: compute.storage)
            print("step  resident loss          sliding loss           difference")
            for (i, (a, b)) in zip(r.residentLosses, r.slidingLosses).enumerated() {
                print("\(i + 1)".padding(6) + Format.fixed(a, 9).padding(23) + Format.fixed(b, 9).padding(23)
                      + Format.sci(b - a, 2))
            }
            print("gradient norms, resident: " + r.residentNorms.map { Format.fixed($0, 6) }.joined(separator: " "))
            print("gradient norms, sliding:  " + r.slidingNorms.map { Format.fixed($0, 6) }.joined(separator: " "))
            print("max |master weight difference| after \(compareSteps) steps: \(Format.sci(r.maxMasterDifference, 3))")
            return
        }
        let bench = try SlidingWindowBenchmark(config: modelConfig, batch: batchSize, seqLen: seqLen, steps: steps,
                                               window: window, residentLayers: residentLayers,
                                               microBatches: gradAccum, maxGradNorm: maxGradNorm,
                                               gpuBudget: try gpuMemory.map { try ByteCount.parse($0, option: "--gpu-memory") })
        let r = try bench.run(backend: backend, storage: compute.storage)
        let t = r.times
        print("\(gradAccum)x\(batchSize)x\(seqLen) tokens, clip \(maxGradNorm), \(r.parameters) parameters, window \(r.window): "
              + "\(Format.fixed(r.secondsPerStep * 1e3, 1)) ms/step, \(Format.fixed(r.tokensPerSecond, 0)) tok/s, "
              + "loss \(Format.fixed(r.lastLoss, 3))")
        print("per step: compute \(Format.fixed(t.computeMilliseconds, 1)) ms (GPU busy \(Format.fixed(100 * r.gpuBusyFraction, 1)) %), "
              + "H2D \(Format.fixed(t.hostToDeviceMilliseconds, 1)) ms, D2H \(Format.fixed(t.deviceToHostMilliseconds, 1)) ms, "
              + "host AdamW \(Format.fixed(t.optimizerMilliseconds, 1)) ms "
              + "(\(Format.fixed(Double(r.layerParameters) / t.optimizerMilliseconds / 1e6, 2)) Gparam/s)")
        print("bounds (tok/s): compute \(Format.fixed(r.computeBound, 0)), AdamW \(Format.fixed(r.optimizerBound, 0)), "
              + "PCIe \(Format.fixed(r.transferBound, 0))")
        if let pool = r.peakPoolBytes {
            print("GPU pool peak \(Format.bytes(pool)); plan: GPU \(Format.bytes(r.plan.gpuPeakBytes)), "
                  + "host \(Format.bytes(r.plan.hostPeakBytes))")
        }
    }
}

private extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}
