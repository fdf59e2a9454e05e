/// Causal GQA flash attention on bf16 tensor cores (mma.sync m16n8k16, sm_80+), for q, k, v
/// (and dOut) stored as bf16 with 16-byte aligned rows; fp32 accumulation and softmax, P and dS
/// rounded to bf16 as operands of the second product (as FlashAttention 2 does). Appended to
/// the attention source (same `HEAD_DIM`, layouts and outputs as the fp32 kernels there).
///
/// A block is 4 warps; each warp owns 16 rows of a 64-row tile (queries in the forward and dq
/// kernels, keys in the dk/dv kernel) and walks 64-wide tiles of the other side. Fragment
/// layouts follow the PTX ISA for mma.m16n8k16: g = lane / 4, c = lane % 4; an accumulator
/// holds rows g and g+8, columns 2c and 2c+1 of an 8-wide n tile.
let tensorCoreAttentionKernelBody = #"""
#define LDS (HEAD_DIM + 8)          // bf16 row stride of a tile in shared memory (bank-conflict free)
#define NT (HEAD_DIM / 8)           // 8-wide n tiles across the head dimension

__device__ __forceinline__ void mma_bf16(float* acc, const unsigned* a, unsigned b0, unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) { return (unsigned)f2bf(lo) | ((unsigned)f2bf(hi) << 16); }
__device__ __forceinline__ unsigned ld32(const bf16_t* p) { return *reinterpret_cast<const unsigned*>(p); }
__device__ __forceinline__ unsigned ld_pair_down(const bf16_t* p) { return (unsigned)p[0] | ((unsigned)p[LDS] << 16); }

// rows x D bf16 tile of a (B,T,heads,D) tensor into shared memory, 16 bytes at a time; rows past T are 0.
__device__ __forceinline__ void load_tile_bf16(bf16_t* dst, const bf16_t* src, int b, int t0, int rows,
                                               int T, int heads, int head) {
    const int vecs = D / 8;
    for (int idx = threadIdx.x; idx < rows * vecs; idx += blockDim.x) {
        const int r = idx / vecs, c = (idx - r * vecs) * 8, t = t0 + r;
        uint4 val = make_uint4(0u, 0u, 0u, 0u);
        if (t < T) val = *reinterpret_cast<const uint4*>(src + (((i64)b * T + t) * heads + head) * D + c);
        *reinterpret_cast<uint4*>(dst + r * LDS + c) = val;
    }
}

// acc[8][4] (16 rows x 64 cols) = X[r0..r0+16) . Y[0..64)^T over D, X and Y row-major tiles.
__device__ __forceinline__ void rows_times_rows(float (*acc)[4], const bf16_t* X, int r0, const bf16_t* Y, int g, int c) {
#pragma unroll
    for (int j = 0; j < 8; j++) { acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f; }
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        const bf16_t* xa = X + (r0 + g) * LDS + kk * 16 + 2 * c;
        unsigned a[4] = { ld32(xa), ld32(xa + 8 * LDS), ld32(xa + 8), ld32(xa + 8 * LDS + 8) };
#pragma unroll
        for (int j = 0; j < 8; j++) {
            const bf16_t* yb = Y + (j * 8 + g) * LDS + kk * 16 + 2 * c;
            mma_bf16(acc[j], a, ld32(yb), ld32(yb + 8));
        }
    }
}

// out[NT][4] (16 rows x D) += P (16 x 64, accumulator layout in p) . Z[0..64) (64 rows x D tile).
__device__ __forceinline__ void probs_times_tile(float (*out)[4], float (*p)[4], const bf16_t* Z, int g, int c) {
#pragma unroll
    for (int kk = 0; kk < 4; kk++) {
        unsigned a[4] = { pack_bf16(p[2 * kk][0], p[2 * kk][1]), pack_bf16(p[2 * kk][2], p[2 * kk][3]),
                          pack_bf16(p[2 * kk + 1][0], p[2 * kk + 1][1]), pack_bf16(p[2 * kk + 1][2], p[2 * kk + 1][3]) };
        const bf16_t* z = Z + (kk * 16 + 2 * c) * LDS + g;
#pragma unroll
        for (int nt = 0; nt < NT; nt++) mma_bf16(out[nt], a, ld_pair_down(z + nt * 8), ld_pair_down(z + 8 * LDS + nt * 8));
    }
}

// Stores 16 rows x D of accumulators (rows rowA = r and rowB = r + 8) times factor; rows past T skipped.
__device__ __forceinline__ void store_rows(void* dst, int bf, int b, int T, int heads, int head, int rowA,
                                           float (*acc)[4], int c, float factorA, float factorB) {
#pragma unroll
    for (int half = 0; half < 2; half++) {
        const int t = rowA + 8 * half;
        if (t >= T) continue;
        const i64 base = (((i64)b * T + t) * heads + head) * D;
        const float f = half ? factorB : factorA;
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
            st(dst, base + nt * 8 + 2 * c, bf, acc[nt][2 * half] * f);
            st(dst, base + nt * 8 + 2 * c + 1, bf, acc[nt][2 * half + 1] * f);
        }
    }
}

// Forward: grid (ceil(T/64), H, B), 128 threads.
extern "C" __global__ void __launch_bounds__(128) attention_forward_tc(
    void* out, int obf, float* lse, const bf16_t* q, const bf16_t* k, const bf16_t* v, int T, int H, int Hkv, float scale)
{
    extern __shared__ __align__(16) unsigned char smemBytes[];
    bf16_t* Qs = reinterpret_cast<bf16_t*>(smemBytes);
    bf16_t* Ks = Qs + 64 * LDS;
    bf16_t* Vs = Ks + 64 * LDS;
    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * 64, grp = h / (H / Hkv);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int rowA = q0 + warp * 16 + g, rowB = rowA + 8;
    load_tile_bf16(Qs, q, b, q0, 64, T, H, h);
    float o[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; nt++) { o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f; }
    float mA = NEG_INF, mB = NEG_INF, lA = 0.0f, lB = 0.0f;
    const int keyEnd = min(q0 + 64, T);
    for (int k0 = 0; k0 < keyEnd; k0 += 64) {
        __syncthreads();
        load_tile_bf16(Ks, k, b, k0, 64, T, Hkv, grp);
        load_tile_bf16(Vs, v, b, k0, 64, T, Hkv, grp);
        __syncthreads();
        float s[8][4];
        rows_times_rows(s, Qs, warp * 16, Ks, g, c);
        float maxA = NEG_INF, maxB = NEG_INF;
#pragma unroll
        for (int j = 0; j < 8; j++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int key = k0 + j * 8 + 2 * c + (e & 1), row = e < 2 ? rowA : rowB;
                s[j][e] = key <= row ? s[j][e] * scale : NEG_INF;
            }
            maxA = fmaxf(maxA, fmaxf(s[j][0], s[j][1]));
            maxB = fmaxf(maxB, fmaxf(s[j][2], s[j][3]));
        }
        maxA = fmaxf(maxA, __shfl_xor_sync(0xffffffffu, maxA, 1)); maxA = fmaxf(maxA, __shfl_xor_sync(0xffffffffu, maxA, 2));
        maxB = fmaxf(maxB, __shfl_xor_sync(0xffffffffu, maxB, 1)); maxB = fmaxf(maxB, __shfl_xor_sync(0xffffffffu, maxB, 2));
        const float newA = fmaxf(mA, maxA), newB = fmaxf(mB, maxB);
        // Rows past T may see no valid key: keep them finite (never stored).
        const float baseA = newA == NEG_INF ? 0.0f : newA, baseB = newB == NEG_INF ? 0.0f : newB;
        float sumA = 0.0f, sumB = 0.0f;
#pragma unroll
        for (int j = 0; j < 8; j++) {
            s[j][0] = expf(s[j][0] - baseA); s[j][1] = expf(s[j][1] - baseA);
            s[j][2] = expf(s[j][2] - baseB); s[j][3] = expf(s[j][3] - baseB);
            sumA += s[j][0] + s[j][1];
            sumB += s[j][2] + s[j][3];
        }
        sumA += __shfl_xor_sync(0xffffffffu, sumA, 1); sumA += __shfl_xor_sync(0xffffffffu, sumA, 2);
        sumB += __shfl_xor_sync(0xffffffffu, sumB, 1); sumB += __shfl_xor_sync(0xffffffffu, sumB, 2);
        const float corrA = mA == NEG_INF ? 0.0f : expf(mA - baseA), corrB = mB == NEG_INF ? 0.0f : expf(mB - baseB);
        lA = lA * corrA + sumA; lB = lB * corrB + sumB;
        mA = newA; mB = newB;
#pragma unroll
        for (int nt = 0; nt < NT; nt++) { o[nt][0] *= corrA; o[nt][1] *= corrA; o[nt][2] *= corrB; o[nt][3] *= corrB; }
        probs_times_tile(o, s, Vs, g, c);
    }
    store_rows(out, obf, b, T, H, h, rowA, o, c, 1.0f / lA, 1.0f / lB);
    if (c == 0) {
        if (rowA < T) lse[((i64)b * H + h) * T + rowA] = mA + logf(lA);
        if (rowB < T) lse[((i64)b * H + h) * T + rowB] = mB + logf(lB);
    }
}

// dq: grid (ceil(T/64), H, B), 128 threads. dS = P (dOut v^T - delta); dq = scale dS k.
extern "C" __global__ void __launch_bounds__(128) attention_backward_query_tc(
    void* dq, int dqbf, const bf16_t* dout, const bf16_t* q, const bf16_t* k, const bf16_t* v,
    const float* lse, const float* delta, int T, int H, int Hkv, float scale)
{
    extern __shared__ __align__(16) unsigned char smemBytes[];
    bf16_t* Qs = reinterpret_cast<bf16_t*>(smemBytes);
    bf16_t* Os = Qs + 64 * LDS;
    bf16_t* Ks = Os + 64 * LDS;
    bf16_t* Vs = Ks + 64 * LDS;
    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * 64, grp = h / (H / Hkv);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int rowA = q0 + warp * 16 + g, rowB = rowA + 8;
    load_tile_bf16(Qs, q, b, q0, 64, T, H, h);
    load_tile_bf16(Os, dout, b, q0, 64, T, H, h);
    const i64 statA = ((i64)b * H + h) * T + rowA;
    const float lseA = rowA < T ? lse[statA] : 0.0f, lseB = rowB < T ? lse[statA + 8] : 0.0f;
    const float deltaA = rowA < T ? delta[statA] : 0.0f, deltaB = rowB < T ? delta[statA + 8] : 0.0f;
    float acc[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; nt++) { acc[nt][0] = acc[nt][1] = acc[nt][2] = acc[nt][3] = 0.0f; }
    const int keyEnd = min(q0 + 64, T);
    for (int k0 = 0; k0 < keyEnd; k0 += 64) {
        __syncthreads();
        load_tile_bf16(Ks, k, b, k0, 64, T, Hkv, grp);
        load_tile_bf16(Vs, v, b, k0, 64, T, Hkv, grp);
        __syncthreads();
        float s[8][4], dp[8][4];
        rows_times_rows(s, Qs, warp * 16, Ks, g, c);
        rows_times_rows(dp, Os, warp * 16, Vs, g, c);
#pragma unroll
        for (int j = 0; j < 8; j++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int key = k0 + j * 8 + 2 * c + (e & 1), row = e < 2 ? rowA : rowB;
                const float p = key <= row && row < T ? expf(s[j][e] * scale - (e < 2 ? lseA : lseB)) : 0.0f;
                s[j][e] = p * (dp[j][e] - (e < 2 ? deltaA : deltaB));
            }
        }
        probs_times_tile(acc, s, Ks, g, c);
    }
    store_rows(dq, dqbf, b, T, H, h, rowA, acc, c, scale, scale);
}

// dk, dv: grid (ceil(T/64), Hkv, B), 128 threads; a warp owns 16 keys, walks every query head
// of its group and every 64-query tile at or after its keys. dv = P^T dOut, dk = scale dS^T q.
extern "C" __global__ void __launch_bounds__(128) attention_backward_key_value_tc(
    void* dk, int dkbf, void* dv, int dvbf, const bf16_t* dout, const bf16_t* q, const bf16_t* k, const bf16_t* v,
    const float* lse, const float* delta, int T, int H, int Hkv, float scale)
{
    extern __shared__ __align__(16) unsigned char smemBytes[];
    bf16_t* Ks = reinterpret_cast<bf16_t*>(smemBytes);
    bf16_t* Vs = Ks + 64 * LDS;
    bf16_t* Qs = Vs + 64 * LDS;
    bf16_t* Os = Qs + 64 * LDS;
    __shared__ float tileLse[64], tileDelta[64];
    const int b = blockIdx.z, grp = blockIdx.y, k0 = blockIdx.x * 64;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int keyA = k0 + warp * 16 + g, keyB = keyA + 8;
    const int group = H / Hkv;
    load_tile_bf16(Ks, k, b, k0, 64, T, Hkv, grp);
    load_tile_bf16(Vs, v, b, k0, 64, T, Hkv, grp);
    float dkAcc[NT][4], dvAcc[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; nt++) {
        dkAcc[nt][0] = dkAcc[nt][1] = dkAcc[nt][2] = dkAcc[nt][3] = 0.0f;
        dvAcc[nt][0] = dvAcc[nt][1] = dvAcc[nt][2] = dvAcc[nt][3] = 0.0f;
    }
    for (int h = grp * group; h < (grp + 1) * group; h++) {
        for (int q0 = k0; q0 < T; q0 += 64) {
            __syncthreads();
            load_tile_bf16(Qs, q, b, q0, 64, T, H, h);
            load_tile_bf16(Os, dout, b, q0, 64, T, H, h);
            if (threadIdx.x < 64) {
                const int t = q0 + threadIdx.x;
                const i64 stat = ((i64)b * H + h) * T + t;
                tileLse[threadIdx.x] = t < T ? lse[stat] : 0.0f;
                tileDelta[threadIdx.x] = t < T ? delta[stat] : 0.0f;
            }
            __syncthreads();
            float p[8][4], ds[8][4];
            rows_times_rows(p, Ks, warp * 16, Qs, g, c);     // S^T: keys x queries
            rows_times_rows(ds, Vs, warp * 16, Os, g, c);    // dP^T
#pragma unroll
            for (int j = 0; j < 8; j++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int col = j * 8 + 2 * c + (e & 1), query = q0 + col, key = e < 2 ? keyA : keyB;
                    const float pr = key <= query && query < T ? expf(p[j][e] * scale - tileLse[col]) : 0.0f;
                    p[j][e] = pr;
                    ds[j][e] = pr * (ds[j][e] - tileDelta[col]);
                }
            }
            probs_times_tile(dvAcc, p, Os, g, c);
            probs_times_tile(dkAcc, ds, Qs, g, c);
        }
    }
    store_rows(dk, dkbf, b, T, Hkv, grp, keyA, dkAcc, c, scale, scale);
    store_rows(dv, dvbf, b, T, Hkv, grp, keyA, dvAcc, c, 1.0f, 1.0f);
}
"""#
