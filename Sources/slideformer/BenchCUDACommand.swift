import ArgumentParser
import CUDABackend

/// `slideformer bench cuda`: times the CUDA backend's main ops on Llama-3.1-8B layer shapes.
struct BenchCUDACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cuda",
        abstract: "Time the CUDA backend's GEMMs, attention, norms, cross-entropy and AdamW (8B layer shapes)."
    )

    @Option(help: "Only the ops whose line title contains this text (e.g. 'rmsnorm', 'swiglu'), or 'memory' for every memory-bound op (those reported in GB/s).")
    var only: String?

    @Flag(help: "Instead: time every algorithm cuBLASLt's heuristic offers for the 8B layer's GEMMs against its first choice.")
    var gemmAlgorithms = false

    func run() throws {
        let backend = try CUDABackend(libraries: try CUDALibraries.load())
        print(backend.name)
        if gemmAlgorithms {
            try GemmAlgorithmSurvey.run(backend) { print($0) }
            return
        }
        try CUDAOpBenchmark.run(backend, only: only) { print($0) }
    }
}
