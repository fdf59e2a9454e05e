#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ModelFormats
import Support
import TestSupport
import Tokenization
import XCTest
@testable import Training

final class TrainerDemoTests: XCTestCase {
    func testDemoTokenizerIsByteLevelWithEndOfText() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        let tokenizer = try Tokenizer(path: f.model)
        XCTAssertEqual(tokenizer.vocabularySize, 257)
        XCTAssertEqual(tokenizer.eosTokenId, 256)
        let text = "Héllo, world!\n  tabs\tand ünïcödé 🙂"
        let ids = tokenizer.encode(text, addSpecialTokens: true)
        XCTAssertEqual(ids, Array(text.utf8).map { Int32($0) })
        XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true), text)
        XCTAssertEqual(tokenizer.encode("a<|endoftext|>b", addSpecialTokens: false), [97, 256, 98])
    }

    func testDemoInitIsSeededWithHuggingFaceScale() {
        let a = DemoModel.initialWeights(seed: 1), b = DemoModel.initialWeights(seed: 1)
        let embedding = Array(a.embedding.pointer)
        XCTAssertEqual(embedding, Array(b.embedding.pointer))
        let mean = embedding.reduce(0, +) / Float(embedding.count)
        let std = (embedding.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(embedding.count)).squareRoot()
        XCTAssertEqual(std, 0.02, accuracy: 0.001)
        XCTAssertTrue(Array(a.finalNorm.pointer).allSatisfy { $0 == 1 })
    }

    func testSamplingIsDeterministicForASeed() throws {
        let f = try TrainerFixture()
        defer { f.remove() }
        let weights = try ModelWeights.load(directory: f.model)
        let model = try TrainOptions.Device.cpu.modelFactory()(weights.layout, 1, 8)
        try model.loadParameters(weights)
        let sampler = TextSampler(temperature: 0.8, seed: 5)
        let a = try sampler.generate(model, prompt: [72, 105], maxNewTokens: 12, window: 8, stopToken: nil)
        let b = try sampler.generate(model, prompt: [72, 105], maxNewTokens: 12, window: 8, stopToken: nil)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 12)
        let greedy = try TextSampler(temperature: 0, seed: 0).generate(model, prompt: [72, 105], maxNewTokens: 1, window: 8, stopToken: nil)
        let logits = try model.lastLogits(inputIds: [72, 105], seqLen: 2)
        XCTAssertEqual(Int(greedy[0]), logits.indices.max { logits[$0] < logits[$1] })
    }
}

final class TrainerDemoRunTests: XCTestCase {
    func testDemoWritesTheTrainOutputFolderAndSamples() throws {
        let root = try TestPaths.temporaryDirectory("demo")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try Demo.run(output: root + "/out", steps: 3, log: { _ in })
        XCTAssertEqual(r.train.step, 3)
        XCTAssertTrue(r.firstLoss.isFinite && r.lastLoss < r.firstLoss)
        XCTAssertFalse(r.sample.isEmpty)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: root + "/out")),
                       ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                        "metrics.csv", "loss_curve.svg", "checkpoints"])
        // Running it again replaces the previous demo run.
        XCTAssertEqual(try Demo.run(output: root + "/out", steps: 2, log: { _ in }).train.step, 2)
    }
}
