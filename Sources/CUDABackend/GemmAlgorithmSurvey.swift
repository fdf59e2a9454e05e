import Backends
import CCUDA
import Support

/// How much the cuBLASLt heuristic's first algorithm leaves on the table for the GEMMs of one
/// training step of the Llama-3.1-8B shape: for each (M,N,K) the engine runs, every algorithm
/// the heuristic offers (up to `candidates`) is timed with CUDA events (median of 5 after 2
/// warm-ups) against the first.
public enum GemmAlgorithmSurvey {
    struct Case {
        let title: String
        let transA: Bool, transB: Bool
        let m: Int, n: Int, k: Int
        let output: ElementType
        let beta: Float
    }

    /// The 8B layer's GEMMs at `tokens` tokens (attention block) and 4096-token MLP chunks,
    /// as `linearForward` / `linearBackward` issue them (row-major).
    static func cases(tokens n: Int) -> [Case] {
        let c = 4096, kv = 1024, inter = 14336, chunk = 4096
        func forward(_ t: String, _ rows: Int, _ o: Int, _ i: Int) -> Case {
            Case(title: "fwd \(t)", transA: false, transB: true, m: rows, n: o, k: i, output: .bf16, beta: 0)
        }
        func dInput(_ t: String, _ rows: Int, _ o: Int, _ i: Int) -> Case {
            Case(title: "dX \(t)", transA: false, transB: false, m: rows, n: i, k: o, output: .bf16, beta: 1)
        }
        func dWeight(_ t: String, _ rows: Int, _ o: Int, _ i: Int) -> Case {
            Case(title: "dW \(t) (f32)", transA: true, transB: false, m: o, n: i, k: rows, output: .f32, beta: 1)
        }
        return [
            forward("q/o", n, c, c), forward("k/v", n, kv, c), forward("gate/up", chunk, inter, c),
            forward("down", chunk, c, inter),
            dInput("q/o", n, c, c), dInput("k/v", n, kv, c), dInput("gate/up", chunk, inter, c),
            dInput("down", chunk, c, inter),
            dWeight("q/o", n, c, c), dWeight("k/v", n, kv, c), dWeight("gate/up", chunk, inter, c),
            dWeight("down", chunk, c, inter),
            Case(title: "LM head logits (f32)", transA: false, transB: true, m: 2093, n: 128_256, k: c,
                 output: .f32, beta: 0),
        ]
    }

    public static func run(_ backend: CUDABackend, tokens: Int = 8192, candidates: Int = 16,
                           _ emit: (String) -> Void) throws {
        try backend.device.makeCurrent()
        let stream = backend.computeStream
        emit("GEMM algorithms, \(tokens) tokens (MLP in 4096-token chunks): heuristic's first vs the fastest of its "
             + "first \(candidates)")
        var firstTotal = 0.0, bestTotal = 0.0
        for g in cases(tokens: tokens) {
            let aCount = g.m * g.k, bCount = g.k * g.n, cCount = g.m * g.n
            let a = try backend.makeBuffer(.bf16, count: aCount), b = try backend.makeBuffer(.bf16, count: bCount)
            let out = try backend.makeBuffer(g.output, count: cCount)
            backend.fillRandom(a.ref(), count: aCount, seed: 1, scale: 1)
            backend.fillRandom(b.ref(), count: bCount, seed: 2, scale: 0.02)
            backend.fill(out.ref(), count: cCount, value: 0)
            let pa = backend.address(a.ref(), aCount), pb = backend.address(b.ref(), bCount)
            let pc = backend.address(out.ref(), cCount, [.f32, .bf16])
            let shape = MatmulRunner.Shape(transA: g.transA, transB: g.transB, m: g.m, n: g.n, k: g.k,
                                           abType: Int32(CCUDA_R_16BF),
                                           cType: Int32(g.output == .bf16 ? CCUDA_R_16BF : CCUDA_R_32F),
                                           alignment: MatmulRunner.alignment(of: pa, pb, pc))
            let algorithms = try backend.matmul.candidates(shape, count: candidates)
            var times: [Double] = []
            for algorithm in algorithms {
                times.append(try backend.medianMilliseconds(warmups: 2, repeats: 5) {
                    try backend.matmul.run(shape, algorithm: algorithm, alpha: 1, a: pa, b: pb, beta: g.beta, c: pc,
                                           stream: stream)
                })
            }
            guard let first = times.first, let best = times.min(), let at = times.firstIndex(of: best) else { continue }
            firstTotal += first
            bestTotal += best
            let flops = 2 * Double(g.m) * Double(g.n) * Double(g.k)
            emit(g.title.padding(toLength: 22) + "(\(g.m) x \(g.n) x \(g.k))".padding(toLength: 26)
                 + "first \(Format.fixed(first, 3)) ms \(Format.fixed(flops / first / 1e9, 0)) TFLOP/s, "
                 + "best #\(at + 1) of \(times.count) \(Format.fixed(best, 3)) ms \(Format.fixed(flops / best / 1e9, 0)) TFLOP/s")
        }
        emit("sum of the cases: first \(Format.fixed(firstTotal, 3)) ms, best \(Format.fixed(bestTotal, 3)) ms "
             + "(\(Format.fixed(100 * (1 - bestTotal / firstTotal), 1)) % less)")
    }
}
