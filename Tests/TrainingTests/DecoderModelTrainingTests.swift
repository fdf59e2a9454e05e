import Backends
import ModelFormats
import Support
import XCTest
@testable import Training

/// The 5-step training run of each golden model against PyTorch: 2 micro-batches per step
/// accumulated with the step's token-mean normalization, global-norm clipping, AdamW with a
/// cosine warm-up schedule. Driven here with the optimizer's pieces directly.
final class DecoderModelTrainingTests: XCTestCase {
    // Per-step losses are forward results of weights that already went through updates:
    // fp32 summation-order differences (~1e-7) stay ~1e-6 after 5 steps.
    static let lossTolerance = 1e-5
    static let gradNormTolerance = 1e-5
    // Adam divides by sqrt(v): elements with tiny gradients amplify relative differences in
    // their update, so final weights get the gradients' bound, not the loss's.
    static let weightTolerance = 1e-4
    // Except k_proj.bias under RoPE: a constant added to every key of a query's row leaves
    // the softmax unchanged, so the bias components in the slowest RoPE pair (nearly constant
    // over 16 positions) get gradients ~1e-5 of the tensor's norm, at the fp32 rounding floor
    // of their sums (a few % apart from PyTorch's, on both sides). Adam divides by sqrt(v), so
    // those elements still step by O(lr) and carry that difference: measured ~2e-4 after
    // 5 steps, while every other tensor stays near 1e-7.
    static let keyBiasWeightTolerance = 1e-3

    func testFiveStepsWithAccumulationAndClippingMatchPyTorch() throws {
        let backend = CPUBackend(threads: 2)
        for name in GoldenReference.modelNames {
            let golden = try GoldenReference(name)
            let train = try XCTUnwrap(golden.json["train"], "\(name): reference.json has no train")
            let shape = try golden.shape("train.input_ids")   // (steps, micro-batches, B, T)
            let (steps, micro, batch, seqLen) = (shape[0], shape[1], shape[2], shape[3])
            let ids = try golden.tokens("train.input_ids"), labels = try golden.tokens("train.labels")
            let referenceLosses = try golden.trainDoubles("losses")
            let referenceNorms = try golden.trainDoubles("grad_norms")

            let betas = try XCTUnwrap(train["betas"]?.array)
            let adamw = AdamW(AdamWHyperparameters(
                beta1: try XCTUnwrap(betas[0].double), beta2: try XCTUnwrap(betas[1].double),
                eps: try XCTUnwrap(train["eps"]?.double), weightDecay: try XCTUnwrap(train["weight_decay"]?.double)))
            let scheduleJSON = try XCTUnwrap(train["schedule"])
            let schedule = LearningRateSchedule(
                kind: try XCTUnwrap(scheduleJSON["kind"]?.string.flatMap(LearningRateSchedule.Kind.init)),
                peak: try XCTUnwrap(train["lr"]?.double),
                warmupSteps: try XCTUnwrap(scheduleJSON["warmup_steps"]?.int),
                totalSteps: try XCTUnwrap(scheduleJSON["total_steps"]?.int),
                minLR: try XCTUnwrap(scheduleJSON["min_lr"]?.double))
            let maxNorm = try XCTUnwrap(train["max_grad_norm"]?.double)

            let weights = golden.weights, layout = weights.layout
            let gradients = HostParameters(config: weights.config)
            let model = try DecoderModel(layout: layout, backend: backend, maxBatch: batch, maxSeqLen: seqLen)
            // Per flat buffer: its parameters, gradients, decay segments and AdamW moments.
            let buffers = zip(trainableBuffers(weights), trainableBuffers(gradients)).map {
                (params: $0.buffer, grads: $1.buffer, segments: OptimizerSegments($0.tensors),
                 moments: AdamWMoments(count: $0.buffer.count))
            }

            var worstLoss = 0.0, worstNorm = 0.0
            for step in 0..<steps {
                let rows = batch * seqLen
                let batches = (0..<micro).map { m in
                    let start = (step * micro + m) * rows
                    return (ids: Array(ids[start..<(start + rows)]), labels: Array(labels[start..<(start + rows)]))
                }
                let normalization = StepNormalization(targetCounts: batches.map { targetCount(labels: $0.labels, seqLen: seqLen) })
                model.loadParameters(weights)
                model.zeroGradients()
                var lossSum = 0.0
                for b in batches {
                    lossSum += try model.forwardBackward(inputIds: b.ids, labels: b.labels, batch: batch, seqLen: seqLen,
                                                         lossScale: normalization.lossScale)
                }
                let loss = lossSum / Double(normalization.totalTargets)
                let lossError = abs(loss - referenceLosses[step]) / referenceLosses[step]
                XCTAssertLessThanOrEqual(lossError, Self.lossTolerance, "\(name): loss of step \(step)")
                worstLoss = max(worstLoss, lossError)

                model.readGradients(into: gradients)
                let norm = GradientClipping.totalNorm(sumsOfSquares: buffers.map {
                    GradientClipping.sumOfSquares($0.grads.pointer.baseAddress!, segments: $0.segments, pool: backend.pool)
                })
                let normError = abs(norm - referenceNorms[step]) / referenceNorms[step]
                XCTAssertLessThanOrEqual(normError, Self.gradNormTolerance, "\(name): gradient norm of step \(step)")
                worstNorm = max(worstNorm, normError)
                let coefficient = GradientClipping.coefficient(totalNorm: norm, maxNorm: maxNorm)
                for b in buffers {
                    adamw.update(params: b.params.pointer.baseAddress!, gradients: .f32(b.grads.pointer.baseAddress!),
                                 moments: b.moments, segments: b.segments,
                                 learningRate: schedule.learningRate(stepsTaken: step), gradScale: coefficient,
                                 pool: backend.pool)
                }
            }
            var worst = (other: (error: 0.0, tensor: ""), keyBias: 0.0)
            for t in weights.namedTensors {
                let error = relativeL2Error(t.values, try golden.floats("final." + t.name))
                let keyBias = t.name.hasSuffix("self_attn.k_proj.bias")
                XCTAssertLessThanOrEqual(error, keyBias ? Self.keyBiasWeightTolerance : Self.weightTolerance,
                                         "\(name): final \(t.name)")
                if keyBias {
                    worst.keyBias = max(worst.keyBias, error)
                } else if error > worst.other.error {
                    worst.other = (error, t.name)
                }
            }
            print("training \(name): worst step loss \(worstLoss), grad norm \(worstNorm), final weight \(worst.other.error) (\(worst.other.tensor)), k_proj.bias \(worst.keyBias)")
        }
    }

    /// Every flat buffer of a model with the tensors it holds (a tied head has none of its own).
    private func trainableBuffers(_ p: HostParameters) -> [(buffer: FloatBuffer, tensors: [TensorSlot])] {
        let layout = p.layout
        var out = p.layers.map { ($0, layout.layer.tensors) }
        out.append((p.embedding, [layout.embedding]))
        out.append((p.finalNorm, [layout.finalNorm]))
        if let head = p.lmHead, let slot = layout.lmHead { out.append((head, [slot])) }
        return out
    }
}
