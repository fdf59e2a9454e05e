#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Support
import TestSupport
import XCTest
@testable import Training

final class OptimCheckpointTests: XCTestCase {
    func makeMoments(_ count: Int, step: Int, seed: Float) -> AdamWMoments {
        let m = AdamWMoments(count: count)
        for i in 0..<count {
            m.expAvg[i] = seed + Float(i)
            m.expAvgSq[i] = seed * 2 + Float(i)
        }
        m.step = step
        return m
    }

    func contents(_ m: AdamWMoments) -> [Float] {
        Array(UnsafeBufferPointer(start: m.expAvg, count: m.count)) + Array(UnsafeBufferPointer(start: m.expAvgSq, count: m.count))
    }

    func testRoundTrip() throws {
        let dir = try TestPaths.temporaryDirectory("optim-ckpt")
        let path = dir + "/optimizer.safetensors"
        let a = makeMoments(100, step: 7, seed: 1), b = makeMoments(3, step: 2, seed: -5)
        try OptimizerCheckpoint.save([("layer.0", a), ("embedding", b)], hyperparameters: AdamWHyperparameters(weightDecay: 0.1), to: path)
        let a2 = AdamWMoments(count: 100), b2 = AdamWMoments(count: 3)
        try OptimizerCheckpoint.load([("embedding", b2), ("layer.0", a2)], from: path)
        XCTAssertEqual(contents(a2), contents(a))
        XCTAssertEqual(contents(b2), contents(b))
        XCTAssertEqual(a2.step, 7)
        XCTAssertEqual(b2.step, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["optimizer.safetensors"], "no temporary left")
    }

    func testBadFilesNameTheProblemAndChangeNothing() throws {
        let dir = try TestPaths.temporaryDirectory("optim-ckpt-bad")
        let path = dir + "/optimizer.safetensors"
        try OptimizerCheckpoint.save([("a", makeMoments(10, step: 3, seed: 1))], hyperparameters: AdamWHyperparameters(), to: path)
        let good = try readFileBytes(path)

        func expectError(_ bytes: [UInt8]?, buffers: [(String, Int)] = [("a", 10)], _ fragment: String, line: UInt = #line) throws {
            if let bytes { try AtomicOutput.write(bytes, to: path) }
            let targets = buffers.map { (name: $0.0, moments: makeMoments($0.1, step: 99, seed: 42)) }
            let before = targets.map { contents($0.moments) }
            XCTAssertThrowsError(try OptimizerCheckpoint.load(targets, from: path), line: line) { error in
                XCTAssertTrue(error is InputError, "\(error)", line: line)
                XCTAssertTrue("\(error)".contains(fragment), "\(error)", line: line)
                XCTAssertTrue("\(error)".contains(path), "\(error)", line: line)
            }
            XCTAssertEqual(targets.map { contents($0.moments) }, before, line: line)
            XCTAssertEqual(targets.map(\.moments.step), targets.map { _ in 99 }, line: line)
        }
        try expectError(Array(good.prefix(5)), "truncated")
        try expectError(Array(good.prefix(40)), "header length")
        try expectError(Array(good.dropLast(4)), "run past the end")
        var garbled = good
        garbled[9] = UInt8(ascii: "]")
        try expectError(garbled, "header")
        try expectError(good, buffers: [("a", 11)], "expected F32 [11]")
        try expectError(good, buffers: [("a", 10), ("b", 4)], "b.step")
        var header = [UInt8]("{\"__metadata__\":{\"format\":\"other\"}}".utf8)
        var length = UInt64(header.count).littleEndian
        header = withUnsafeBytes(of: &length) { Array($0) } + header
        try expectError(header, "not an optimizer state file")
        try expectError(nil, buffers: [("a", 10)], "not an optimizer state file")  // same file again
        XCTAssertThrowsError(try OptimizerCheckpoint.load([], from: dir + "/missing"))
    }

    func testSaveIntoMissingFolderLeavesNothing() {
        XCTAssertThrowsError(try OptimizerCheckpoint.save([("a", AdamWMoments(count: 1))], hyperparameters: AdamWHyperparameters(),
                                                          to: "/nonexistent-slideformer-dir/optimizer.safetensors"))
    }
}
