import Glibc
import CCUDA

/// Row-major GEMMs through cuBLASLt: bf16 or f32 operands, fp32 compute, bf16 or f32 output,
/// beta accumulation. The descriptors are made once per shape and kept, with the shape's
/// algorithm: the one `store` holds for it (timed on this machine, see GemmAlgorithmTuning), or
/// else the heuristic's first until the shape is timed (without a store, for good). cuBLASLt
/// is column-major: row-major C (M,N) = op(A) op(B) is computed as the
/// column-major Cᵀ (N,M) = op(B)ᵀ op(A)ᵀ, i.e. with the operands swapped.
final class MatmulRunner {
    struct Shape: Hashable {
        let transA: Bool, transB: Bool
        let m: Int, n: Int, k: Int
        let abType: Int32, cType: Int32
        /// Smallest power-of-two alignment (bytes, at most 256) of the A, B and C addresses:
        /// the heuristic may only pick kernels that such addresses allow.
        let alignment: Int
    }

    static func alignment(of pointers: CUdeviceptr...) -> Int {
        var a = 256
        for p in pointers where p != 0 { a = min(a, 1 << min(8, p.trailingZeroBitCount)) }
        return a
    }

    private final class Plan {
        let api: CCUDABLASLt
        let desc: cublasLtMatmulDesc_t
        let aLayout: cublasLtMatrixLayout_t, bLayout: cublasLtMatrixLayout_t, cLayout: cublasLtMatrixLayout_t
        var algo: cublasLtMatmulAlgo_t
        /// False while the shape still waits to be timed.
        var decided = true

        init(api: CCUDABLASLt, desc: cublasLtMatmulDesc_t, a: cublasLtMatrixLayout_t, b: cublasLtMatrixLayout_t,
             c: cublasLtMatrixLayout_t, algo: cublasLtMatmulAlgo_t) {
            self.api = api
            self.desc = desc
            aLayout = a; bLayout = b; cLayout = c
            self.algo = algo
        }

        deinit {
            _ = api.cublasLtMatrixLayoutDestroy(aLayout)
            _ = api.cublasLtMatrixLayoutDestroy(bLayout)
            _ = api.cublasLtMatrixLayoutDestroy(cLayout)
            _ = api.cublasLtMatmulDescDestroy(desc)
        }
    }

    let blas: BLASLtAPI
    let handle: cublasLtHandle_t
    let workspace: CUdeviceptr
    let workspaceBytes: Int
    /// Timed algorithms; nil: the heuristic's first for every shape.
    let store: GemmAlgorithmStore?
    private var plans: [Shape: Plan] = [:]
    private var lock = pthread_mutex_t()

    init(blas: BLASLtAPI, workspace: CUdeviceptr, workspaceBytes: Int, store: GemmAlgorithmStore?) throws {
        self.blas = blas
        self.store = store
        var h: cublasLtHandle_t? = nil
        try blas.check(blas.api.cublasLtCreate(&h), "cublasLtCreate")
        guard let h else { throw CUDAUnavailable(description: "cublasLtCreate returned no handle") }
        handle = h
        self.workspace = workspace
        self.workspaceBytes = workspaceBytes
        pthread_mutex_init(&lock, nil)
    }

    deinit {
        plans = [:]
        _ = blas.api.cublasLtDestroy(handle)
        pthread_mutex_destroy(&lock)
    }

    /// D (M,N) = alpha op(A) op(B) + beta C, all row-major and contiguous, D = C unless given
    /// (C and D share the shape's type and layout); enqueued on `stream`.
    func run(_ shape: Shape, alpha: Float, a: CUdeviceptr, b: CUdeviceptr, beta: Float, c: CUdeviceptr,
             d: CUdeviceptr? = nil, stream: CUDAStream) throws {
        try run(try plan(shape), algorithm: nil, shape, alpha: alpha, a: a, b: b, beta: beta, c: c, d: d ?? c,
                stream: stream)
    }

    /// Whether `shape` still waits to be timed.
    func awaitsTiming(_ shape: Shape) throws -> Bool { try !plan(shape).decided }

    /// Runs `shape` with `algorithm` from now on; `keep` also records it in the store.
    func settle(_ shape: Shape, on algorithm: cublasLtMatmulAlgo_t, keep: Bool) throws {
        let p = try plan(shape)
        pthread_mutex_lock(&lock)
        p.algo = algorithm
        p.decided = true
        pthread_mutex_unlock(&lock)
        if keep { store?.record(algorithm, for: shape) }
    }

    /// The heuristic's first `count` algorithms for `shape`, best first by its own ranking (for
    /// surveys: `run(_:algorithm:...)` runs any of them).
    func candidates(_ shape: Shape, count: Int) throws -> [cublasLtMatmulAlgo_t] {
        try heuristic(try plan(shape), shape, count: count)
    }

    /// As `run`, with one of `candidates`' algorithms instead of the kept one.
    func run(_ shape: Shape, algorithm: cublasLtMatmulAlgo_t, alpha: Float, a: CUdeviceptr, b: CUdeviceptr,
             beta: Float, c: CUdeviceptr, d: CUdeviceptr? = nil, stream: CUDAStream) throws {
        try run(try plan(shape), algorithm: algorithm, shape, alpha: alpha, a: a, b: b, beta: beta, c: c, d: d ?? c,
                stream: stream)
    }

    private func run(_ plan: Plan, algorithm: cublasLtMatmulAlgo_t?, _ shape: Shape, alpha: Float, a: CUdeviceptr,
                     b: CUdeviceptr, beta: Float, c: CUdeviceptr, d: CUdeviceptr, stream: CUDAStream) throws {
        var algo = algorithm ?? plan.algo
        var alpha = alpha, beta = beta
        let pa = UnsafeRawPointer(bitPattern: UInt(a)), pb = UnsafeRawPointer(bitPattern: UInt(b))
        let pc = UnsafeRawPointer(bitPattern: UInt(c)), pd = UnsafeMutableRawPointer(bitPattern: UInt(d))
        // Column-major operand order: first B (as op(B)ᵀ), then A.
        try blas.check(blas.api.cublasLtMatmul(handle, plan.desc, &alpha, pb, plan.bLayout, pa, plan.aLayout,
                                               &beta, pc, plan.cLayout, pd, plan.cLayout, &algo,
                                               UnsafeMutableRawPointer(bitPattern: UInt(workspace)), workspaceBytes,
                                               stream.handle),
                       "cublasLtMatmul(m \(shape.m), n \(shape.n), k \(shape.k))")
    }

    private func plan(_ s: Shape) throws -> Plan {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if let p = plans[s] { return p }
        let api = blas.api
        var desc: cublasLtMatmulDesc_t? = nil
        try blas.check(api.cublasLtMatmulDescCreate(&desc, Int32(CCUBLAS_COMPUTE_32F), Int32(CCUDA_R_32F)),
                       "cublasLtMatmulDescCreate")
        // cuBLAS's "A" is our B: op(B)ᵀ is B as stored when B is (K,N) row-major.
        var opFirst = Int32(s.transB ? CCUBLAS_OP_T : CCUBLAS_OP_N)
        var opSecond = Int32(s.transA ? CCUBLAS_OP_T : CCUBLAS_OP_N)
        try blas.check(api.cublasLtMatmulDescSetAttribute(desc, Int32(CCUBLASLT_MATMUL_DESC_TRANSA), &opFirst, 4),
                       "cublasLtMatmulDescSetAttribute(TRANSA)")
        try blas.check(api.cublasLtMatmulDescSetAttribute(desc, Int32(CCUBLASLT_MATMUL_DESC_TRANSB), &opSecond, 4),
                       "cublasLtMatmulDescSetAttribute(TRANSB)")
        func layout(_ type: Int32, rows: Int, cols: Int) throws -> cublasLtMatrixLayout_t {
            var l: cublasLtMatrixLayout_t? = nil
            try blas.check(api.cublasLtMatrixLayoutCreate(&l, type, UInt64(rows), UInt64(cols), Int64(rows)),
                           "cublasLtMatrixLayoutCreate(\(rows)x\(cols))")
            return l!
        }
        // Column-major stored shapes: B row-major (K,N) is (N,K) col-major; transposed (N,K) is (K,N).
        let bLayout = try s.transB ? layout(s.abType, rows: s.k, cols: s.n) : layout(s.abType, rows: s.n, cols: s.k)
        let aLayout = try s.transA ? layout(s.abType, rows: s.m, cols: s.k) : layout(s.abType, rows: s.k, cols: s.m)
        let cLayout = try layout(s.cType, rows: s.n, cols: s.m)
        let p = Plan(api: api, desc: desc!, a: aLayout, b: bLayout, c: cLayout, algo: cublasLtMatmulAlgo_t())
        if let kept = store?.algorithm(for: s) {
            p.algo = kept
        } else {
            guard let first = try heuristic(p, s, count: 1).first else {
                throw CUDAError(call: "cublasLtMatmulAlgoGetHeuristic(m \(s.m), n \(s.n), k \(s.k))", code: 15,
                                message: "no algorithm for this shape and these types")
            }
            p.algo = first
            p.decided = store == nil
        }
        plans[s] = p
        return p
    }

    /// Up to `count` algorithms the heuristic offers for the plan's descriptors within the
    /// workspace and the shape's address alignment.
    private func heuristic(_ plan: Plan, _ s: Shape, count: Int) throws -> [cublasLtMatmulAlgo_t] {
        let api = blas.api
        var pref: cublasLtMatmulPreference_t? = nil
        try blas.check(api.cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate")
        defer { _ = api.cublasLtMatmulPreferenceDestroy(pref) }
        var ws = UInt64(workspaceBytes)
        try blas.check(api.cublasLtMatmulPreferenceSetAttribute(pref, Int32(CCUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES), &ws, 8),
                       "cublasLtMatmulPreferenceSetAttribute")
        var align = UInt32(s.alignment)
        for attribute in [CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                          CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES] {
            try blas.check(api.cublasLtMatmulPreferenceSetAttribute(pref, Int32(attribute), &align, 4),
                           "cublasLtMatmulPreferenceSetAttribute(alignment)")
        }
        var results = [cublasLtMatmulHeuristicResult_t](repeating: .init(), count: count)
        var returned: Int32 = 0
        try blas.check(api.cublasLtMatmulAlgoGetHeuristic(handle, plan.desc, plan.bLayout, plan.aLayout, plan.cLayout,
                                                          plan.cLayout, pref, Int32(count), &results, &returned),
                       "cublasLtMatmulAlgoGetHeuristic(m \(s.m), n \(s.n), k \(s.k))")
        return results.prefix(Int(returned)).map(\.algo)
    }
}
