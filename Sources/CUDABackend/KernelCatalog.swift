/// Every kernel source the backend compiles, by module name.
public enum KernelCatalog {
    /// Head dimensions compiled ahead by `--compile-only` (others compile on first use).
    public static let commonHeadDims = [64, 128]

    static let opsModule = "slideformer_ops"

    static func attentionModule(headDim: Int) -> String { "slideformer_attention_d\(headDim)" }

    /// (module name, source) of every kernel module, attention for `headDims`.
    public static func modules(headDims: [Int] = commonHeadDims) -> [(name: String, source: String)] {
        [(opsModule, opKernelSource)]
            + headDims.map { (attentionModule(headDim: $0), attentionKernelSource(headDim: $0)) }
    }

    /// Compiles every module for every architecture (no GPU or driver needed, only NVRTC).
    /// Returns (module, arch, CUBIN bytes, seconds); throws on the first compile error.
    public static func compileAll(architectures: [String] = ["sm_80", "sm_90"],
                                  nvrtc: NVRTCAPI) throws -> [(module: String, arch: String, bytes: Int, seconds: Double)] {
        var results: [(String, String, Int, Double)] = []
        for (name, source) in modules() {
            for arch in architectures {
                let start = monotonicSeconds()
                let cubin = try nvrtc.compile(source: source, name: name + ".cu", arch: arch)
                results.append((name, arch, cubin.count, monotonicSeconds() - start))
            }
        }
        return results
    }
}
