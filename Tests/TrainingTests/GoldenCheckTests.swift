import Backends
import TestSupport
import XCTest
@testable import Training

/// `slideformer selftest --golden` on the CPU: the forward/backward and five training steps
/// through `DeviceTrainingState` (the optimizer path the trainer takes on every backend) match
/// PyTorch within the f32 bounds, for every family.
final class GoldenCheckTests: XCTestCase {
    func testEveryGoldenModelPassesOnTheCPU() throws {
        let device = ComputeDevice(backend: CPUBackend(threads: 2), storage: .f32, description: "cpu")
        var printed: [String] = []
        let (lines, skipped) = try GoldenCheck(device: device).run(directory: TestPaths.fixture("golden")) {
            printed.append(GoldenCheck.format($0))
        }
        XCTAssertEqual(skipped, [])
        print(printed.joined(separator: "\n"))
        XCTAssertEqual(Set(lines.map(\.model)), Set(GoldenReference.modelNames))
        XCTAssertGreaterThanOrEqual(lines.count, 6 * GoldenReference.modelNames.count)
        for l in lines { XCTAssertTrue(l.passed, GoldenCheck.format(l)) }
    }

    func testAFolderWithoutReferencesIsAnError() throws {
        let device = ComputeDevice(backend: CPUBackend(threads: 1), storage: .f32, description: "cpu")
        let empty = try TestPaths.temporaryDirectory()
        XCTAssertThrowsError(try GoldenCheck(device: device).run(directory: empty) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("no golden model folders"), "\(error)")
        }
    }
}
