import ArgumentParser
import Backends
import Support

/// `slideformer bench gemm`: GFLOP/s of the CPU backend's fp32 GEMM, one thread and many.
struct BenchGEMMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "fp32 GEMM throughput of the CPU backend (GFLOP/s), single- and multi-threaded."
    )

    @Option(help: "Threads for the multi-threaded runs (default: all online CPUs, or $SLIDEFORMER_THREADS).")
    var threads: Int = WorkerPool.defaultThreadCount

    @Option(help: "Timed runs per shape after one warm-up; the best is reported.")
    var repeats: Int = 3

    func validate() throws {
        guard threads > 0, repeats > 0 else { throw ValidationError("--threads and --repeats must be positive") }
    }

    func run() throws {
        let counts = threads == 1 ? [1] : [1, threads]
        print("shape                        layout  M     N     K      threads  GFLOP/s")
        for count in counts {
            let backend = CPUBackend(threads: count)
            for c in GEMMBenchmark.standardCases {
                let gflops = try GEMMBenchmark.measure(c, on: backend, repeats: repeats)
                print(pad(c.label, 29) + pad(c.layout, 8) + pad("\(c.m)", 6) + pad("\(c.n)", 6) + pad("\(c.k)", 7)
                      + pad("\(count)", 9) + "\((gflops * 10).rounded() / 10)")
            }
        }
    }

    private func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(1, width - s.count)) }
}
