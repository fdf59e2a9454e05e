/// Causal grouped-query flash attention, fp32 math on tiles in shared memory, for any head
/// dimension (the tensor-core kernels take multiples of 16 up to 128; these take the rest and
/// f32 storage). The source is compiled once per head dimension (`HEAD_DIM`); tiles are
/// `HEAD_DIM_PADDED` (the next multiple of 16) wide in shared memory, zero beyond `HEAD_DIM`,
/// so per-thread accumulators are register arrays indexed only by unrolled loops.
///
/// Layouts: q, out, dOut, dq (B,T,H,D); k, v, dk, dv (B,T,Hkv,D); lse, delta (B,H,T) f32.
/// Threads: 256 per block, 4 per tile row (`quad`); a row's thread owns the 4-float column
/// chunks quad, quad+4, ... (so the 4 threads of a row read 64 contiguous bytes) and the keys
/// (or queries) quad, quad+4, ... of the other tile dimension.
func attentionKernelSource(headDim: Int) -> String {
    "#define HEAD_DIM \(headDim)\n#define HEAD_DIM_PADDED \(AttentionSharedMemory.padded(headDim))\n" + kernelPrelude
        + attentionKernelBody + "\n" + (TensorCoreAttention.takes(headDim: headDim) ? tensorCoreAttentionKernelBody : "")
}

/// Bytes of dynamic shared memory each fp32 attention kernel needs for `headDim`.
enum AttentionSharedMemory {
    /// The width of a tile row in shared memory: `headDim` rounded up to a multiple of 16.
    static func padded(_ headDim: Int) -> Int { (headDim + 15) / 16 * 16 }
    static func forward(headDim: Int) -> Int { (64 + 2 * 64) * (padded(headDim) + 4) * 4 + 64 * 68 * 4 }
    static func backwardQuery(headDim: Int) -> Int { 4 * 64 * (padded(headDim) + 4) * 4 + 64 * 68 * 4 }
    static func backwardKeyValue(headDim: Int) -> Int { (2 * 64 + 2 * 32) * (padded(headDim) + 4) * 4 + 2 * 64 * 36 * 4 }
    /// The most any of them needs.
    static func largest(headDim: Int) -> Int {
        max(forward(headDim: headDim), backwardQuery(headDim: headDim), backwardKeyValue(headDim: headDim))
    }
}

private let attentionKernelBody = #"""
#define D HEAD_DIM
#define DPAD HEAD_DIM_PADDED       // tile row width: D rounded up to 16, zeros past D
#define DP (DPAD + 4)              // padded row of a tile (floats, bank-conflict free)
#define CHUNKS (DPAD / 16)         // 4-float column chunks per thread
#define NEG_INF (-INFINITY)

// rows x DPAD tile from a (B,T,heads,D) tensor at (b, t0, head) into shared memory as f32;
// rows past T and columns past D are 0.
__device__ __forceinline__ void load_tile(float* dst, const void* src, int bf, int b, int t0, int rows,
                                          int T, int heads, int head) {
    for (int idx = threadIdx.x; idx < rows * DPAD; idx += blockDim.x) {
        const int r = idx / DPAD, d = idx - r * DPAD, t = t0 + r;
        dst[r * DP + d] = t < T && d < D ? ld(src, (((i64)b * T + t) * heads + head) * D + d, bf) : 0.0f;
    }
}

// dot of two DPAD-float rows in shared memory
__device__ __forceinline__ float dot_rows(const float* a, const float* b) {
    float s = 0.0f;
#pragma unroll 8
    for (int d = 0; d < DPAD; d += 4) {
        const float4 x = *reinterpret_cast<const float4*>(a + d), y = *reinterpret_cast<const float4*>(b + d);
        s += x.x * y.x + x.y * y.y + x.z * y.z + x.w * y.w;
    }
    return s;
}

// acc[chunks of this thread] += p * row[chunks]
__device__ __forceinline__ void axpy_chunks(float* acc, float p, const float* row, int quad) {
#pragma unroll
    for (int k = 0; k < CHUNKS; k++) {
        const float4 v = *reinterpret_cast<const float4*>(row + (quad + 4 * k) * 4);
        acc[4 * k] += p * v.x; acc[4 * k + 1] += p * v.y; acc[4 * k + 2] += p * v.z; acc[4 * k + 3] += p * v.w;
    }
}

// the columns below D of this thread's chunks
__device__ __forceinline__ void store_chunks(void* dst, int bf, i64 base, const float* acc, int quad, float factor) {
#pragma unroll
    for (int k = 0; k < CHUNKS; k++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int d = (quad + 4 * k) * 4 + e;
            if (d < D) st(dst, base + d, bf, acc[4 * k + e] * factor);
        }
}

// Forward: grid (ceil(T/64), H, B). Per query tile, walks the causal key tiles with an online softmax.
extern "C" __global__ void __launch_bounds__(256) attention_forward(
    void* out, int obf, float* lse, const void* q, int qbf, const void* k, int kbf, const void* v, int vbf,
    int T, int H, int Hkv, float scale)
{
    extern __shared__ float smem[];
    float* Qs = smem;                 // 64 x DP
    float* Ks = Qs + 64 * DP;         // 64 x DP
    float* Vs = Ks + 64 * DP;         // 64 x DP
    float* Ps = Vs + 64 * DP;         // 64 x 68
    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * 64, g = h / (H / Hkv);
    const int r = threadIdx.x >> 2, quad = threadIdx.x & 3, qi = q0 + r;
    load_tile(Qs, q, qbf, b, q0, 64, T, H, h);
    float acc[4 * CHUNKS];
#pragma unroll
    for (int i = 0; i < 4 * CHUNKS; i++) acc[i] = 0.0f;
    float m = NEG_INF, l = 0.0f;
    const int keyEnd = min(q0 + 64, T);
    for (int k0 = 0; k0 < keyEnd; k0 += 64) {
        __syncthreads();
        load_tile(Ks, k, kbf, b, k0, 64, T, Hkv, g);
        load_tile(Vs, v, vbf, b, k0, 64, T, Hkv, g);
        __syncthreads();
        float s[16];
        float tileMax = NEG_INF;
#pragma unroll
        for (int jj = 0; jj < 16; jj++) {
            const int kj = k0 + quad + 4 * jj;
            s[jj] = kj <= qi ? dot_rows(Qs + r * DP, Ks + (quad + 4 * jj) * DP) * scale : NEG_INF;
            tileMax = fmaxf(tileMax, s[jj]);
        }
        tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 1));
        tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 2));
        const float mNew = fmaxf(m, tileMax);
        // Rows past T see no valid key: keep them finite (they are never stored).
        const float base = mNew == NEG_INF ? 0.0f : mNew;
        float rowSum = 0.0f;
#pragma unroll
        for (int jj = 0; jj < 16; jj++) {
            const float p = expf(s[jj] - base);
            rowSum += p;
            Ps[r * 68 + quad + 4 * jj] = p;
        }
        rowSum += __shfl_xor_sync(0xffffffffu, rowSum, 1);
        rowSum += __shfl_xor_sync(0xffffffffu, rowSum, 2);
        const float correction = m == NEG_INF ? 0.0f : expf(m - base);
        l = l * correction + rowSum;
        m = mNew;
#pragma unroll
        for (int i = 0; i < 4 * CHUNKS; i++) acc[i] *= correction;
        __syncthreads();
        for (int j = 0; j < 64; j++) axpy_chunks(acc, Ps[r * 68 + j], Vs + j * DP, quad);
    }
    if (qi < T) {
        store_chunks(out, obf, (((i64)b * T + qi) * H + h) * D, acc, quad, 1.0f / l);
        if (quad == 0) lse[((i64)b * H + h) * T + qi] = m + logf(l);
    }
}

// delta (B,H,T) = sum_d dOut * out, one warp per (b, t, h).
extern "C" __global__ void attention_delta(float* delta, const void* dout, int dobf, const void* out, int obf,
                                           int B, int T, int H) {
    const i64 row = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= (i64)B * T * H) return;
    float s = 0.0f;
    for (int d = lane; d < D; d += 32) s += ld(dout, row * D + d, dobf) * ld(out, row * D + d, obf);
    s = warp_sum(s);
    const i64 bt = row / H;
    const int h = (int)(row - bt * H);
    const i64 b = bt / T, t = bt - b * T;
    if (lane == 0) delta[(b * H + h) * T + t] = s;
}

// dq: grid (ceil(T/64), H, B). dS = P * (dOut v^T - delta); dq = scale * dS k.
extern "C" __global__ void __launch_bounds__(256) attention_backward_query(
    void* dq, int dqbf, const void* dout, int dobf, const void* q, int qbf, const void* k, int kbf,
    const void* v, int vbf, const float* lse, const float* delta, int T, int H, int Hkv, float scale)
{
    extern __shared__ float smem[];
    float* Qs = smem;                 // 64 x DP
    float* Os = Qs + 64 * DP;         // dOut tile, 64 x DP
    float* Ks = Os + 64 * DP;         // 64 x DP
    float* Vs = Ks + 64 * DP;         // 64 x DP
    float* Ss = Vs + 64 * DP;         // dS, 64 x 68
    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * 64, g = h / (H / Hkv);
    const int r = threadIdx.x >> 2, quad = threadIdx.x & 3, qi = q0 + r;
    load_tile(Qs, q, qbf, b, q0, 64, T, H, h);
    load_tile(Os, dout, dobf, b, q0, 64, T, H, h);
    const i64 stat = ((i64)b * H + h) * T + qi;
    const float rowLse = qi < T ? lse[stat] : 0.0f, rowDelta = qi < T ? delta[stat] : 0.0f;
    float acc[4 * CHUNKS];
#pragma unroll
    for (int i = 0; i < 4 * CHUNKS; i++) acc[i] = 0.0f;
    const int keyEnd = min(q0 + 64, T);
    for (int k0 = 0; k0 < keyEnd; k0 += 64) {
        __syncthreads();
        load_tile(Ks, k, kbf, b, k0, 64, T, Hkv, g);
        load_tile(Vs, v, vbf, b, k0, 64, T, Hkv, g);
        __syncthreads();
#pragma unroll 4
        for (int jj = 0; jj < 16; jj++) {
            const int j = quad + 4 * jj, kj = k0 + j;
            float ds = 0.0f;
            if (kj <= qi && qi < T) {
                const float p = expf(dot_rows(Qs + r * DP, Ks + j * DP) * scale - rowLse);
                ds = p * (dot_rows(Os + r * DP, Vs + j * DP) - rowDelta);
            }
            Ss[r * 68 + j] = ds;
        }
        __syncthreads();
        for (int j = 0; j < 64; j++) axpy_chunks(acc, Ss[r * 68 + j], Ks + j * DP, quad);
    }
    if (qi < T) store_chunks(dq, dqbf, (((i64)b * T + qi) * H + h) * D, acc, quad, scale);
}

// dk, dv: grid (ceil(T/64), Hkv, B); one block owns 64 keys of one kv head and walks every query
// head of its group and every query tile at or after its keys (32 queries per tile):
// dv = sum P^T dOut, dk = scale * sum dS^T q. Overwrites dk and dv.
extern "C" __global__ void __launch_bounds__(256) attention_backward_key_value(
    void* dk, int dkbf, void* dv, int dvbf, const void* dout, int dobf, const void* q, int qbf,
    const void* k, int kbf, const void* v, int vbf, const float* lse, const float* delta,
    int T, int H, int Hkv, float scale)
{
    extern __shared__ float smem[];
    float* Ks = smem;                 // 64 x DP
    float* Vs = Ks + 64 * DP;         // 64 x DP
    float* Qs = Vs + 64 * DP;         // 32 x DP
    float* Os = Qs + 32 * DP;         // dOut tile, 32 x DP
    float* Pt = Os + 32 * DP;         // P^T, 64 x 36
    float* St = Pt + 64 * 36;         // dS^T, 64 x 36
    __shared__ float rowLse[32], rowDelta[32];
    const int b = blockIdx.z, g = blockIdx.y, k0 = blockIdx.x * 64;
    const int c = threadIdx.x >> 2, quad = threadIdx.x & 3, kc = k0 + c;
    const int group = H / Hkv;
    load_tile(Ks, k, kbf, b, k0, 64, T, Hkv, g);
    load_tile(Vs, v, vbf, b, k0, 64, T, Hkv, g);
    float dkAcc[4 * CHUNKS], dvAcc[4 * CHUNKS];
#pragma unroll
    for (int i = 0; i < 4 * CHUNKS; i++) { dkAcc[i] = 0.0f; dvAcc[i] = 0.0f; }
    for (int h = g * group; h < (g + 1) * group; h++) {
        for (int q0 = (k0 / 32) * 32; q0 < T; q0 += 32) {
            __syncthreads();
            load_tile(Qs, q, qbf, b, q0, 32, T, H, h);
            load_tile(Os, dout, dobf, b, q0, 32, T, H, h);
            if (threadIdx.x < 32) {
                const int t = q0 + threadIdx.x;
                const i64 stat = ((i64)b * H + h) * T + t;
                rowLse[threadIdx.x] = t < T ? lse[stat] : 0.0f;
                rowDelta[threadIdx.x] = t < T ? delta[stat] : 0.0f;
            }
            __syncthreads();
#pragma unroll 2
            for (int ii = 0; ii < 8; ii++) {
                const int i = quad + 4 * ii, qi = q0 + i;
                float p = 0.0f, ds = 0.0f;
                if (kc <= qi && qi < T) {
                    p = expf(dot_rows(Qs + i * DP, Ks + c * DP) * scale - rowLse[i]);
                    ds = p * (dot_rows(Os + i * DP, Vs + c * DP) - rowDelta[i]);
                }
                Pt[c * 36 + i] = p;
                St[c * 36 + i] = ds;
            }
            __syncthreads();
            for (int i = 0; i < 32; i++) {
                axpy_chunks(dvAcc, Pt[c * 36 + i], Os + i * DP, quad);
                axpy_chunks(dkAcc, St[c * 36 + i], Qs + i * DP, quad);
            }
        }
    }
    if (kc < T) {
        const i64 base = (((i64)b * T + kc) * Hkv + g) * D;
        store_chunks(dk, dkbf, base, dkAcc, quad, scale);
        store_chunks(dv, dvbf, base, dvAcc, quad, 1.0f);
    }
}
"""#
