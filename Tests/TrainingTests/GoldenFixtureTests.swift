import ModelFormats
import Support
import TestSupport
import XCTest
@testable import Training

/// The golden reference folders (scripts/make_reference.py, docs/golden-reference.md) load with
/// this project's config and safetensors readers and hold every tensor the trainer tests need.
final class GoldenFixtureTests: XCTestCase {
    static let models: [(name: String, family: ModelConfig.Family)] = [
        ("llama_tied_rope3", .llama), ("llama_untied_bias", .llama), ("qwen2", .qwen2), ("qwen3", .qwen3), ("mistral", .mistral),
    ]

    func testFoldersAreCompleteAndConsistent() throws {
        for (name, family) in Self.models {
            let dir = TestPaths.fixture("golden/" + name)
            let config = try ModelConfig.load(path: dir + "/config.json")
            XCTAssertEqual(config.family, family, name)
            let layout = ModelLayout(config)
            var names = [layout.embedding, layout.finalNorm].map { ($0.name, $0.shape) }
            if let head = layout.lmHead { names.append((head.name, head.shape)) }
            for layer in 0..<config.numLayers {
                names += layout.layer.tensors.map { (LayerLayout.hfName(layer: layer, $0.name), $0.shape) }
            }
            let model = try SafeTensorsFile(path: dir + "/model.safetensors")
            let reference = try SafeTensorsFile(path: dir + "/reference.safetensors")
            XCTAssertEqual(Set(model.tensors.map(\.name)), Set(names.map(\.0)), "\(name): model tensors = layout tensors")
            for (tensor, shape) in names {
                XCTAssertEqual(model.info(tensor)?.shape, shape, "\(name) \(tensor)")
                XCTAssertEqual(reference.info("grad." + tensor)?.shape, shape, "\(name) grad.\(tensor)")
                XCTAssertEqual(reference.info("final." + tensor)?.shape, shape, "\(name) final.\(tensor)")
            }
            let meta = try readJSONFile(dir + "/reference.json")
            let b = try XCTUnwrap(meta["batch"]?["B"]?.int), t = try XCTUnwrap(meta["batch"]?["T"]?.int)
            XCTAssertEqual(reference.info("logits")?.shape, [b, t, config.vocabSize])
            XCTAssertEqual(reference.info("input_ids")?.shape, [b, t])
            let train = try XCTUnwrap(meta["train"])
            let steps = try XCTUnwrap(train["steps"]?.int), micro = try XCTUnwrap(train["micro_batches"]?.int)
            XCTAssertEqual(reference.info("train.labels")?.shape, [steps, micro, b, t])
            XCTAssertEqual(try reference.floats("train.losses").count, steps)

            // The run's learning rates are this project's schedule's.
            let s = try XCTUnwrap(train["schedule"])
            let schedule = LearningRateSchedule(
                kind: try XCTUnwrap(LearningRateSchedule.Kind(rawValue: s["kind"]?.string ?? "")),
                peak: try XCTUnwrap(train["lr"]?.double), warmupSteps: try XCTUnwrap(s["warmup_steps"]?.int),
                totalSteps: try XCTUnwrap(s["total_steps"]?.int), minLR: try XCTUnwrap(s["min_lr"]?.double))
            for (k, lr) in try XCTUnwrap(train["lrs"]?.array).enumerated() {
                let expected = try XCTUnwrap(lr.double)
                XCTAssertEqual(schedule.learningRate(stepsTaken: k), expected, accuracy: 4 * expected.ulp, "\(name) lr \(k)")
            }
            // Clipping was active at every step (the test of the clipped path is not vacuous).
            let maxNorm = try XCTUnwrap(train["max_grad_norm"]?.double)
            for norm in try XCTUnwrap(train["grad_norms"]?.array) { XCTAssertGreaterThan(try XCTUnwrap(norm.double), maxNorm) }
        }
    }
}
