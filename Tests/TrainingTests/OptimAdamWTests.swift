#if canImport(Glibc)
import Glibc
#endif
import CKernels
@testable import ModelFormats
import Support
import TestSupport
import XCTest
@testable import Training

/// AdamW + global-norm clipping + LR schedule against torch (scripts/make_optim_reference.py).
final class OptimAdamWTests: XCTestCase {
    /// Tolerance of parameters after 5 steps, relative to the largest weight: torch's CPU sqrt
    /// (MKL VML, 1-ulp accurate) is not correctly rounded, and the clipping coefficient comes
    /// from an fp64 norm here vs fp32 in torch (≤ 1 ulp apart); every other operation is
    /// replicated bit for bit. Each of those perturbs an element by ~1 ulp of itself per step;
    /// 1e-6 is ~8 fp32 ulps at the largest magnitude (measured: ≤ 4e-8).
    static let parameterTolerance = 1e-6
    /// Moments do not see sqrt: without clipping they are bit-identical to torch's (measured:
    /// 0); with clipping the ≤ 1-ulp coefficient difference reaches them (v ∝ coef²: ~2.4e-7
    /// relative; measured ≤ 3e-7).
    static func momentTolerance(clipping: Bool) -> Double { clipping ? 1e-6 : 0 }

    struct Tensor {
        let name: String
        let slot: TensorSlot
        let buffer: Int
    }

    /// Two flat buffers: [w | gap | b] and [n], the gap filled with NaN gradients that must
    /// never be read and sentinel weights that must never be written.
    func layout(_ run: JSON) throws -> [Tensor] {
        var offsets = [0, 0]
        var tensors: [Tensor] = []
        for t in try XCTUnwrap(run["tensors"]?.array) {
            let name = try XCTUnwrap(t["name"]?.string)
            let shape = try XCTUnwrap(t["shape"]?.array).map { try XCTUnwrap($0.int) }
            let buffer = try XCTUnwrap(t["buffer"]?.int)
            let slot = TensorSlot(name: name, shape: shape, offset: offsets[buffer])
            XCTAssertEqual(slot.decays, t["decays"]?.bool)
            tensors.append(Tensor(name: name, slot: slot, buffer: buffer))
            offsets[buffer] = (offsets[buffer] + slot.count + 63) / 64 * 64
        }
        return tensors
    }

    func testMatchesTorchAdamWWithClippingAndSchedules() throws {
        let reference = try SafeTensorsFile(path: TestPaths.fixture("optim/adamw.safetensors"))
        let meta = try readJSONFile(TestPaths.fixture("optim/adamw.json"))
        let pool = WorkerPool(threads: 2)
        defer { pool.shutdown() }
        let sentinel: Float = 12345
        for run in try XCTUnwrap(meta["runs"]?.array) {
            let r = try XCTUnwrap(run["name"]?.string)
            let tensors = try layout(run)
            let sizes = (0..<2).map { b in tensors.filter { $0.buffer == b }.map { $0.slot.offset + $0.slot.count }.max()! }
            var params = sizes.map { [Float](repeating: sentinel, count: $0) }
            var grads = sizes.map { [Float](repeating: .nan, count: $0) }
            var bf16 = sizes.map { [UInt16](repeating: 0xABCD, count: $0) }
            let moments = sizes.map { AdamWMoments(count: $0) }
            let segments = (0..<2).map { b in OptimizerSegments(tensors.filter { $0.buffer == b }.map(\.slot)) }
            for t in tensors {
                params[t.buffer].replaceSubrange(t.slot.offset..<(t.slot.offset + t.slot.count), with: try reference.floats("\(r).init.\(t.name)"))
            }
            let h = AdamWHyperparameters(
                beta1: try XCTUnwrap(run["beta1"]?.double), beta2: try XCTUnwrap(run["beta2"]?.double),
                eps: try XCTUnwrap(run["eps"]?.double), weightDecay: try XCTUnwrap(run["weight_decay"]?.double))
            let s = try XCTUnwrap(run["schedule"])
            let schedule = LearningRateSchedule(
                kind: try XCTUnwrap(LearningRateSchedule.Kind(rawValue: s["kind"]?.string ?? "")),
                peak: try XCTUnwrap(run["lr"]?.double), warmupSteps: try XCTUnwrap(s["warmup_steps"]?.int),
                totalSteps: try XCTUnwrap(s["total_steps"]?.int), minLR: try XCTUnwrap(s["min_lr"]?.double))
            let maxNorm = try XCTUnwrap(run["max_grad_norm"]?.double)
            let adamw = AdamW(h)

            for (k, step) in try XCTUnwrap(run["steps"]?.array).enumerated() {
                for t in tensors {
                    grads[t.buffer].replaceSubrange(t.slot.offset..<(t.slot.offset + t.slot.count), with: try reference.floats("\(r).grad.\(k).\(t.name)"))
                }
                let lr = schedule.learningRate(stepsTaken: k)
                let torchLR = try XCTUnwrap(step["lr"]?.double)
                XCTAssertEqual(lr, torchLR, accuracy: 1e-15 * max(1, torchLR), "\(r) step \(k) lr")
                let sums = (0..<2).map { b in grads[b].withUnsafeBufferPointer { GradientClipping.sumOfSquares($0.baseAddress!, segments: segments[b], pool: pool) } }
                let norm = GradientClipping.totalNorm(sumsOfSquares: sums)
                let torchNorm = try XCTUnwrap(step["total_norm"]?.double)
                XCTAssertEqual(norm, torchNorm, accuracy: 1e-6 * torchNorm, "\(r) step \(k) total norm")
                let coefficient = GradientClipping.coefficient(totalNorm: norm, maxNorm: maxNorm)
                let torchCoefficient = Float(try XCTUnwrap(step["clip_coef"]?.double))
                XCTAssertEqual(coefficient, torchCoefficient, accuracy: 2 * torchCoefficient.ulp, "\(r) step \(k) clip coefficient")
                for b in 0..<2 {
                    params[b].withUnsafeMutableBufferPointer { p in
                        grads[b].withUnsafeBufferPointer { g in
                            bf16[b].withUnsafeMutableBufferPointer { out in
                                adamw.update(params: p.baseAddress!, gradients: .f32(g.baseAddress!), moments: moments[b],
                                             segments: segments[b], learningRate: lr, gradScale: coefficient,
                                             bf16Output: out.baseAddress!, pool: pool)
                            }
                        }
                    }
                    XCTAssertEqual(moments[b].step, k + 1)
                }
                for t in tensors {
                    let ours = Array(params[t.buffer][t.slot.offset..<(t.slot.offset + t.slot.count)])
                    let error = normalizedError(ours, try reference.floats("\(r).param.\(k).\(t.name)"))
                    XCTAssertLessThanOrEqual(error, Self.parameterTolerance, "\(r) step \(k) \(t.name)")
                }
            }
            for t in tensors {
                let range = t.slot.offset..<(t.slot.offset + t.slot.count)
                let m = Array(UnsafeBufferPointer(start: moments[t.buffer].expAvg + t.slot.offset, count: t.slot.count))
                let v = Array(UnsafeBufferPointer(start: moments[t.buffer].expAvgSq + t.slot.offset, count: t.slot.count))
                XCTAssertLessThanOrEqual(normalizedError(m, try reference.floats("\(r).exp_avg.\(t.name)")), Self.momentTolerance(clipping: maxNorm > 0), "\(r) exp_avg \(t.name)")
                XCTAssertLessThanOrEqual(normalizedError(v, try reference.floats("\(r).exp_avg_sq.\(t.name)")), Self.momentTolerance(clipping: maxNorm > 0), "\(r) exp_avg_sq \(t.name)")
                // The emitted bf16 weights are the round-to-nearest-even of our fp32 weights.
                XCTAssertEqual(Array(bf16[t.buffer][range]), params[t.buffer][range].map(bf16Bits), "\(r) bf16 \(t.name)")
            }
            // Gaps between tensors: never written, NaN gradients never read.
            for b in 0..<2 {
                var covered = [Bool](repeating: false, count: sizes[b])
                for t in tensors where t.buffer == b { for i in t.slot.offset..<(t.slot.offset + t.slot.count) { covered[i] = true } }
                for i in 0..<sizes[b] where !covered[i] {
                    XCTAssertEqual(params[b][i], sentinel)
                    XCTAssertEqual(bf16[b][i], 0xABCD)
                }
                XCTAssertFalse(params[b].contains { $0.isNaN }, "a NaN gradient in a gap leaked into the weights")
            }
        }
    }

    func bf16Bits(_ x: Float) -> UInt16 {
        var out: UInt16 = 0
        var x = x
        sf_f32_to_bf16(&out, &x, 1)
        return out
    }

    /// Round-to-nearest-even, infinities, NaN, subnormals: the same values as torch's .to(bfloat16).
    func testBF16ConversionMatchesTorch() throws {
        let reference = try SafeTensorsFile(path: TestPaths.fixture("optim/adamw.safetensors"))
        let values = try reference.floats("bf16_cases.f32")
        let expected = try reference.floats("bf16_cases.bf16")
        XCTAssertTrue(values.contains { $0.isNaN })
        var vector = [UInt16](repeating: 0, count: values.count)
        sf_f32_to_bf16(&vector, values, values.count)  // vector body + scalar tail
        let scalar = values.map(bf16Bits)  // scalar path alone
        for (ours, path) in [(vector, "vector"), (scalar, "scalar")] {
            for (i, bits) in ours.enumerated() {
                let widened = Float(bitPattern: UInt32(bits) << 16)
                // NaN bit patterns differ (torch's vector path writes 0xFFFF, ours 0x7FC0): both NaN.
                XCTAssertTrue(widened.bitPattern == expected[i].bitPattern || (widened.isNaN && expected[i].isNaN),
                              "\(path) \(values[i]) -> \(widened), torch \(expected[i])")
            }
        }
    }

    /// Random state for the self-consistency tests: n elements, several chunks.
    func randomState(_ n: Int, seed: UInt64) -> (p: [Float], g: [Float]) {
        var rng = SplitMix64(seed: seed)
        return ((0..<n).map { _ in rng.normal() }, (0..<n).map { _ in rng.normal() * 0.1 })
    }

    func runUpdates(threads: Int, segments: OptimizerSegments, p0: [Float], g: [Float], bf16Gradients: [UInt16]? = nil) -> ([Float], [Float], [Float], [UInt16]) {
        let pool = WorkerPool(threads: threads)
        defer { pool.shutdown() }
        var p = p0
        var out = [UInt16](repeating: 0, count: p0.count)
        let moments = AdamWMoments(count: p0.count)
        let adamw = AdamW(AdamWHyperparameters(weightDecay: 0.1))
        for step in 0..<3 {
            p.withUnsafeMutableBufferPointer { pp in
                out.withUnsafeMutableBufferPointer { o in
                    if let bf16Gradients {
                        bf16Gradients.withUnsafeBufferPointer { gg in
                            adamw.update(params: pp.baseAddress!, gradients: .bf16(gg.baseAddress!), moments: moments, segments: segments,
                                         learningRate: 1e-3 * Double(step + 1), gradScale: 0.5, bf16Output: o.baseAddress!, pool: pool)
                        }
                    } else {
                        g.withUnsafeBufferPointer { gg in
                            adamw.update(params: pp.baseAddress!, gradients: .f32(gg.baseAddress!), moments: moments, segments: segments,
                                         learningRate: 1e-3 * Double(step + 1), gradScale: 0.5, bf16Output: o.baseAddress!, pool: pool)
                        }
                    }
                }
            }
        }
        return (p, Array(UnsafeBufferPointer(start: moments.expAvg, count: p0.count)),
                Array(UnsafeBufferPointer(start: moments.expAvgSq, count: p0.count)), out)
    }

    /// Results are bit-identical whatever the thread count and wherever segments are cut.
    func testThreadCountAndChunkingDoNotChangeResults() {
        let n = 3 * OptimizerSegments.chunkElements + 1234
        let (p0, g) = randomState(n, seed: 7)
        let whole = OptimizerSegments([DecaySegment(0..<n, decays: true)])
        let cut = OptimizerSegments([DecaySegment(0..<5, decays: true), DecaySegment(5..<40_001, decays: true), DecaySegment(40_001..<n, decays: true)])
        let a = runUpdates(threads: 1, segments: whole, p0: p0, g: g)
        let b = runUpdates(threads: 3, segments: cut, p0: p0, g: g)
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
        XCTAssertEqual(a.2, b.2)
        XCTAssertEqual(a.3, b.3)
        XCTAssertNotEqual(a.0, p0)
    }

    /// bf16 gradients give exactly the result of fp32 gradients holding the same values.
    func testBF16GradientsEqualWidenedFP32Gradients() {
        let n = OptimizerSegments.chunkElements + 77
        let (p0, g) = randomState(n, seed: 9)
        let gBF16 = g.map(bf16Bits)
        let widened = gBF16.map { Float(bitPattern: UInt32($0) << 16) }
        let segments = OptimizerSegments([DecaySegment(0..<n, decays: false)])
        let a = runUpdates(threads: 2, segments: segments, p0: p0, g: widened)
        let b = runUpdates(threads: 2, segments: segments, p0: p0, g: g, bf16Gradients: gBF16)
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
        XCTAssertEqual(a.2, b.2)
    }

    /// Decay applies exactly to ≥2-D tensors of a real layer layout.
    func testSegmentsFromLayerLayoutSkipGapsAndDecayMatricesOnly() {
        let slots = [
            TensorSlot(name: "input_layernorm.weight", shape: [10], offset: 0),
            TensorSlot(name: "self_attn.q_proj.weight", shape: [10, 10], offset: 64),
            TensorSlot(name: "self_attn.q_proj.bias", shape: [10], offset: 192),
        ]
        let s = OptimizerSegments(slots)
        XCTAssertEqual(s.segments, [DecaySegment(0..<10, decays: false), DecaySegment(64..<164, decays: true), DecaySegment(192..<202, decays: false)])
        XCTAssertEqual(s.elementCount, 120)
        XCTAssertEqual(s.extent, 202)
    }

    func testHyperparameterValidation() {
        XCTAssertNoThrow(try AdamWHyperparameters(weightDecay: 0.1).validate())
        XCTAssertThrowsError(try AdamWHyperparameters(beta1: 1).validate())
        XCTAssertThrowsError(try AdamWHyperparameters(beta2: -0.1).validate())
        XCTAssertThrowsError(try AdamWHyperparameters(eps: -1).validate())
        XCTAssertThrowsError(try AdamWHyperparameters(weightDecay: .nan).validate())
    }
}

/// Deterministic normal samples for self-consistency tests (SplitMix64 + Box-Muller).
extension SplitMix64 {
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func normal() -> Float {
        let u = max(uniform(), 1e-300), v = uniform()
        return Float((-2 * log(u)).squareRoot() * cos(2 * Double.pi * v))
    }
}
