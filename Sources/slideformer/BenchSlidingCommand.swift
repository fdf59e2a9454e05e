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
        abstract: "Sliding-window engine throughput (tok/s, TFLOPS, per-queue telemetry, exposed waits, compute / AdamW / "
            + "PCIe bounds) of a random-init model built from a config.json, or of a model folder's weights."
    )

    @OptionGroup var source: ModelSourceFlags

    @OptionGroup var step: BenchStepFlags

    @Option(help: "Decoder layers on the GPU at once (default: the plan's window).")
    var window: Int?

    @Option(help: "The first N decoder layers stay on the GPU with their AdamW state (updated there); the rest are streamed. auto: the fewest that hide the host AdamW behind compute, within GPU memory (as train's); --compare-resident takes a number.")
    var residentLayers = ResidentLayerCount(0)

    @OptionGroup var engineFlags: SlidingEngineFlags

    @Option(help: "The last N decoder layers keep their gradient on the GPU until the next step's forward, whose AdamW then overlaps it (default: none; as GPU memory allows after a window of 4; none with clipping or accumulation).")
    var deferredGradients: Int?

    @Option(help: "The first N decoder layers keep their attention output from the forward for the backward, whose recompute then skips the attention (default: the plan's, as GPU memory allows once every streamed layer has a slot; --compare-resident: 0).")
    var keptAttentionLayers: Int?

    @Option(help: "GPU memory to plan the window for, e.g. 24GiB (default: every layer).")
    var gpuMemory: String?

    @Option(help: "Clip the global gradient norm to this value (0: no clipping): AdamW after the backward, in forward order.")
    var maxGradNorm = 0.0

    @Option(help: "Micro-batches per optimizer step (gradient accumulation).")
    var gradAccum = 1

    @Option(help: "Instead of timing: train this many steps both GPU-resident and sliding-window and print both losses per step.")
    var compareResident: Int?

    @Flag(help: "Time only forward + backward with every weight and gradient resident (no transfers, no optimizer): the compute bound.")
    var computeOnly = false

    @Option(help: "The compute bound in ms per step from an earlier --compute-only run, instead of measuring it first.")
    var computeOnlyMs: Double?

    @Flag(help: "Do not measure the compute bound.")
    var skipComputeOnly = false

    @Option(help: "Write the result as JSON to this file.")
    var json: String?

    @Option(help: "Write a Chrome trace (chrome://tracing, Perfetto) of the last timed step to this file.")
    var trace: String?

    @Flag(help: "Also time every compute-stream op of one more step with device events (GPU only) and print where the time goes.")
    var profile = false

    func run() throws {
        let modelConfig = try ModelConfig.load(path: try source.configPath())
        let compute = try ComputeDevice.open(step.device).with(mlpChunkTokens: engineFlags.mlpChunkTokens)
        guard let backend = compute.backend as? QueuedTransfers else {
            throw UsageError("\(compute.backend.name) has no transfer queues")
        }
        if computeOnly {
            let r = try TrainingBenchmark(config: modelConfig, batch: step.batchSize * gradAccum, seqLen: step.seqLen, steps: step.steps,
                                          computeOnly: true).run(device: compute, profile: false)
            print("compute only, \(gradAccum * step.batchSize)x\(step.seqLen) tokens: \(Format.fixed(r.secondsPerStep * 1e3, 1)) ms/step, "
                  + "\(Format.fixed(r.tokensPerSecond, 0)) tok/s, TFLOPS \(Format.named(r.tflops))")
            if let json {
                try AtomicOutput.write(JSON.object(JSONObject([
                    ("compute_only_ms", .double(r.secondsPerStep * 1e3)), ("tokens_per_s", .double(r.tokensPerSecond)),
                ])).serialized(.pretty) + "\n", to: json)
            }
            return
        }
        if let compareSteps = compareResident {
            let parity = SlidingWindowParity(config: modelConfig, batch: step.batchSize, seqLen: step.seqLen, steps: compareSteps,
                                             window: window ?? 2, residentLayers: residentLayers.count ?? 0,
                                             modelLevel: engineFlags.modelLevelOn == .auto ? .gpu : engineFlags.modelLevelOn,
                                             checkpointType: engineFlags.checkpointDtype, gradientType: engineFlags.gradientDtype ?? .f32,
                                             deferredGradients: deferredGradients ?? 0,
                                             keptAttentionLayers: keptAttentionLayers ?? 0,
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
        let bound: SlidingWindowBenchmark.ComputeOnlyBound = skipComputeOnly ? .skip : computeOnlyMs.map { .given($0) } ?? .measure
        let bench = try SlidingWindowBenchmark(config: modelConfig, modelDirectory: source.model, batch: step.batchSize, seqLen: step.seqLen,
                                               steps: step.steps, window: window, residentLayers: residentLayers.count,
                                               modelLevel: engineFlags.modelLevelOn, checkpointType: engineFlags.checkpointDtype,
                                               gradientType: engineFlags.gradientDtype,
                                               deferredGradients: deferredGradients, landingBuffers: engineFlags.landingBuffers,
                                               keptAttentionLayers: keptAttentionLayers,
                                               microBatches: gradAccum, maxGradNorm: maxGradNorm,
                                               gpuBudget: try gpuMemory.map { try ByteCount.parse($0, option: "--gpu-memory") },
                                               computeOnly: bound, profile: profile)
        let r = try bench.run(device: compute)
        let t = r.telemetry, b = r.bounds
        let ms = { (x: Double) in Format.fixed(x, 1) + " ms" }
        print("\(gradAccum)x\(step.batchSize)x\(step.seqLen) tokens, clip \(maxGradNorm), \(r.parameters) parameters, window \(r.window): "
              + "\(ms(r.secondsPerStep * 1e3))/step, \(Format.fixed(r.tokensPerSecond, 0)) tok/s, "
              + "TFLOPS \(Format.named(r.tflops)), loss \(Format.fixed(r.lastLoss, 3))")
        print("per step: compute \(ms(t.computeMilliseconds)) (GPU busy \(Format.fixed(100 * t.gpuBusyFraction, 1)) %), "
              + "H2D \(ms(t.hostToDeviceMilliseconds)) (\(Format.fixed(t.hostToDeviceGBps, 1)) GB/s), "
              + "D2H \(ms(t.deviceToHostMilliseconds)) (\(Format.fixed(t.deviceToHostGBps, 1)) GB/s), "
              + "host AdamW \(ms(t.optimizerMilliseconds)) "
              + "(\(Format.fixed(Double(r.hostOptimizerParameters) / t.optimizerMilliseconds / 1e6, 2)) Gparam/s)")
        print("exposed (compute queue idle): H2D \(ms(t.exposedHostToDeviceMilliseconds)), D2H \(ms(t.exposedDeviceToHostMilliseconds)), "
              + "AdamW \(ms(t.exposedOptimizerMilliseconds)), other \(ms(t.exposedOtherMilliseconds))")
        print("bounds: compute-only " + (b.computeOnlyMilliseconds.map(ms) ?? "not measured (\(r.computeOnlyNote ?? ""))")
              + ", AdamW \(ms(b.optimizerMilliseconds)) (\(Format.bytes(b.optimizerBytes)) at memcpy "
              + "\(Format.fixed(b.memcpyBytesPerSecond / 1e9, 1)) GB/s), PCIe "
              + (b.transferMilliseconds.map { ms($0) + " (pinned \(Format.fixed((b.pinnedHostToDeviceBytesPerSecond ?? 0) / 1e9, 1)) / "
                  + "\(Format.fixed((b.pinnedDeviceToHostBytesPerSecond ?? 0) / 1e9, 1)) GB/s)" } ?? "not measured (no GPU)")
              + "; step / max(bounds) = \(Format.fixed(r.ratio, 3))")
        print("host memory bus, shared by AdamW and both copy directions (their bytes at the memcpy rate; an estimate, "
              + "not a bound: memcpy's count leaves out its read-for-ownership): \(ms(b.hostMemoryMilliseconds))")
        print("measured peaks: GPU pool " + (r.peakPoolBytes.map { Format.bytes($0) } ?? "n/a")
              + ", process RSS " + (r.peakResidentBytes.map { Format.bytes($0) } ?? "n/a")
              + "; plan: GPU \(Format.bytes(r.plan.gpuPeakBytes)), host \(Format.bytes(r.plan.hostPeakBytes))")
        if let ops = r.profile { printOpProfile(ops) }
        if let json { try AtomicOutput.write(r.json.serialized(.pretty) + "\n", to: json) }
        if let trace { try AtomicOutput.write(ChromeTrace.json(r.spans).serialized(.compact) + "\n", to: trace) }
    }
}

private extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}
