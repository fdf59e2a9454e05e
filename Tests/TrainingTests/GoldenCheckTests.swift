#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Backends
import Support
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

    /// A bf16 device's bounds come from reference.json's record of PyTorch's own bf16 deviation:
    /// without it the check refuses to run, naming the file and the field.
    func testBF16BoundsNeedTheAutocastDeviation() throws {
        let folder = try TestPaths.temporaryDirectory() + "/qwen2"
        try FileManager.default.copyItem(atPath: TestPaths.fixture("golden/qwen2"), toPath: folder)
        var json = try readJSONFile(folder + "/reference.json")
        guard case .object(var object) = json else { return XCTFail("reference.json is not an object") }
        object["bf16_autocast"] = nil
        json = .object(object)
        try AtomicOutput.write(json.serialized(.init(indent: 1)), to: folder + "/reference.json")
        let device = ComputeDevice(backend: CPUBackend(threads: 1), storage: .bf16, description: "cpu bf16")
        XCTAssertThrowsError(try GoldenCheck(device: device).run(directory: folder + "/..") { _ in }) { error in
            XCTAssertTrue("\(error)".contains("reference.json") && "\(error)".contains("bf16_autocast"), "\(error)")
        }
    }

    func testAFolderWithoutReferencesIsAnError() throws {
        let device = ComputeDevice(backend: CPUBackend(threads: 1), storage: .f32, description: "cpu")
        let empty = try TestPaths.temporaryDirectory()
        XCTAssertThrowsError(try GoldenCheck(device: device).run(directory: empty) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("no golden model folders"), "\(error)")
        }
    }
}
