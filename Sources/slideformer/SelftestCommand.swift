#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ArgumentParser
import Backends
import CUDABackend
import Support
import Training

/// `slideformer selftest`: every op on the GPU against the CPU reference, or (`--compile-only`)
/// every kernel compiled for sm_80 and sm_90 with no GPU needed, or (`--golden DIR`) the
/// PyTorch golden reference states run on a backend.
struct SelftestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Check every backend op against the CPU reference on random inputs."
    )

    @Option(help: "Backend to check: 'cuda' (against the CPU reference), or with --golden also 'cpu'.")
    var backend = "cuda"

    @Option(help: "Run the golden reference states of this folder (e.g. Tests/Fixtures/golden: forward, backward, 5 training steps) on --backend instead of the op checks.")
    var golden: String?

    @Option(help: "Only ops whose name contains this text (an error if none does).")
    var op: String?

    @Option(help: "Random seed (default: a fresh one each run, printed).")
    var seed: UInt64?

    @Option(help: "Float storage to test: f32, bf16 or both.")
    var storage = "both"

    @Flag(help: "Only compile every kernel with NVRTC for sm_80 and sm_90 (no GPU or driver needed).")
    var compileOnly = false

    func run() throws {
        if let golden { return try runGolden(golden) }
        guard backend == "cuda" else { throw ValidationError("--backend: only 'cuda' can be checked (got '\(backend)')") }
        if compileOnly {
            let nvrtc = try CUDALibraries.loadCompiler()
            print("NVRTC \(nvrtc.version) from \(nvrtc.path)")
            for r in try KernelCatalog.compileAll(nvrtc: nvrtc) {
                print("compiled \(r.module) for \(r.arch): \(r.bytes) bytes in \(Format.fixed(r.seconds, 2)) s")
            }
            return
        }
        let storages: [OpComparison.Storage]
        switch storage {
        case "both": storages = OpComparison.Storage.allCases
        case let s: guard let one = OpComparison.Storage(rawValue: s) else {
            throw ValidationError("--storage must be f32, bf16 or both (got '\(s)')")
        }
            storages = [one]
        }
        try OpComparison.checkFilter(op)
        let gpu = try CUDABackend(libraries: try CUDALibraries.load())
        let cpu = CPUBackend(threads: ProcessInfo.processInfo.activeProcessorCount)
        let seed = self.seed ?? UInt64.random(in: 0...UInt64.max)
        print("\(gpu.name) against \(cpu.name), seed \(seed)")
        let comparison = OpComparison(reference: cpu, candidate: gpu, seed: seed)
        print(OpComparison.tableHeader)
        let results = try comparison.run(filter: op, storages: storages) { print(OpComparison.tableLine($0)) }
        let failed = results.filter { !$0.passed }
        if !failed.isEmpty {
            throw UsageError("\(failed.count) of \(results.count) op checks failed (seed \(seed))")
        }
        print("all \(results.count) op checks passed")
        if op == nil {
            let adamW = try CUDAAdamWCheck.run(gpu, seed: seed)
            let ok = adamW.params <= 1e-5 && adamW.bf16Copy <= 1e-2
            print("adamw (GPU kernel vs float64 host, 3 steps): params error \(Format.sci(adamW.params, 2)) (bound 1e-5), "
                  + "bf16 copy \(Format.sci(adamW.bf16Copy, 2)) (bound 1e-2) " + (ok ? "ok" : "FAIL"))
            if !ok { throw UsageError("the GPU AdamW kernel disagrees with the reference (seed \(seed))") }
            let paths = try CUDAVectorPathCheck.run(gpu, seed: UInt32(truncatingIfNeeded: seed))
            print("16-byte vs element-by-element kernel paths, bit for bit: \(paths.checked - paths.mismatches.count) of "
                  + "\(paths.checked) ops agree" + (paths.mismatches.isEmpty ? " ok" : "; FAIL: " + paths.mismatches.joined(separator: ", ")))
            if !paths.mismatches.isEmpty { throw UsageError("vector and scalar kernel paths disagree (seed \(seed))") }
        }
    }

    private func runGolden(_ directory: String) throws {
        guard let device = TrainOptions.Device(rawValue: backend), device != .auto else {
            throw ValidationError("--backend must be cpu or cuda (got '\(backend)')")
        }
        let check = GoldenCheck(device: try ComputeDevice.open(device))
        print("golden references of \(directory) on \(check.device.description)")
        let (lines, skipped) = try check.run(directory: directory) { print(GoldenCheck.format($0)) }
        if !skipped.isEmpty { print("skipped (head dim not supported by this backend's attention): " + skipped.joined(separator: ", ")) }
        let failed = lines.filter { !$0.passed }
        if !failed.isEmpty { throw UsageError("\(failed.count) of \(lines.count) golden checks failed") }
        print("all \(lines.count) golden checks passed")
    }
}
