#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ModelFormats
import Support
import XCTest
@testable import Training

final class TrainerOutputTests: XCTestCase {
    func testOutputFolderHoldsALoadableModelEqualToTheRoundedMasters() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        let result = try f.run(f.options(output: "out", steps: 3))
        let out = f.root + "/out"
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        XCTAssertEqual(files, ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                               "metrics.csv", "loss_curve.svg", "checkpoints"])
        XCTAssertEqual(result.checkpoint, out + "/checkpoints/step-000003")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: out + "/checkpoints/step-000003")),
                       ["config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json"])
        XCTAssertEqual(try readFileBytes(out + "/tokenizer.json"), try readFileBytes(f.model + "/tokenizer.json"))

        // The saved model is bf16 and equals the trainer's fp32 masters rounded to nearest even.
        let saved = try SafeTensorsModel(directory: out)
        XCTAssertEqual(saved.info("model.norm.weight")?.dtype, .bf16)
        let model = try ModelWeights.load(directory: out)
        let masters = try ModelWeights.load(directory: out + "/checkpoints/step-000003")
        XCTAssertEqual(model.config, TrainerFixture.config)
        let initial = try ModelWeights.load(directory: f.model)
        var changed = 0
        for ((name, _, got), ((_, _, master), (_, _, start))) in zip(model.namedTensors, zip(masters.namedTensors, initial.namedTensors)) {
            for i in got.indices {
                XCTAssertEqual(got[i].bitPattern, BFloat16.toFloat(BFloat16.fromFloat(master[i])).bitPattern, "\(name)[\(i)]")
                if master[i] != start[i] { changed += 1 }
            }
        }
        XCTAssertGreaterThan(changed, masters.namedTensors.reduce(0) { $0 + $1.values.count } / 2, "training moved the weights")

        let state = try Checkpoint.readState(out + "/checkpoints/step-000003")
        XCTAssertEqual(state.step, 3)
        XCTAssertEqual(state.settings.first { $0.flag == "--grad-accum" }?.value, "2")
        let svg = String(decoding: try readFileBytes(out + "/loss_curve.svg"), as: UTF8.self)
        XCTAssertTrue(svg.contains("<polyline"))
    }

    func testMetricsColumnsFollowTheScheduleAndTokenCounts() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        let o = f.options(output: "out", steps: 5)
        _ = try f.run(o)
        let text = String(decoding: try readFileBytes(f.root + "/out/metrics.csv"), as: UTF8.self)
        XCTAssertEqual(text.split(separator: "\n").first, "step,loss,lr,grad_norm,tokens,tokens_per_s,elapsed_s")
        let rows = try MetricsLog.read(f.root + "/out/metrics.csv")
        XCTAssertEqual(rows.map(\.step), [1, 2, 3, 4, 5])
        let schedule = o.schedule(totalSteps: 5)
        for (i, r) in rows.enumerated() {
            XCTAssertEqual(r.lr, schedule.learningRate(stepsTaken: i))
            XCTAssertEqual(r.tokens, 2 * 2 * 16)
            XCTAssertTrue(r.loss.isFinite && r.gradNorm > 0 && r.tokensPerSecond > 0)
            if i > 0 { XCTAssertGreaterThanOrEqual(r.elapsedSeconds, rows[i - 1].elapsedSeconds) }
        }
        XCTAssertEqual(rows[0].lr, 0, "warm-up starts at lr 0 like transformers")
    }
}
