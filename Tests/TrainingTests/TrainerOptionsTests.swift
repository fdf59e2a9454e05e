#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ModelFormats
import Support
import Tokenization
import XCTest
@testable import Training

final class TrainerOptionsTests: XCTestCase {
    private func assertRefused(_ options: TrainOptions, _ f: TrainerFixture, mentions text: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try f.run(options), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(text), "\(error)", file: file, line: line)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: options.outputDirectory), "nothing written", file: file, line: line)
    }

    func testBadFlagsAreRefusedBeforeAnythingIsWritten() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        var o = f.options(output: "out")
        o.gradAccum = 0
        assertRefused(o, f, mentions: "--grad-accum must be at least 1")
        o = f.options(output: "out")
        o.data.seqLen = 65
        assertRefused(o, f, mentions: "--seq-len 65 exceeds the model's max_position_embeddings (64)")
        o = f.options(output: "out")
        o.minLearningRate = 1
        assertRefused(o, f, mentions: "min lr")
        o = f.options(output: "out")
        o.length = .epochs(0)
        assertRefused(o, f, mentions: "--epochs must be greater than 0")
        o = f.options(output: "out")
        o.adamW.beta2 = 1
        assertRefused(o, f, mentions: "beta2")
    }

    func testEpochsGiveCeilOfMicroBatchesOverAccumulation() {
        var o = TrainOptions.defaults
        o.gradAccum = 4
        o.length = .epochs(1)
        XCTAssertEqual(o.totalSteps(batchesPerEpoch: 10), 3)
        o.length = .epochs(2.5)
        XCTAssertEqual(o.totalSteps(batchesPerEpoch: 10), 7)
        o.length = .steps(5)
        XCTAssertEqual(o.totalSteps(batchesPerEpoch: 10), 5)
    }

    func testAPlanLargerThanTheHostIsRefused() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        let o = f.options(output: "out")
        var logged: [String] = []
        let trainer = Trainer(options: o, encoder: try Tokenizer(path: f.model), chatTemplate: nil,
                              engines: ResidentEngineBuilder(makeModel: try o.device.modelFactory()), availableMemory: 100_000, log: { logged.append($0) })
        XCTAssertThrowsError(try trainer.run()) { error in
            XCTAssertTrue("\(error)".contains("not enough memory"), "\(error)")
            XCTAssertTrue("\(error)".contains("AdamW moments"), "the refusal shows the plan")
        }
        XCTAssertTrue(logged.contains { $0.hasPrefix("memory plan:") })
        XCTAssertFalse(FileManager.default.fileExists(atPath: o.outputDirectory))
    }

    func testPlanCountsEveryCategory() {
        let layout = ModelLayout(TrainerFixture.config)
        let plan = MemoryPlan(layout: layout, batchSize: 2, seqLen: 16, documents: 10)
        XCTAssertEqual(plan.parameters, layout.parameterCount)
        let fp32 = 4 * (2 * layout.layer.count + 2 * layout.embedding.count + layout.finalNorm.count)
        XCTAssertEqual(plan.items.map(\.bytes)[0..<4], [fp32, 2 * fp32, 2 * fp32, 2 * fp32])
        XCTAssertEqual(plan.items.last?.bytes, 80)
        XCTAssertNoThrow(try plan.check(availableBytes: plan.totalBytes))
        XCTAssertThrowsError(try plan.check(availableBytes: plan.totalBytes - 1))
        XCTAssertNotNil(MemoryPlan.availableHostBytes())
    }
}
