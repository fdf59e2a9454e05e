import XCTest
@testable import CUDABackend
import TestSupport

/// Compiles every kernel module with NVRTC for sm_80 and sm_90: no GPU or driver needed, only
/// libnvrtc (`pip install nvidia-cuda-nvrtc-cu12`); skipped with a message where it is absent.
final class KernelCompileTests: XCTestCase {
    func loadNVRTC() throws -> NVRTCAPI {
        do {
            return try CUDALibraries.loadCompiler()
        } catch {
            throw XCTSkip("libnvrtc not found, kernels not compiled (pip install nvidia-cuda-nvrtc-cu12): \(error)")
        }
    }

    func testEveryKernelCompilesForAmpereAndHopper() throws {
        let nvrtc = try loadNVRTC()
        let results = try KernelCatalog.compileAll(architectures: ["sm_80", "sm_90"], nvrtc: nvrtc)
        XCTAssertEqual(results.count, KernelCatalog.modules().count * 2)
        for r in results { XCTAssertGreaterThan(r.bytes, 1000, "\(r.module) \(r.arch): implausibly small CUBIN") }
    }

    func testCompileErrorCarriesTheLog() throws {
        let nvrtc = try loadNVRTC()
        XCTAssertThrowsError(try nvrtc.compile(source: "extern \"C\" __global__ void broken() { undefined_name(); }",
                                               name: "broken.cu", arch: "sm_80")) { error in
            XCTAssertTrue("\(error)".contains("undefined_name"), "\(error)")
        }
    }

    func testCacheStoresAndReusesCubins() throws {
        let nvrtc = try loadNVRTC()
        let dir = try TestPaths.temporaryDirectory()
        let cache = KernelCache(environment: ["SLIDEFORMER_CACHE": dir])
        let source = "extern \"C\" __global__ void k(float* p) { p[threadIdx.x] = 1.0f; }"
        let first = try cache.cubin(source: source, name: "tiny", arch: "sm_80", nvrtc: nvrtc)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/kernels")
        XCTAssertEqual(files.count, 1)
        XCTAssertTrue(files[0].hasPrefix("tiny-sm_80-"), files[0])
        // A changed file on disk is what the next lookup returns: proof it came from the cache.
        var tampered = first
        tampered[tampered.count - 1] ^= 0xFF
        try Data(tampered).write(to: URL(fileURLWithPath: dir + "/kernels/" + files[0]))
        XCTAssertEqual(try cache.cubin(source: source, name: "tiny", arch: "sm_80", nvrtc: nvrtc), tampered)
        XCTAssertNotEqual(KernelCache.key(source, "sm_80", nvrtc.version), KernelCache.key(source, "sm_90", nvrtc.version))
    }
}
