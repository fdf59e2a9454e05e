import Backends

/// The tokens one pass runs on: `batch` rows of `seqLen` tokens, row-major (N = B·T), with
/// each token's position (0..<T within its row) already on the backend for RoPE.
struct TokenGrid {
    let batch: Int
    let seqLen: Int
    /// (N) i32
    let positions: TensorRef

    var tokens: Int { batch * seqLen }
}
