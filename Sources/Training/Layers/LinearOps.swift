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
