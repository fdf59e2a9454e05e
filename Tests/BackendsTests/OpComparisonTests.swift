import XCTest
@testable import Backends

/// The op-comparison harness itself, run with the CPU backend on both sides (f32 only: the CPU
/// backend stores f32): every case runs, agrees exactly, writes every output.
final class OpComparisonTests: XCTestCase {
    func testCPUAgainstItselfPassesEveryOp() throws {
        let comparison = OpComparison(reference: CPUBackend(threads: 2), candidate: CPUBackend(threads: 2),
                                      seed: UInt64.random(in: 0...UInt64.max))
        let results = try comparison.run(storages: [.f32])
        XCTAssertEqual(results.map(\.op), OpComparison.opNames)
        for r in results {
            XCTAssertTrue(r.passed, OpComparison.tableLine(r))
            XCTAssertEqual(r.error, 0, OpComparison.tableLine(r))
        }
    }

    func testFilterMatchingNothingIsAnError() {
        XCTAssertThrowsError(try OpComparison.checkFilter("no_such_op")) { error in
            XCTAssertTrue("\(error)".contains("no op matches 'no_such_op'"), "\(error)")
        }
        XCTAssertNoThrow(try OpComparison.checkFilter("attention"))
        XCTAssertNoThrow(try OpComparison.checkFilter(nil))
    }

    func testUnwrittenOutputsAndWrongValuesFail() {
        let unwritten = OpComparison.Result(op: "x", storage: .f32, error: 0, unwritten: 1, nonFinite: 0, worstOutput: "out")
        let inexact = OpComparison.Result(op: "x", storage: .f32, error: 2e-5, unwritten: 0, nonFinite: 0, worstOutput: "out")
        let bf16 = OpComparison.Result(op: "x", storage: .bf16, error: 2e-5, unwritten: 0, nonFinite: 0, worstOutput: "out")
        XCTAssertFalse(unwritten.passed)
        XCTAssertFalse(inexact.passed)
        XCTAssertTrue(bf16.passed)
    }
}
