import ArgumentParser
import Support
import Training

/// `slideformer bench adamw`: CPU AdamW throughput against the memory-bandwidth bound.
struct BenchAdamWCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adamw",
        abstract: "CPU AdamW params/s over one large buffer, and its share of the memcpy-bandwidth bound."
    )

    @Option(help: "Parameters in the benchmark buffer (millions).")
    var millions: Int = 256

    @Option(help: "Threads (the calling thread included); default: online CPUs or $SLIDEFORMER_THREADS.")
    var threads: Int = WorkerPool.defaultThreadCount

    @Option(help: "Timed steps (the best is reported), after one warm-up step.")
    var iterations: Int = 5

    @Flag(help: "Read bf16 gradients instead of fp32.")
    var bf16Gradients = false

    @Option(help: "MiB copied by the memcpy bandwidth measurement.")
    var memcpyMiB: Int = 1024

    func run() throws {
        let pool = WorkerPool(threads: threads)
        defer { pool.shutdown() }
        let bench = AdamWBenchmark(parameters: millions * 1_000_000, iterations: iterations,
                                   bf16Gradients: bf16Gradients, memcpyBytes: memcpyMiB << 20)
        let r = try bench.run(pool: pool)
        print("parameters:        \(r.parameters) (\(r.bf16Gradients ? "bf16" : "fp32") gradients, \(r.threads) threads)")
        print("step time:         \(Format.fixed(r.secondsPerStep * 1e3, 2)) ms (best of \(iterations))")
        print("AdamW:             \(Format.fixed(r.parametersPerSecond / 1e9, 3)) Gparam/s")
        print("memcpy:            \(Format.fixed(r.memcpyBytesPerSecond / 1e9, 2)) GB/s read+write")
        print("bandwidth bound:   \(Format.fixed(r.bandwidthBound / 1e9, 3)) Gparam/s at \(r.bytesPerParameter) B/param "
            + "(fp32 p,m,v read+write 24, grad read \(r.bf16Gradients ? 2 : 4), bf16 weights write 2)")
        print("share of bound:    \(Format.fixed(r.shareOfBound * 100, 1)) %")
    }
}
