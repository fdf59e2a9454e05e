import XCTest
import CCUDA
@testable import CUDABackend

/// The file of timed GEMM algorithms: what is recorded is read back by the next run, lines that
/// do not parse are passed over, and the file name separates GPUs, libraries and workspaces.
final class GemmAlgorithmStoreTests: XCTestCase {
    func shape(m: Int, transA: Bool = false) -> MatmulRunner.Shape {
        MatmulRunner.Shape(transA: transA, transB: true, m: m, n: 4096, k: 14336, abType: Int32(CCUDA_R_16BF),
                           cType: Int32(CCUDA_R_32F), alignment: 256)
    }

    func algorithm(_ seed: UInt64) -> cublasLtMatmulAlgo_t {
        var a = cublasLtMatmulAlgo_t()
        a.data = (seed, ~seed, seed << 7, 0, 1, UInt64.max, seed &* 31, 42)
        return a
    }

    func words(_ a: cublasLtMatmulAlgo_t?) -> [UInt64] {
        guard let d = a?.data else { return [] }
        return [d.0, d.1, d.2, d.3, d.4, d.5, d.6, d.7]
    }

    func testRecordedAlgorithmsAreReadBackByTheNextStore() throws {
        let dir = NSTemporaryDirectory() + "gemm-store-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["SLIDEFORMER_CACHE": dir]
        let first = GemmAlgorithmStore.forDevice(name: "GPU", architecture: "sm_90", blasVersion: 130_000,
                                                 workspaceBytes: 1 << 25, environment: env)
        XCTAssertTrue(first.path?.hasPrefix(dir + "/gemm/") ?? false)
        first.record(algorithm(3), for: shape(m: 8192))
        first.record(algorithm(5), for: shape(m: 8192, transA: true))

        let again = GemmAlgorithmStore.forDevice(name: "GPU", architecture: "sm_90", blasVersion: 130_000,
                                                 workspaceBytes: 1 << 25, environment: env)
        XCTAssertEqual(words(again.algorithm(for: shape(m: 8192))), words(algorithm(3)))
        XCTAssertEqual(words(again.algorithm(for: shape(m: 8192, transA: true))), words(algorithm(5)))
        XCTAssertNil(again.algorithm(for: shape(m: 4096)))

        for other in [GemmAlgorithmStore.forDevice(name: "GPU", architecture: "sm_90", blasVersion: 130_001,
                                                   workspaceBytes: 1 << 25, environment: env),
                      GemmAlgorithmStore.forDevice(name: "GPU", architecture: "sm_90", blasVersion: 130_000,
                                                   workspaceBytes: 1 << 24, environment: env),
                      GemmAlgorithmStore.forDevice(name: "Other GPU", architecture: "sm_90", blasVersion: 130_000,
                                                   workspaceBytes: 1 << 25, environment: env)] {
            XCTAssertNotEqual(other.path, again.path)
            XCTAssertNil(other.algorithm(for: shape(m: 8192)))
        }
    }

    func testLinesThatDoNotParseArePassedOver() {
        let good = GemmAlgorithmStore.serialize([shape(m: 64): algorithm(9)])
        let text = good + "1 0 64 4096\n" + "2 1 64 4096 14336 14 0 256 0 0 0 0 0 0 0 0\n"
            + "0 1 64 4096 14336 14 0 256 zz 0 0 0 0 0 0 0\n"
        let parsed = GemmAlgorithmStore.parse(text)
        XCTAssertEqual(parsed.count, 1)
        XCTAssertEqual(words(parsed[shape(m: 64)]), words(algorithm(9)))
    }
}
