import XCTest
import Backends

/// Every op, forward and backward, against PyTorch / transformers (fixtures from
/// scripts/make_op_reference.py). Three threads, so work really splits into pieces.
final class OpReferenceTests: XCTestCase {
    let backend = CPUBackend(threads: 3)

    func buffer(_ values: [Float]) throws -> any DeviceBuffer { try backend.makeBuffer(values) }
    func buffer(_ values: [Int32]) throws -> any DeviceBuffer { try backend.makeBuffer(values) }
    func empty(_ count: Int) throws -> any DeviceBuffer { try backend.makeBuffer(.f32, count: count) }
    func read(_ b: any DeviceBuffer) -> [Float] { backend.downloadFloats(b.ref(), count: b.count) }

    func testLinearForwardAndBackward() throws {
        let f = try OpFixture("linear")
        let (n, fin, fout) = (try f.int("n"), try f.int("fin"), try f.int("fout"))
        let x = try buffer(f.floats("x")), w = try buffer(f.floats("w")), b = try buffer(f.floats("b"))
        let dy = try buffer(f.floats("dy"))
        let y = try empty(n * fout), dx = try empty(n * fin)
        let dw = try buffer(f.floats("dw0")), db = try buffer(f.floats("db0"))
        // y = x Wᵀ + b
        backend.gemm(transA: false, transB: true, m: n, n: fout, k: fin, alpha: 1, a: x.ref(), b: w.ref(), beta: 0, c: y.ref())
        backend.addBias(y.ref(), bias: b.ref(), rows: n, cols: fout)
        // dX = dY W ; dW += dYᵀ X ; db += Σ dY
        backend.gemm(transA: false, transB: false, m: n, n: fin, k: fout, alpha: 1, a: dy.ref(), b: w.ref(), beta: 0, c: dx.ref())
        backend.gemm(transA: true, transB: false, m: fout, n: fin, k: n, alpha: 1, a: dy.ref(), b: x.ref(), beta: 1, c: dw.ref())
        backend.biasBackward(dBias: db.ref(), dOut: dy.ref(), rows: n, cols: fout)
        assertClose(read(y), try f.floats("y"), "y")
        assertClose(read(dx), try f.floats("dx"), "dx")
        assertClose(read(dw), try f.floats("dw"), "dW accumulated")
        assertClose(read(db), try f.floats("db"), "db accumulated")
    }

    func testEmbeddingForwardAndScatterAddBackward() throws {
        let f = try OpFixture("embedding")
        let (n, v, c) = (try f.int("n"), try f.int("v"), try f.int("c"))
        let ids = try buffer(f.ints("ids")), table = try buffer(f.floats("table")), dy = try buffer(f.floats("dy"))
        let out = try empty(n * c), dt = try buffer(f.floats("dt0"))
        backend.embeddingForward(out: out.ref(), ids: ids.ref(), table: table.ref(), tokens: n, channels: c, vocab: v)
        backend.embeddingBackward(dTable: dt.ref(), dOut: dy.ref(), ids: ids.ref(), tokens: n, channels: c, vocab: v)
        XCTAssertEqual(read(out), try f.floats("out"), "a gather is exact")
        assertClose(read(dt), try f.floats("dt"), "dTable (repeated ids add up)")
    }

    func testRMSNormAndPerHeadQKNorm() throws {
        for name in ["rmsnorm", "qknorm"] {
            let f = try OpFixture(name)
            let (rows, cols, eps) = (try f.int("rows"), try f.int("cols"), Float(try f.scalar("eps")))
            let x = try buffer(f.floats("x")), w = try buffer(f.floats("w")), dy = try buffer(f.floats("dy"))
            let y = try empty(rows * cols), rstd = try empty(rows), dx = try empty(rows * cols)
            let dxAcc = try buffer(f.floats("dx0")), dw = try buffer(f.floats("dw0"))
            backend.rmsNormForward(out: y.ref(), rstd: rstd.ref(), inp: x.ref(), weight: w.ref(), rows: rows, cols: cols, eps: eps)
            backend.rmsNormBackward(dInp: dx.ref(), dWeight: dw.ref(), dOut: dy.ref(), inp: x.ref(), weight: w.ref(),
                                    rstd: rstd.ref(), rows: rows, cols: cols, accumulate: false)
            let dwOnce = read(dw)
            backend.rmsNormBackward(dInp: dxAcc.ref(), dWeight: dw.ref(), dOut: dy.ref(), inp: x.ref(), weight: w.ref(),
                                    rstd: rstd.ref(), rows: rows, cols: cols, accumulate: true)
            assertClose(read(y), try f.floats("y"), "\(name) y")
            assertClose(read(rstd), try f.floats("rstd"), "\(name) rstd")
            assertClose(read(dx), try f.floats("dx"), "\(name) dx")
            assertClose(read(dxAcc), try f.floats("dxacc"), "\(name) dx accumulated")
            assertClose(dwOnce, try f.floats("dw"), "\(name) dW accumulated")
        }
    }

    func testRMSNormCountsSmallChannelsBesideAMassiveActivation() throws {
        // 4096 channels: one outlier early, the rest each under half an ulp of its square in
        // fp32; together they are ~1e-4 of the sum of squares and must not round away.
        let f = try OpFixture("rmsnorm_massive_activation")
        let (rows, cols, eps) = (try f.int("rows"), try f.int("cols"), Float(try f.scalar("eps")))
        let x = try buffer(f.floats("x")), w = try buffer(f.floats("w"))
        let y = try empty(rows * cols), rstd = try empty(rows)
        backend.rmsNormForward(out: y.ref(), rstd: rstd.ref(), inp: x.ref(), weight: w.ref(), rows: rows, cols: cols, eps: eps)
        assertClose(read(rstd), try f.floats("rstd"), "rstd")
        assertClose(read(y), try f.floats("y"), "y")
    }

    func testRopeLlama3ScaledForwardAndBackward() throws {
        let f = try OpFixture("rope")
        let (tokens, heads, d) = (try f.int("tokens"), try f.int("heads"), try f.int("headDim"))
        let invFreq = RopeFrequencies.inverseFrequencies(
            headDim: d, theta: 500000, scaling: .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192))
        XCTAssertEqual(invFreq, try f.floats("invFreq"), "inverse frequencies bit-equal to transformers'")
        let pos = try buffer(f.ints("positions")), inv = try buffer(invFreq)
        let x = try buffer(f.floats("x")), dy = try buffer(f.floats("dy"))
        let y = try empty(tokens * heads * d)
        backend.ropeForward(out: y.ref(), inp: x.ref(), positions: pos.ref(), invFreq: inv.ref(), tokens: tokens, heads: heads, headDim: d)
        // Backward in place (dInp aliases dOut), as layers use it.
        backend.ropeBackward(dInp: dy.ref(), dOut: dy.ref(), positions: pos.ref(), invFreq: inv.ref(), tokens: tokens, heads: heads, headDim: d)
        // Angles reach 9000 rad; both sides take fp32 cos/sin of the same fp32 angle, so only
        // the last-ulp differences of libm vs. PyTorch's cos/sin remain: within fp32Tolerance.
        assertClose(read(y), try f.floats("y"), "y")
        assertClose(read(dy), try f.floats("dx"), "dx")
    }

    func testRopeInverseFrequenciesMatchTransformers() throws {
        let f = try OpFixture("rope_frequencies")
        let cases: [(String, Int, Double, RopeFrequencyScaling)] = [
            ("none", 64, 1_000_000, .none),
            ("linear", 48, 10000, .linear(factor: 4)),
            ("llama3", 128, 500000, .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192)),
        ]
        for (key, d, theta, scaling) in cases {
            let mine = RopeFrequencies.inverseFrequencies(headDim: d, theta: theta, scaling: scaling)
            let ref = try f.floats(key)
            XCTAssertEqual(mine.count, ref.count, key)
            // Same fp32 steps as transformers; libm powf and PyTorch's pow may differ by 1 ulp.
            for (a, b) in zip(mine, ref) {
                XCTAssertLessThanOrEqual(abs(a - b), 2 * b.ulp, "\(key): \(a) vs \(b)")
            }
        }
    }

    func testCausalGQAAttentionForwardAndBackward() throws {
        // "attention_sink": 1024 keys behind a dominant key 0, each faint key's term under half
        // an ulp of an fp32 running sum; together ~5e-5 of the softmax mass. Its dq and dk are
        // not compared: they are p · (dP − delta) with p ≈ 1 on the sink, a cancellation that
        // leaves any fp32 computation (PyTorch's too) ~7% off the float64 values.
        for (name, checksScoreGradients) in [("attention", true), ("attention_sink", false)] {
            let f = try OpFixture(name)
            let (b, t, h, hkv, d) = (try f.int("batch"), try f.int("seqLen"), try f.int("heads"), try f.int("kvHeads"), try f.int("headDim"))
            let q = try buffer(f.floats("q")), k = try buffer(f.floats("k")), v = try buffer(f.floats("v"))
            let dy = try buffer(f.floats("dy"))
            let out = try empty(b * t * h * d), lse = try empty(b * h * t)
            let dq = try empty(b * t * h * d), dk = try empty(b * t * hkv * d), dv = try empty(b * t * hkv * d)
            // Poison the outputs: every element must be written.
            for o in [out, lse, dq, dk, dv] { backend.fill(o.ref(), count: o.count, value: .nan) }
            backend.attentionForward(out: out.ref(), lse: lse.ref(), q: q.ref(), k: k.ref(), v: v.ref(),
                                     batch: b, seqLen: t, heads: h, kvHeads: hkv, headDim: d)
            backend.attentionBackward(dq: dq.ref(), dk: dk.ref(), dv: dv.ref(), dOut: dy.ref(), q: q.ref(), k: k.ref(), v: v.ref(),
                                      out: out.ref(), lse: lse.ref(), batch: b, seqLen: t, heads: h, kvHeads: hkv, headDim: d)
            assertClose(read(out), try f.floats("out"), "\(name) out")
            assertClose(read(lse), try f.floats("lse"), "\(name) lse")
            assertClose(read(dv), try f.floats("dv"), "\(name) dv")
            if checksScoreGradients {
                assertClose(read(dq), try f.floats("dq"), "\(name) dq")
                assertClose(read(dk), try f.floats("dk"), "\(name) dk")
            }
        }
    }

    func testSwiGLUForwardAndBackward() throws {
        let f = try OpFixture("swiglu")
        let count = try f.int("count")
        let gate = try buffer(f.floats("gate")), up = try buffer(f.floats("up")), dy = try buffer(f.floats("dy"))
        let y = try empty(count), dg = try empty(count), du = try empty(count)
        backend.swigluForward(out: y.ref(), gate: gate.ref(), up: up.ref(), count: count)
        backend.swigluBackward(dGate: dg.ref(), dUp: du.ref(), dOut: dy.ref(), gate: gate.ref(), up: up.ref(), count: count)
        assertClose(read(y), try f.floats("y"), "y")
        assertClose(read(dg), try f.floats("dgate"), "dgate")
        assertClose(read(du), try f.floats("dup"), "dup")
    }

    func testResidualAddScaleSumOfSquaresAndBF16Conversion() throws {
        let f = try OpFixture("elementwise")
        let n = try f.int("n")
        let a = try buffer(f.floats("a")), b = try buffer(f.floats("b"))
        let sum = try empty(n), sumsq = try buffer([Float(1)])
        backend.add(sum.ref(), a.ref(), b.ref(), count: n)
        backend.sumOfSquares(a.ref(), count: n, into: sumsq.ref())
        backend.scale(a.ref(), count: n, by: Float(try f.scalar("factor")))
        XCTAssertEqual(read(sum), try f.floats("sum"), "fp32 addition is exact")
        assertClose(read(a), try f.floats("scaled"), "scaled")
        assertClose(read(sumsq), [1 + (try f.floats("sumsq"))[0]], "sum of squares accumulated")

        // f32 → bf16 rounds to nearest even, as torch's .to(bfloat16); back to f32 exactly.
        let values = try f.floats("bf16in"), bits = try f.int16s("bf16bits")
        let src = try buffer(values), half = try backend.makeBuffer(.bf16, count: values.count), back = try empty(values.count)
        backend.copy(src.ref(), to: half.ref(), count: values.count)
        backend.copy(half.ref(), to: back.ref(), count: values.count)
        var raw = [UInt16](repeating: 0, count: values.count)
        raw.withUnsafeMutableBytes { backend.download(half.ref(), into: $0) }
        XCTAssertEqual(raw, bits)
        XCTAssertEqual(read(back), bits.map { Float(bitPattern: UInt32($0) << 16) })
    }

    func testFusedLinearCrossEntropyMatchesTransformersLoss() throws {
        let f = try OpFixture("cross_entropy")
        let (n, c, v, items) = (try f.int("tokens"), try f.int("channels"), try f.int("vocab"), try f.int("numItems"))
        // The op takes shifted targets; check the fixture's shift against the HF labels too.
        let labels = try f.ints("labels"), targets = try f.ints("targets")
        let seqLen = 9
        for i in 0..<n {
            XCTAssertEqual(targets[i], (i + 1) % seqLen == 0 ? ignoredTarget : labels[i + 1])
        }
        let hidden = try buffer(f.floats("hidden")), w = try buffer(f.floats("w")), tg = try buffer(targets)
        for chunk in [1, 4, 7, n] {
            let loss = try buffer([Float(0)]), dh = try empty(n * c), dw = try buffer(f.floats("dw0"))
            backend.linearCrossEntropy(lossSum: loss.ref(), dHidden: dh.ref(), dWeight: dw.ref(), hidden: hidden.ref(),
                                       weight: w.ref(), targets: tg.ref(), tokens: n, channels: c, vocab: v,
                                       scale: 1 / Float(items), chunkTokens: chunk)
            assertClose(read(loss), try f.floats("lossSum"), "loss sum, chunk \(chunk)")
            assertClose(read(dh), try f.floats("dhidden"), "dHidden, chunk \(chunk)")
            assertClose(read(dw), try f.floats("dw"), "dW accumulated, chunk \(chunk)")
        }
    }

    func testCrossEntropyOverWideVocabularyKeepsTheUnlikelyTail() throws {
        // 8192 tokens, a few likely ones first and a tail each under half an ulp of an fp32
        // running sum: the softmax denominator must still count the tail (~1e-4 of the loss).
        let f = try OpFixture("cross_entropy_wide_vocab")
        let (n, c, v, items) = (try f.int("tokens"), try f.int("channels"), try f.int("vocab"), try f.int("numItems"))
        let hidden = try buffer(f.floats("hidden")), w = try buffer(f.floats("w")), tg = try buffer(f.ints("targets"))
        let loss = try buffer([Float(0)]), dh = try empty(n * c), dw = try buffer([Float](repeating: 0, count: v * c))
        backend.linearCrossEntropy(lossSum: loss.ref(), dHidden: dh.ref(), dWeight: dw.ref(), hidden: hidden.ref(),
                                   weight: w.ref(), targets: tg.ref(), tokens: n, channels: c, vocab: v,
                                   scale: 1 / Float(items), chunkTokens: n)
        assertClose(read(loss), try f.floats("lossSum"), "loss sum")
        assertClose(read(dh), try f.floats("dhidden"), "dHidden")
        assertClose(read(dw), try f.floats("dw"), "dW")
    }
}
