import Glibc
import CCUDA

/// NVRTC (libnvrtc.so.13 / .12), resolved at run time: compiles CUDA C source to CUBIN.
public final class NVRTCAPI {
    let api: CCUDANVRTC
    public let path: String
    /// "major.minor".
    public let version: String

    init(search: LibrarySearch) throws {
        let lib: (handle: UnsafeMutableRawPointer, path: String)
        switch search.open(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"]) {
        case .success(let found): lib = found
        case .failure(let notFound):
            throw CUDAUnavailable(description: "no NVRTC: " + notFound.explain(
                installHint: "pip install nvidia-cuda-nvrtc-cu12 (or install the CUDA toolkit, or set CUDA_HOME)"))
        }
        api = try resolveTable(CCUDANVRTC.self, library: lib, name: "libnvrtc") { ccuda_resolve_nvrtc($0, $1) }
        path = lib.path
        var major: Int32 = 0, minor: Int32 = 0
        _ = api.nvrtcVersion(&major, &minor)
        version = "\(major).\(minor)"
    }

    func check(_ result: nvrtcResult, _ call: @autoclosure () -> String) throws {
        if result != 0 {
            throw CUDAError(call: call(), code: result, message: errorText(result))
        }
    }

    func errorText(_ result: nvrtcResult) -> String {
        api.nvrtcGetErrorString(result).map { String(cString: $0) } ?? "nvrtcResult \(result)"
    }

    /// Compiles `source` to a CUBIN for `arch` (e.g. "sm_90"); the error carries NVRTC's log.
    func compile(source: String, name: String, arch: String) throws -> [UInt8] {
        var program: nvrtcProgram? = nil
        try check(api.nvrtcCreateProgram(&program, source, name, 0, nil, nil), "nvrtcCreateProgram(\(name))")
        defer { _ = api.nvrtcDestroyProgram(&program) }
        let options = ["--gpu-architecture=\(arch)", "--std=c++17", "-default-device", "--extra-device-vectorization"]
        let cOptions = options.map { strdup($0) }
        defer { cOptions.forEach { free($0) } }
        let result = cOptions.map { UnsafePointer($0) }.withUnsafeBufferPointer {
            api.nvrtcCompileProgram(program, Int32(options.count), $0.baseAddress)
        }
        if result != 0 {
            var size = 0
            _ = api.nvrtcGetProgramLogSize(program, &size)
            var log = [CChar](repeating: 0, count: size + 1)
            _ = api.nvrtcGetProgramLog(program, &log)
            let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw CUDAError(call: "nvrtcCompileProgram(\(name), \(arch))", code: result,
                            message: errorText(result) + "\n" + text)
        }
        var size = 0
        try check(api.nvrtcGetCUBINSize(program, &size), "nvrtcGetCUBINSize")
        var cubin = [UInt8](repeating: 0, count: size)
        try cubin.withUnsafeMutableBytes {
            try check(api.nvrtcGetCUBIN(program, $0.baseAddress!.assumingMemoryBound(to: CChar.self)), "nvrtcGetCUBIN")
        }
        return cubin
    }
}
