import Backends
import Support

/// Times the backend's main ops on Llama-3.1-8B layer shapes (8 × 1024 tokens), with CUDA events
/// around warmed-up repetitions on random (never zero) data; reports the median. Memory-bound ops
/// report GB/s of the bytes they must move at least (each operand read or written once).
public enum CUDAOpBenchmark {
    /// Runs the lines whose title contains `only`, or with `only` = "memory" the memory-bound ops
    /// (those reported in GB/s); all lines when nil.
    public static func run(_ backend: CUDABackend, only: String? = nil, _ emit: (String) -> Void) throws {
        let n = 8192, c = 4096, inter = 14336, vocab = 128_256
        func random(_ type: ElementType, _ count: Int, scale: Float = 1) throws -> any DeviceBuffer {
            let b = try backend.makeBuffer(type, count: count)
            backend.fillRandom(b.ref(), count: count, seed: UInt32.random(in: 0...UInt32.max), scale: scale)
            return b
        }
        func time(_ body: () -> Void) throws -> Double {
            body(); body()
            let start = try CUDAEvent(device: backend.device, timing: true), end = try CUDAEvent(device: backend.device, timing: true)
            var ms: [Double] = []
            for _ in 0..<7 {
                try start.record(on: backend.computeStream)
                body()
                try end.record(on: backend.computeStream)
                try end.synchronize()
                ms.append(try end.milliseconds(since: start))
            }
            return ms.sorted()[ms.count / 2]
        }
        func report(_ what: String, flops: Double? = nil, bytes: Double? = nil, _ body: () -> Void) throws {
            if let only, !what.contains(only), !(only == "memory" && bytes != nil) { return }
            let ms = try time(body)
            var line = what.padding(toLength: 52) + Format.fixed(ms, 3) + " ms"
            if let flops { line += "  " + Format.fixed(flops / ms / 1e9, 1) + " TFLOP/s" }
            if let bytes { line += "  " + Format.fixed(bytes / ms / 1e6, 0) + " GB/s" }
            emit(line)
        }

        let big = 8192
        let a = try random(.bf16, big * big), b = try random(.bf16, big * big), out = try random(.bf16, big * big)
        try report("gemm bf16 8192^3 (NT)", flops: 2 * pow3(big)) {
            backend.gemm(transA: false, transB: true, m: big, n: big, k: big, alpha: 1, a: a.ref(), b: b.ref(), beta: 0, c: out.ref())
        }

        let x = try random(.bf16, n * c), wUp = try random(.bf16, 2 * inter * c, scale: 0.02)
        let y = try random(.bf16, n * 2 * inter), dwUp = try random(.f32, 2 * inter * c)
        try report("gemm x Wup^T  (8192 x 28672 x 4096)", flops: 2 * Double(n) * Double(2 * inter) * Double(c)) {
            backend.gemm(transA: false, transB: true, m: n, n: 2 * inter, k: c, alpha: 1, a: x.ref(), b: wUp.ref(), beta: 0, c: y.ref())
        }
        try report("gemm dY Wup   (8192 x 4096 x 28672)", flops: 2 * Double(n) * Double(2 * inter) * Double(c)) {
            backend.gemm(transA: false, transB: false, m: n, n: c, k: 2 * inter, alpha: 1, a: y.ref(), b: wUp.ref(), beta: 0, c: x.ref())
        }
        try report("gemm dW += dY^T X, f32 dW (28672 x 4096 x 8192)", flops: 2 * Double(n) * Double(2 * inter) * Double(c)) {
            backend.gemm(transA: true, transB: false, m: 2 * inter, n: c, k: n, alpha: 1, a: y.ref(), b: x.ref(), beta: 1, c: dwUp.ref())
        }

        // Attention of the 8B (head dim 128) and 1.5B (head dim 64) Llama shapes: 32 query and
        // 8 kv heads; the forward writes the lse the backward reads.
        let batch = 8, seq = 1024, heads = 32, kvHeads = 8
        for d in [128, 64] {
            let qCount = n * heads * d, kvCount = n * kvHeads * d
            let q = try random(.bf16, qCount), k = try random(.bf16, kvCount), v = try random(.bf16, kvCount)
            let o = try random(.bf16, qCount), lse = try random(.f32, batch * heads * seq)
            let dq = try random(.bf16, qCount), dk = try random(.bf16, kvCount), dv = try random(.bf16, kvCount)
            let causalFlops = 4 * Double(batch * heads) * Double(seq) * Double(seq) / 2 * Double(d)
            try report("attention fwd 8x1024, 32/8 heads, d \(d)", flops: causalFlops) {
                backend.attentionForward(out: o.ref(), lse: lse.ref(), q: q.ref(), k: k.ref(), v: v.ref(),
                                         batch: batch, seqLen: seq, heads: heads, kvHeads: kvHeads, headDim: d)
            }
            try report("attention bwd d \(d) (2.5 x fwd FLOPs)", flops: 2.5 * causalFlops) {
                backend.attentionBackward(dq: dq.ref(), dk: dk.ref(), dv: dv.ref(), dOut: o.ref(), q: q.ref(), k: k.ref(), v: v.ref(),
                                          out: o.ref(), lse: lse.ref(), batch: batch, seqLen: seq, heads: heads, kvHeads: kvHeads,
                                          headDim: d)
            }
        }

        // Memory-bound ops; q/k-norm and RoPE on 8192 tokens × 32 query (8 kv) heads of 128.
        let bf = 2.0, w = try random(.bf16, c), rstd = try random(.f32, n * heads), normed = try random(.bf16, n * c)
        try report("rmsnorm fwd 8192 x 4096 bf16", bytes: bf * Double(2 * n * c)) {
            backend.rmsNormForward(out: normed.ref(), rstd: rstd.ref(), inp: x.ref(), weight: w.ref(), rows: n, cols: c, eps: 1e-5)
        }
        let dw = try random(.f32, c), dNormed = try random(.bf16, n * c)
        try report("rmsnorm bwd 8192 x 4096 bf16 (+ dW; dy, x -> dx)", bytes: bf * Double(3 * n * c)) {
            backend.rmsNormBackward(dInp: normed.ref(), dWeight: dw.ref(), dOut: dNormed.ref(), inp: x.ref(), weight: w.ref(), rstd: rstd.ref(),
                                    rows: n, cols: c, accumulate: false)
        }
        let headDim = 128, qCount = n * heads * headDim, kCount = n * kvHeads * headDim
        let q = try random(.bf16, qCount), qNormed = try random(.bf16, qCount), dq = try random(.bf16, qCount)
        let headWeight = try random(.bf16, headDim), dHeadWeight = try random(.f32, headDim)
        try report("q-norm fwd 262144 x 128 bf16", bytes: bf * Double(2 * qCount)) {
            backend.rmsNormForward(out: qNormed.ref(), rstd: rstd.ref(), inp: q.ref(), weight: headWeight.ref(),
                                   rows: n * heads, cols: headDim, eps: 1e-6)
        }
        try report("q-norm bwd 262144 x 128 bf16 (+ dW; dy, x -> dx)", bytes: bf * Double(3 * qCount)) {
            backend.rmsNormBackward(dInp: dq.ref(), dWeight: dHeadWeight.ref(), dOut: qNormed.ref(), inp: q.ref(),
                                    weight: headWeight.ref(), rstd: rstd.ref(), rows: n * heads, cols: headDim, accumulate: false)
        }
        let positions = try backend.makeBuffer((0..<n).map { Int32($0 % seq) })
        let invFreq = try backend.makeBuffer(RopeFrequencies.inverseFrequencies(headDim: headDim, theta: 500_000, scaling: .none))
        try report("rope fwd q 8192 x 32 x 128 bf16 (in place)", bytes: bf * Double(2 * qCount)) {
            backend.ropeForward(out: q.ref(), inp: q.ref(), positions: positions.ref(), invFreq: invFreq.ref(),
                                tokens: n, heads: heads, headDim: headDim)
        }
        try report("rope fwd k 8192 x 8 x 128 bf16 (in place)", bytes: bf * Double(2 * kCount)) {
            backend.ropeForward(out: q.ref(), inp: q.ref(), positions: positions.ref(), invFreq: invFreq.ref(),
                                tokens: n, heads: kvHeads, headDim: headDim)
        }
        try report("rope bwd q 8192 x 32 x 128 bf16", bytes: bf * Double(2 * qCount)) {
            backend.ropeBackward(dInp: dq.ref(), dOut: qNormed.ref(), positions: positions.ref(), invFreq: invFreq.ref(),
                                 tokens: n, heads: heads, headDim: headDim)
        }
        let act = try random(.bf16, n * inter), dy = try random(.bf16, n * 2 * inter)
        try report("swiglu fwd 8192 x 14336 bf16", bytes: bf * Double(3 * n * inter)) {
            backend.swigluForward(out: act.ref(), gate: y.ref(), up: y.ref(n * inter), count: n * inter)
        }
        try report("swiglu bwd 8192 x 14336 bf16", bytes: bf * Double(5 * n * inter)) {
            backend.swigluBackward(dGate: dy.ref(), dUp: dy.ref(n * inter), dOut: act.ref(), gate: y.ref(), up: y.ref(n * inter),
                                   count: n * inter)
        }
        try report("add 8192 x 4096 bf16", bytes: bf * Double(3 * n * c)) {
            backend.add(normed.ref(), x.ref(), dNormed.ref(), count: n * c)
        }
        let wide = try random(.f32, n * inter)
        try report("copy f32 -> bf16 8192 x 14336", bytes: 6 * Double(n * inter)) {
            backend.copy(wide.ref(), to: act.ref(), count: n * inter)
        }
        try report("copy bf16 -> f32 8192 x 14336", bytes: 6 * Double(n * inter)) {
            backend.copy(act.ref(), to: wide.ref(), count: n * inter)
        }
        try report("fill f32 8192 x 14336", bytes: 4 * Double(n * inter)) {
            backend.fill(wide.ref(), count: n * inter, value: 0)
        }

        let lmHead = try random(.bf16, vocab * c, scale: 0.02), dLmHead = try random(.f32, vocab * c)
        let targetValues = (0..<n).map { _ in Int32.random(in: 0..<Int32(vocab)) }
        let targets = try backend.makeBuffer(targetValues), loss = try backend.makeBuffer([Float(0)])
        let ceFlops = 3 * 2 * Double(n) * Double(vocab) * Double(c)
        try report("linear cross-entropy 8192 tok, V 128256, chunk 2048", flops: ceFlops) {
            backend.linearCrossEntropy(lossSum: loss.ref(), dHidden: normed.ref(), dWeight: dLmHead.ref(), hidden: x.ref(),
                                       weight: lmHead.ref(), targets: targets.ref(), tokens: n, channels: c, vocab: vocab,
                                       scale: 1 / Float(n), chunkTokens: 2048)
        }

        let params = 1 << 28
        let p = try random(.f32, params), m = try random(.f32, params, scale: 0.01), vv = try random(.f32, params, scale: 0.01)
        let g = try random(.bf16, params), pOut = try random(.bf16, params)
        let scalars = AdamWScalars(learningRate: 1e-5, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01,
                                   step: 10, gradScale: 1, decays: true)
        backend.fill(vv.ref(), count: params, value: 1e-4)
        try report("AdamW 268M params (fp32 p/m/v, bf16 g in/p out)", bytes: Double(params) * 28) {
            backend.adamW(params: p.ref(), m: m.ref(), v: vv.ref(), grads: g.ref(), computeCopy: pOut.ref(), count: params,
                          scalars: scalars)
        }
    }

    private static func pow3(_ x: Int) -> Double { Double(x) * Double(x) * Double(x) }
}

extension String {
    /// Left-aligned in a column of `n` characters (at least one space after).
    func padding(toLength n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}
