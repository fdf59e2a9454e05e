import Backends

/// A Hugging Face linear layer (weight (out,in), optional bias (out)) expressed with
/// backend ops, forward and backward.
extension Backend {
    /// out (N,out) = inp (N,in) Wᵀ + bias.
    func linearForward(out: TensorRef, inp: TensorRef, weight: TensorRef, bias: TensorRef?,
                       tokens: Int, inFeatures: Int, outFeatures: Int) {
        gemm(transA: false, transB: true, m: tokens, n: outFeatures, k: inFeatures,
             alpha: 1, a: inp, b: weight, beta: 0, c: out)
        if let bias { addBias(out, bias: bias, rows: tokens, cols: outFeatures) }
    }

    /// out (N,out) = residual (N,out) + (inp (N,in) Wᵀ + bias): a projection into the residual
    /// stream. Without a bias the add runs in the GEMM's epilogue; with one, in the order above.
    func linearForward(out: TensorRef, inp: TensorRef, weight: TensorRef, bias: TensorRef?, adding residual: TensorRef,
                       tokens: Int, inFeatures: Int, outFeatures: Int) {
        guard bias != nil else {
            return gemm(transA: false, transB: true, m: tokens, n: outFeatures, k: inFeatures,
                        a: inp, b: weight, adding: residual, out: out)
        }
        linearForward(out: out, inp: inp, weight: weight, bias: bias, tokens: tokens, inFeatures: inFeatures,
                      outFeatures: outFeatures)
        add(out, out, residual, count: tokens * outFeatures)
    }

    /// dWeight (out,in) += dOutᵀ inp; dBias (out) += Σ_rows dOut;
    /// dInp (N,in) = dOut W, added to dInp's contents when `accumulate` (several linears
    /// reading the same input).
    func linearBackward(dInp: TensorRef, dWeight: TensorRef, dBias: TensorRef?, dOut: TensorRef,
                        inp: TensorRef, weight: TensorRef, tokens: Int, inFeatures: Int, outFeatures: Int,
                        accumulate: Bool) {
        gemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: tokens,
             alpha: 1, a: dOut, b: inp, beta: 1, c: dWeight)
        if let dBias { biasBackward(dBias: dBias, dOut: dOut, rows: tokens, cols: outFeatures) }
        gemm(transA: false, transB: false, m: tokens, n: inFeatures, k: outFeatures,
             alpha: 1, a: dOut, b: weight, beta: accumulate ? 1 : 0, c: dInp)
    }
}
