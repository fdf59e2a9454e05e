#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Backends
import ModelFormats
import Support

/// The golden reference states of Tests/Fixtures/golden (scripts/make_reference.py: PyTorch +
/// transformers in fp32) run on any compute device: one forward/backward (logits, loss, every
/// gradient) and five training steps with accumulation, clipping and the schedule through
/// `DeviceTrainingState` (per-step loss and gradient norm, final masters).
/// Errors are ‖ours − ref‖ / ‖ref‖ (relative differences for scalars).
public struct GoldenCheck {
    /// The bounds of one storage type: fixed floors, for bf16 raised per quantity to twice
    /// PyTorch's own autocast deviation (`AutocastDeviation`).
    public struct Bounds {
        public var logits: Double
        public var loss: Double
        public var gradient: Double
        public var gradNorm: Double
        public var finalWeights: Double
        /// k_proj.bias under RoPE: a constant added to every key of a query's row leaves the
        /// softmax unchanged, so some of its components get gradients at the rounding floor,
        /// and Adam (dividing by sqrt(v)) still steps them by O(lr): their final values carry
        /// the rounding noise (DecoderModelTrainingTests measured ~2e-4 in fp32).
        public var finalKeyBias: Double
        /// Whether a quantity's bound is max(floor, 2 × PyTorch's bf16 autocast deviation on it).
        /// Our bf16 compute rounds where autocast rounds (bf16 GEMM operands and outputs, fp32
        /// accumulation, fp32 residual stream and norms), so its distance from the fp32 result is
        /// rounding noise of the same kind and size as PyTorch's own, drawn independently
        /// (other summation orders, fused kernels, bf16 P in attention): two such draws differ
        /// by about √2 × one of them, and 2× leaves room for the luck of the draw. On the tiny
        /// O(1)-weight fixtures PyTorch's own logits deviate by 0.7–1.1e-2: a fixed 1e-2 would
        /// be a bound PyTorch itself fails.
        public var scalesWithAutocastDeviation = false

        /// f32: only summation orders differ (the bounds of the CPU golden tests).
        public static let f32 = Bounds(logits: 1e-5, loss: 1e-5, gradient: 1e-4, gradNorm: 1e-5, finalWeights: 1e-4,
                                       finalKeyBias: 1e-3)
        /// bf16 storage (unit roundoff 2⁻⁹ ≈ 2e-3 per rounding; weights, activations and the
        /// gradients that flow between GEMMs are rounded, a few times per layer, over 2 layers),
        /// floors before the autocast scaling: logits and loss within 1e-2, gradients within 5e-2 of their tensor's norm (small
        /// bias and norm vectors sum many rounded terms), the global norm within 2e-2; the final
        /// fp32 masters within 1e-2 (five small updates on weights of size ~0.02-1).
        /// The key bias's noise-driven components are at bf16's rounding floor: only its size is
        /// checked (within 100% of the reference's norm).
        public static let bf16 = Bounds(logits: 1e-2, loss: 1e-2, gradient: 5e-2, gradNorm: 2e-2, finalWeights: 1e-2,
                                        finalKeyBias: 1, scalesWithAutocastDeviation: true)
    }

    public struct Line {
        public let model: String
        public let quantity: String
        public let error: Double
        public let bound: Double
        public var passed: Bool { error <= bound }
    }

    public let device: ComputeDevice
    public let bounds: Bounds
    /// Tokens per MLP chunk of the forward/backward check: on the 2×16-token fixtures, 6
    /// chunks and a remainder of 2, so the device runs the chunked MLP of long batches (the
    /// training steps run it in one chunk).
    static let forwardBackwardMLPChunkTokens = 5

    public init(device: ComputeDevice) {
        self.device = device
        bounds = device.storage == .f32 ? .f32 : .bf16
    }

    /// Every model folder under `directory` (those holding reference.json), in name order;
    /// `report` gets each line as it is measured. Models whose head dimension the backend's
    /// attention does not take are listed in `skipped` (an error if that leaves none).
    public func run(directory: String, report: (Line) -> Void) throws -> (lines: [Line], skipped: [String]) {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted().filter {
            FileManager.default.fileExists(atPath: directory + "/" + $0 + "/reference.json")
        }
        guard !names.isEmpty else { throw InputError(file: directory, "no golden model folders (with reference.json) here") }
        var lines: [Line] = [], skipped: [String] = []
        for name in names {
            let folder = directory + "/" + name
            let headDim = try ModelConfig.load(path: folder + "/config.json").headDim
            guard device.backend.supportsAttention(headDim: headDim) else {
                skipped.append("\(name) (head dim \(headDim))")
                continue
            }
            try check(folder, name: name) { lines.append($0); report($0) }
        }
        guard !lines.isEmpty else {
            throw UsageError("\(device.backend.name) takes none of the golden models of \(directory): \(skipped.joined(separator: ", "))")
        }
        return (lines, skipped)
    }

    private func check(_ folder: String, name: String, _ add: (Line) -> Void) throws {
        let weights = try ModelWeights.load(directory: folder)
        let json = try readJSONFile(folder + "/reference.json")
        let deviation = bounds.scalesWithAutocastDeviation
            ? try AutocastDeviation(json, file: folder + "/reference.json") : nil
        let referencePath = folder + "/reference.safetensors"
        let reference = try SafeTensorsFile(path: referencePath)
        func tensor(_ t: String) throws -> (shape: [Int], values: [Float]) {
            guard let info = reference.info(t) else { throw InputError(file: referencePath, location: "tensor \(t)", "missing") }
            let values = [Float](unsafeUninitializedCapacity: info.shape.reduce(1, *)) { out, n in
                n = out.count
                do { try reference.readFloat32(info, into: out) } catch { n = 0 }
            }
            guard values.count == info.shape.reduce(1, *) else {
                throw InputError(file: referencePath, location: "tensor \(t)", "not readable as F32")
            }
            return (info.shape, values)
        }
        func ints(_ t: String) throws -> [Int32] { try tensor(t).values.map { Int32($0) } }
        func line(_ quantity: String, _ error: Double, _ bound: Double) { add(Line(model: name, quantity: quantity, error: error, bound: bound)) }

        // One forward/backward.
        let shape = try tensor("input_ids").shape
        guard shape.count == 2 else { throw InputError(file: referencePath, location: "tensor input_ids", "expected (B,T)") }
        let (batch, seqLen) = (shape[0], shape[1])
        let ids = try ints("input_ids"), labels = try ints("labels")
        let model = try DecoderModel(layout: weights.layout, backend: device.backend, maxBatch: batch, maxSeqLen: seqLen,
                                     storage: device.storage, mlpChunkTokens: Self.forwardBackwardMLPChunkTokens)
        model.loadParameters(weights)
        let logits = try model.allLogits(inputIds: ids, batch: batch, seqLen: seqLen)
        line("logits", Self.relativeL2Error(logits, try tensor("logits").values), bound(bounds.logits, deviation?.logits))
        let targets = Self.targetCount(labels, seqLen: seqLen)
        model.zeroGradients()
        let lossSum = try model.forwardBackward(inputIds: ids, labels: labels, batch: batch, seqLen: seqLen,
                                                lossScale: 1 / Float(targets))
        let referenceLoss = Double(try tensor("loss").values[0])
        line("loss", abs(lossSum / Double(targets) - referenceLoss) / referenceLoss, bound(bounds.loss, deviation?.loss))
        let gradients = ModelWeights(config: weights.config)
        model.readGradients(into: gradients)
        var worst = Worst()
        for t in gradients.namedTensors {
            let limit = bound(bounds.gradient, try deviation.map {
                try AutocastDeviation.of(t.name, in: $0.gradients, file: folder + "/reference.json", "gradients")
            })
            worst.add(t.name, Self.relativeL2Error(Array(t.values), try tensor("grad." + t.name).values), limit)
        }
        line("worst gradient (\(worst.tensor))", worst.error, worst.bound)

        try checkTraining(weights: weights, masters: try ModelWeights.load(directory: folder), json: json, jsonFile: folder + "/reference.json", deviation: deviation,
                          ids: try ints("train.input_ids"), labels: try ints("train.labels"),
                          shape: try tensor("train.input_ids").shape, file: referencePath, tensor: tensor, line: line)
    }

    /// Five steps as scripts/make_reference.py trains them, through the device optimizer.
    private func checkTraining(weights: ModelWeights, masters: ModelWeights, json: JSON, jsonFile: String, deviation: AutocastDeviation?,
                               ids: [Int32], labels: [Int32], shape: [Int], file: String,
                               tensor: (String) throws -> (shape: [Int], values: [Float]),
                               line: (String, Double, Double) -> Void) throws {
        guard shape.count == 4, let train = json["train"], let betas = train["betas"]?.array, betas.count == 2,
              let beta1 = betas[0].double, let beta2 = betas[1].double, let eps = train["eps"]?.double,
              let decay = train["weight_decay"]?.double, let lr = train["lr"]?.double,
              let maxNorm = train["max_grad_norm"]?.double, let s = train["schedule"],
              let kind = s["kind"]?.string.flatMap(LearningRateSchedule.Kind.init), let warmup = s["warmup_steps"]?.int,
              let total = s["total_steps"]?.int, let minLR = s["min_lr"]?.double,
              let losses = train["losses"]?.array?.compactMap(\.double), let norms = train["grad_norms"]?.array?.compactMap(\.double)
        else { throw InputError(file: file, location: "reference.json train / train.input_ids", "incomplete training reference") }
        let (steps, micro, batch, seqLen) = (shape[0], shape[1], shape[2], shape[3])
        guard losses.count == steps, norms.count == steps else {
            throw InputError(file: file, location: "reference.json train.losses", "expected \(steps) steps")
        }
        let schedule = LearningRateSchedule(kind: kind, peak: lr, warmupSteps: warmup, totalSteps: total, minLR: minLR)
        let model = try device.modelFactory(weights.layout, batch, seqLen)
        let state = try DeviceTrainingState(model: model, hyperparameters: AdamWHyperparameters(
            beta1: beta1, beta2: beta2, eps: eps, weightDecay: decay))
        let host = HostTrainingState(masters: masters)
        state.upload(host)
        var worstLoss = 0.0, worstNorm = 0.0
        let rows = batch * seqLen
        for step in 0..<steps {
            let batches = (0..<micro).map { m -> (ids: [Int32], labels: [Int32]) in
                let start = (step * micro + m) * rows
                return (Array(ids[start..<(start + rows)]), Array(labels[start..<(start + rows)]))
            }
            let normalization = StepNormalization(targetCounts: batches.map { Self.targetCount($0.labels, seqLen: seqLen) })
            model.zeroGradients()
            var lossSum = 0.0
            for b in batches {
                lossSum += try model.forwardBackward(inputIds: b.ids, labels: b.labels, batch: batch, seqLen: seqLen,
                                                     lossScale: normalization.lossScale)
            }
            worstLoss = max(worstLoss, abs(lossSum / Double(normalization.totalTargets) - losses[step]) / losses[step])
            let norm = state.gradientNorm()
            worstNorm = max(worstNorm, abs(norm - norms[step]) / norms[step])
            state.update(learningRate: schedule.learningRate(stepsTaken: step),
                         gradScale: GradientClipping.coefficient(totalNorm: norm, maxNorm: maxNorm))
        }
        line("\(steps)-step training: worst step loss", worstLoss, bound(bounds.loss, deviation?.trainLosses))
        line("\(steps)-step training: worst gradient norm", worstNorm, bound(bounds.gradNorm, deviation?.trainGradNorms))
        state.download(into: host)
        var worst = Worst(), worstKeyBias: Double?
        for t in host.masters.namedTensors {
            let error = Self.relativeL2Error(Array(t.values), try tensor("final." + t.name).values)
            if t.name.hasSuffix("self_attn.k_proj.bias") {
                worstKeyBias = max(worstKeyBias ?? 0, error.isNaN ? .infinity : error)
            } else {
                worst.add(t.name, error, bound(bounds.finalWeights, try deviation.map {
                    try AutocastDeviation.of(t.name, in: $0.finalWeights, file: jsonFile, "train.final")
                }))
            }
        }
        line("\(steps)-step training: worst final weight (\(worst.tensor))", worst.error, worst.bound)
        if let worstKeyBias { line("\(steps)-step training: final k_proj.bias", worstKeyBias, bounds.finalKeyBias) }
    }

    /// `floor`, or for bf16 max(floor, 2 × PyTorch's autocast deviation on the quantity).
    private func bound(_ floor: Double, _ autocastDeviation: Double?) -> Double {
        autocastDeviation.map { max(floor, 2 * $0) } ?? floor
    }

    /// The tensor closest to (or furthest past) its bound: the largest error / bound.
    private struct Worst {
        var tensor = "", error = 0.0, bound = 1.0

        mutating func add(_ name: String, _ e: Double, _ b: Double) {
            if tensor.isEmpty || !e.isFinite || e / b > error / bound { (tensor, error, bound) = (name, e.isNaN ? .infinity : e, b) }
        }
    }

    /// Target tokens of HF labels (B,T): positions 1..<T of each row not ignored.
    static func targetCount(_ labels: [Int32], seqLen: Int) -> Int {
        labels.indices.filter { $0 % seqLen != 0 && labels[$0] != ignoredTarget }.count
    }

    /// ‖a − b‖₂ / ‖b‖₂ in double (NaN anywhere gives NaN).
    static func relativeL2Error(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return .infinity }
        var diff = 0.0, norm = 0.0
        for (x, y) in zip(a, b) {
            diff += (Double(x) - Double(y)) * (Double(x) - Double(y))
            norm += Double(y) * Double(y)
        }
        return norm > 0 ? (diff / norm).squareRoot() : diff.squareRoot()
    }
}

extension GoldenCheck {
    /// "llama_tied_rope3  logits  1.2e-06  (bound 1e-05)  ok"
    public static func format(_ l: Line) -> String {
        l.model.padding(20) + l.quantity.padding(72) + Format.sci(l.error, 2).padding(11)
            + "bound " + Format.sci(l.bound, 0).padding(8) + (l.passed ? "ok" : "FAIL")
    }
}

private extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}
