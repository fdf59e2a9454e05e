/// Block shapes and shared memory of the tensor-core attention kernels below.
enum TensorCoreAttention {
    /// Head dims these kernels take (others take the fp32 kernels of AttentionKernels.swift).
    static func takes(headDim: Int) -> Bool { headDim > 0 && headDim % 16 == 0 && headDim <= 128 }

    /// Forward: 8 warps of 16 query rows each.
    static let threads = 256
    static let blockRows = 128
    /// Backward (dq, and dk/dv): 4 warps of 16 rows (queries, or keys), two or more blocks per
    /// SM, so that one block's barriers and loads overlap another's mma work.
    static let backwardThreads = 128
    static let backwardRows = 64

    /// bf16 tiles with rows of headDim + 8 elements: the block's rows (one tile forward, two
    /// backward) and two pipeline stages of two 64-row tiles; dk/dv adds lse and delta per stage.
    static func forwardShared(headDim: Int) -> Int { (blockRows + 2 * 2 * 64) * (headDim + 8) * 2 }
    static func backwardQueryShared(headDim: Int) -> Int { (2 * backwardRows + 2 * 2 * 64) * (headDim + 8) * 2 }
    static func backwardKeyValueShared(headDim: Int) -> Int { backwardQueryShared(headDim: headDim) + 2 * 2 * 64 * 4 }
}

/// Causal GQA flash attention on bf16 tensor cores (mma.sync m16n8k16, sm_80+), for q, k, v
/// (and dOut) stored as bf16 with 16-byte aligned rows; fp32 accumulation and softmax, P and dS
/// rounded to bf16 as operands of the second product (as FlashAttention 2 does). Appended to
/// the attention source (same `HEAD_DIM`, layouts and outputs as the fp32 kernels there).
///
/// Each warp owns 16 rows of its block's tile (queries in the forward and dq kernels, keys in
/// the dk/dv kernel): the forward's blocks are 8 warps (128 rows), the backward's 4 (64 rows,
/// two or more blocks per SM as the registers allow). It walks 64-row tiles of the other side,
/// which cp.async loads into shared memory one tile ahead (two stages) while the current one is
/// computed.
/// Fragments come from shared memory by ldmatrix (.trans for the operand whose k runs along
/// rows); softmax runs in base 2 with log2(e) folded into the score scale, exponentials and
/// bf16 packing take one instruction each (ex2.approx, cvt.rn.bf16x2: the kernels are bound by
/// instruction issue, not by the tensor cores). Fragment layouts
/// follow the PTX ISA for mma.m16n8k16: g = lane / 4, c = lane % 4; an accumulator holds rows g
/// and g+8, columns 2c and 2c+1 of an 8-wide n tile. Blocks with the most causal work start first.
let tensorCoreAttentionKernelBody = #"""
#define LDS (HEAD_DIM + 8)          // bf16 row stride of a tile in shared memory (16-byte rows, ldmatrix conflict-free)
#define NT (HEAD_DIM / 8)           // 8-wide n tiles across the head dimension
#define TILE_BYTES (64 * LDS * 2)   // one 64-row tile
#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f
#define BWD_ROWS 64                 // rows (queries for dq, keys for dk/dv) per backward block: 4 warps
#define BWD_TILE_BYTES (BWD_ROWS * LDS * 2)
// dq blocks per SM the register budget aims at: 4 up to head dim 64 (128 registers, as many
// warps as the forward), else 2 (255).
#define DQ_BLOCKS_PER_SM (HEAD_DIM <= 64 ? 4 : 2)

__device__ __forceinline__ void mma_bf16(float* acc, const unsigned* a, unsigned b0, unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// Two floats rounded to nearest-even bf16 in one instruction (sm_80+), lo in the low half.
__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
    unsigned r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}
// 2^x by the special-function unit alone (flush-to-zero; relative error ~2^-22).
__device__ __forceinline__ float fast_exp2(float x) {
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(r) : "f"(x));
    return r;
}
__device__ __forceinline__ unsigned smem_address(const void* p) {
    unsigned a;
    asm volatile("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }\n" : "=r"(a) : "l"(p));
    return a;
}
__device__ __forceinline__ void ldmatrix_x4(unsigned* r, unsigned address) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(address));
}
__device__ __forceinline__ void ldmatrix_x4_trans(unsigned* r, unsigned address) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(address));
}
// 16 (or `bytes` < 16, the rest zero-filled) bytes global -> shared, asynchronous.
__device__ __forceinline__ void cp_async16(unsigned dst, const void* src, int bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" :: "r"(dst), "l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void cp_async4(unsigned dst, const void* src, int bytes) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" :: "r"(dst), "l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most `pending` committed groups of this thread are still in flight.
template <int pending> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" :: "n"(pending) : "memory");
}

// rows x D bf16 tile of a (B,T,heads,D) tensor into shared memory at `dst` (row stride LDS),
// asynchronously; rows past T are zero-filled.
__device__ __forceinline__ void load_tile_async(unsigned dst, const bf16_t* src, int b, int t0, int rows,
                                                int T, int heads, int head) {
    const int vecs = D / 8;
    for (int idx = threadIdx.x; idx < rows * vecs; idx += blockDim.x) {
        const int r = idx / vecs, col = (idx - r * vecs) * 8, t = t0 + r;
        const bf16_t* from = src + (((i64)b * T + min(t, T - 1)) * heads + head) * D + col;
        cp_async16(dst + (r * LDS + col) * 2, from, t < T ? 16 : 0);
    }
}

// acc[8][4] (16 rows x 64 cols) = X[r0..r0+16) . Y[0..64)^T over D; X and Y row-major tiles
// (A rows and B columns both along rows of shared memory).
__device__ __forceinline__ void rows_times_rows(float (*acc)[4], unsigned X, int r0, unsigned Y, int lane) {
#pragma unroll
    for (int j = 0; j < 8; j++) { acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f; }
    const int aRow = r0 + (lane & 7) + ((lane >> 3) & 1) * 8, aCol = (lane >> 4) * 8;
    const int bRow = (lane & 7) + (lane >> 4) * 8, bCol = ((lane >> 3) & 1) * 8;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        unsigned a[4];
        ldmatrix_x4(a, X + (aRow * LDS + kk * 16 + aCol) * 2);
#pragma unroll
        for (int jp = 0; jp < 4; jp++) {
            unsigned bf[4];     // n tiles 2jp, 2jp+1
            ldmatrix_x4(bf, Y + ((jp * 16 + bRow) * LDS + kk * 16 + bCol) * 2);
            mma_bf16(acc[2 * jp], a, bf[0], bf[1]);
            mma_bf16(acc[2 * jp + 1], a, bf[2], bf[3]);
        }
    }
}

// out[NT][4] (16 rows x D) += P (16 x 64, accumulator layout in p, rounded to bf16) . Z[0..64) (64 rows x D tile).
__device__ __forceinline__ void probs_times_tile(float (*out)[4], float (*p)[4], unsigned Z, int lane) {
    const int zRow = (lane & 7) + ((lane >> 3) & 1) * 8, zCol = (lane >> 4) * 8;
#pragma unroll
    for (int kk = 0; kk < 4; kk++) {
        const unsigned a[4] = { pack_bf16(p[2 * kk][0], p[2 * kk][1]), pack_bf16(p[2 * kk][2], p[2 * kk][3]),
                                pack_bf16(p[2 * kk + 1][0], p[2 * kk + 1][1]), pack_bf16(p[2 * kk + 1][2], p[2 * kk + 1][3]) };
#pragma unroll
        for (int np = 0; np < NT / 2; np++) {
            unsigned bf[4];     // n tiles 2np, 2np+1
            ldmatrix_x4_trans(bf, Z + ((kk * 16 + zRow) * LDS + np * 16 + zCol) * 2);
            mma_bf16(out[2 * np], a, bf[0], bf[1]);
            mma_bf16(out[2 * np + 1], a, bf[2], bf[3]);
        }
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
            const float x = acc[nt][2 * half] * f, y = acc[nt][2 * half + 1] * f;
            if (bf) *reinterpret_cast<unsigned*>((bf16_t*)dst + base + nt * 8 + 2 * c) = pack_bf16(x, y);
            else *reinterpret_cast<float2*>((float*)dst + base + nt * 8 + 2 * c) = make_float2(x, y);
        }
    }
}

__device__ __forceinline__ void zero_rows(float (*acc)[4]) {
#pragma unroll
    for (int nt = 0; nt < NT; nt++) { acc[nt][0] = acc[nt][1] = acc[nt][2] = acc[nt][3] = 0.0f; }
}

// Forward: grid (ceil(T/128), H, B), 256 threads. Key tiles [0, end of the block's queries).
extern "C" __global__ void __launch_bounds__(256, 2) attention_forward_tc(
    void* out, int obf, float* lse, const bf16_t* q, const bf16_t* k, const bf16_t* v, int T, int H, int Hkv, float scale)
{
    extern __shared__ __align__(16) unsigned char smemBytes[];
    const unsigned Qs = smem_address(smemBytes);         // 128 x LDS
    const unsigned Ks = Qs + 2 * TILE_BYTES;             // 2 stages x 64 x LDS
    const unsigned Vs = Ks + 2 * TILE_BYTES;             // 2 stages x 64 x LDS
    const int b = blockIdx.z, h = blockIdx.y, q0 = (gridDim.x - 1 - blockIdx.x) * 128, grp = h / (H / Hkv);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int w0 = q0 + warp * 16, rowA = w0 + g, rowB = rowA + 8;
    const float scale2 = scale * LOG2E;
    const int tiles = (min(q0 + 128, T) + 63) / 64;
    load_tile_async(Qs, q, b, q0, 128, T, H, h);
    load_tile_async(Ks, k, b, 0, 64, T, Hkv, grp);
    load_tile_async(Vs, v, b, 0, 64, T, Hkv, grp);
    cp_async_commit();
    float o[NT][4];
    zero_rows(o);
    float mA = NEG_INF, mB = NEG_INF, lA = 0.0f, lB = 0.0f;   // running max (base 2) and sum per row
    for (int kt = 0; kt < tiles; kt++) {
        if (kt + 1 < tiles) {
            const unsigned next = ((kt + 1) & 1) * TILE_BYTES;
            load_tile_async(Ks + next, k, b, (kt + 1) * 64, 64, T, Hkv, grp);
            load_tile_async(Vs + next, v, b, (kt + 1) * 64, 64, T, Hkv, grp);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const int k0 = kt * 64;
        const unsigned stage = (kt & 1) * TILE_BYTES;
        if (k0 <= w0 + 15) {    // the warp's rows see some key of this tile
            float s[8][4];
            rows_times_rows(s, Qs, warp * 16, Ks + stage, lane);
            const bool diagonal = k0 + 63 > w0;
            float maxA = NEG_INF, maxB = NEG_INF;
#pragma unroll
            for (int j = 0; j < 8; j++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int key = k0 + j * 8 + 2 * c + (e & 1), row = e < 2 ? rowA : rowB;
                    s[j][e] = diagonal && key > row ? NEG_INF : s[j][e] * scale2;
                }
                maxA = fmaxf(maxA, fmaxf(s[j][0], s[j][1]));
                maxB = fmaxf(maxB, fmaxf(s[j][2], s[j][3]));
            }
            maxA = fmaxf(maxA, __shfl_xor_sync(0xffffffffu, maxA, 1)); maxA = fmaxf(maxA, __shfl_xor_sync(0xffffffffu, maxA, 2));
            maxB = fmaxf(maxB, __shfl_xor_sync(0xffffffffu, maxB, 1)); maxB = fmaxf(maxB, __shfl_xor_sync(0xffffffffu, maxB, 2));
            const float newA = fmaxf(mA, maxA), newB = fmaxf(mB, maxB);
            // A row that has seen no valid key yet keeps a finite base (its terms are all 0).
            const float baseA = newA == NEG_INF ? 0.0f : newA, baseB = newB == NEG_INF ? 0.0f : newB;
            float sumA = 0.0f, sumB = 0.0f;
#pragma unroll
            for (int j = 0; j < 8; j++) {
                s[j][0] = fast_exp2(s[j][0] - baseA); s[j][1] = fast_exp2(s[j][1] - baseA);
                s[j][2] = fast_exp2(s[j][2] - baseB); s[j][3] = fast_exp2(s[j][3] - baseB);
                sumA += s[j][0] + s[j][1];
                sumB += s[j][2] + s[j][3];
            }
            sumA += __shfl_xor_sync(0xffffffffu, sumA, 1); sumA += __shfl_xor_sync(0xffffffffu, sumA, 2);
            sumB += __shfl_xor_sync(0xffffffffu, sumB, 1); sumB += __shfl_xor_sync(0xffffffffu, sumB, 2);
            const float corrA = fast_exp2(mA - baseA), corrB = fast_exp2(mB - baseB);    // 0 while m is -inf
            lA = lA * corrA + sumA; lB = lB * corrB + sumB;
            mA = newA; mB = newB;
#pragma unroll
            for (int nt = 0; nt < NT; nt++) { o[nt][0] *= corrA; o[nt][1] *= corrA; o[nt][2] *= corrB; o[nt][3] *= corrB; }
            probs_times_tile(o, s, Vs + stage, lane);
        }
        __syncthreads();    // the next iteration's loads overwrite this stage
    }
    store_rows(out, obf, b, T, H, h, rowA, o, c, 1.0f / lA, 1.0f / lB);
    if (c == 0) {
        if (rowA < T) lse[((i64)b * H + h) * T + rowA] = (mA + log2f(lA)) * LN2;
        if (rowB < T) lse[((i64)b * H + h) * T + rowB] = (mB + log2f(lB)) * LN2;
    }
}

// dq: grid (ceil(T/BWD_ROWS), H, B), 128 threads. dS = P (dOut v^T - delta); dq = scale dS k.
extern "C" __global__ void __launch_bounds__(128, DQ_BLOCKS_PER_SM) attention_backward_query_tc(
    void* dq, int dqbf, const bf16_t* dout, const bf16_t* q, const bf16_t* k, const bf16_t* v,
    const float* lse, const float* delta, int T, int H, int Hkv, float scale)
{
    extern __shared__ __align__(16) unsigned char smemBytes[];
    const unsigned Qs = smem_address(smemBytes);         // BWD_ROWS x LDS
    const unsigned Os = Qs + BWD_TILE_BYTES;             // dOut, BWD_ROWS x LDS
    const unsigned Ks = Os + BWD_TILE_BYTES;             // 2 stages x 64 x LDS
    const unsigned Vs = Ks + 2 * TILE_BYTES;             // 2 stages x 64 x LDS
    const int b = blockIdx.z, h = blockIdx.y, q0 = (gridDim.x - 1 - blockIdx.x) * BWD_ROWS, grp = h / (H / Hkv);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int w0 = q0 + warp * 16, rowA = w0 + g, rowB = rowA + 8;
    const float scale2 = scale * LOG2E;
    const int tiles = (min(q0 + BWD_ROWS, T) + 63) / 64;
    load_tile_async(Qs, q, b, q0, BWD_ROWS, T, H, h);
    load_tile_async(Os, dout, b, q0, BWD_ROWS, T, H, h);
    load_tile_async(Ks, k, b, 0, 64, T, Hkv, grp);
    load_tile_async(Vs, v, b, 0, 64, T, Hkv, grp);
    cp_async_commit();
    const i64 statA = ((i64)b * H + h) * T + rowA;
    // Rows past T get finite stand-ins (their dq is never stored).
    const float lseA = rowA < T ? lse[statA] * LOG2E : 0.0f, lseB = rowB < T ? lse[statA + 8] * LOG2E : 0.0f;
    const float deltaA = rowA < T ? delta[statA] : 0.0f, deltaB = rowB < T ? delta[statA + 8] : 0.0f;
    float acc[NT][4];
    zero_rows(acc);
    for (int kt = 0; kt < tiles; kt++) {
        if (kt + 1 < tiles) {
            const unsigned next = ((kt + 1) & 1) * TILE_BYTES;
            load_tile_async(Ks + next, k, b, (kt + 1) * 64, 64, T, Hkv, grp);
            load_tile_async(Vs + next, v, b, (kt + 1) * 64, 64, T, Hkv, grp);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const int k0 = kt * 64;
        const unsigned stage = (kt & 1) * TILE_BYTES;
        if (k0 <= w0 + 15) {
            float s[8][4], dp[8][4];
            rows_times_rows(s, Qs, warp * 16, Ks + stage, lane);
            rows_times_rows(dp, Os, warp * 16, Vs + stage, lane);
            const bool diagonal = k0 + 63 > w0;
#pragma unroll
            for (int j = 0; j < 8; j++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int key = k0 + j * 8 + 2 * c + (e & 1), row = e < 2 ? rowA : rowB;
                    const float p = diagonal && key > row ? 0.0f : fast_exp2(s[j][e] * scale2 - (e < 2 ? lseA : lseB));
                    s[j][e] = p * (dp[j][e] - (e < 2 ? deltaA : deltaB));
                }
            }
            probs_times_tile(acc, s, Ks + stage, lane);
        }
        __syncthreads();
    }
    store_rows(dq, dqbf, b, T, H, h, rowA, acc, c, scale, scale);
}

// dk, dv: grid (ceil(T/BWD_ROWS), Hkv, B), 128 threads; a warp owns 16 keys of the block's 64; the
// block walks every query head of its group and every 64-query tile at or after its keys.
// dv = P^T dOut, dk = scale dS^T q.
extern "C" __global__ void __launch_bounds__(128, 2) attention_backward_key_value_tc(
    void* dk, int dkbf, void* dv, int dvbf, const bf16_t* dout, const bf16_t* q, const bf16_t* k, const bf16_t* v,
    const float* lse, const float* delta, int T, int H, int Hkv, float scale)
{
    extern __shared__ __align__(16) unsigned char smemBytes[];
    const unsigned Ks = smem_address(smemBytes);         // BWD_ROWS x LDS
    const unsigned Vs = Ks + BWD_TILE_BYTES;             // BWD_ROWS x LDS
    const unsigned Qs = Vs + BWD_TILE_BYTES;             // 2 stages x 64 x LDS
    const unsigned Os = Qs + 2 * TILE_BYTES;             // dOut, 2 stages x 64 x LDS
    const unsigned statsOffset = 2 * BWD_TILE_BYTES + 4 * TILE_BYTES;
    float* stats = reinterpret_cast<float*>(smemBytes + statsOffset);   // 2 stages x (lse[64], delta[64])
    const unsigned statsAddress = Ks + statsOffset;
    const int b = blockIdx.z, grp = blockIdx.y, k0 = blockIdx.x * BWD_ROWS, group = H / Hkv;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
    const int w0 = k0 + warp * 16, keyA = w0 + g, keyB = keyA + 8;
    const float scale2 = scale * LOG2E;
    const int queryTiles = (T - k0 + 63) / 64, steps = group * queryTiles;
    // Step i: query head grp * group + i / queryTiles, queries k0 + (i % queryTiles) * 64 onward.
    auto loadStep = [&](int i, int st) {
        const int h = grp * group + i / queryTiles, q0 = k0 + (i % queryTiles) * 64;
        load_tile_async(Qs + st * TILE_BYTES, q, b, q0, 64, T, H, h);
        load_tile_async(Os + st * TILE_BYTES, dout, b, q0, 64, T, H, h);
        if (threadIdx.x < 128) {
            const int r = threadIdx.x & 63, t = q0 + r;
            const float* src = (threadIdx.x < 64 ? lse : delta) + ((i64)b * H + h) * T + min(t, T - 1);
            cp_async4(statsAddress + (st * 128 + threadIdx.x) * 4, src, t < T ? 4 : 0);
        }
    };
    load_tile_async(Ks, k, b, k0, BWD_ROWS, T, Hkv, grp);
    load_tile_async(Vs, v, b, k0, BWD_ROWS, T, Hkv, grp);
    loadStep(0, 0);
    cp_async_commit();
    float dkAcc[NT][4], dvAcc[NT][4];
    zero_rows(dkAcc);
    zero_rows(dvAcc);
    for (int i = 0; i < steps; i++) {
        if (i + 1 < steps) {
            loadStep(i + 1, (i + 1) & 1);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const int q0 = k0 + (i % queryTiles) * 64, st = i & 1;
        const float* tileLse = stats + st * 128;
        const float* tileDelta = tileLse + 64;
        if (q0 + 63 >= w0) {    // some query of the tile sees some key of the warp
            float p[8][4], ds[8][4];
            rows_times_rows(p, Ks, warp * 16, Qs + st * TILE_BYTES, lane);     // S^T: keys x queries
            rows_times_rows(ds, Vs, warp * 16, Os + st * TILE_BYTES, lane);    // dP^T
            const bool masked = q0 < w0 + 15 || q0 + 63 >= T;    // the causal diagonal or queries past T
#pragma unroll
            for (int j = 0; j < 8; j++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int col = j * 8 + 2 * c + (e & 1), query = q0 + col, key = e < 2 ? keyA : keyB;
                    const float pr = masked && (key > query || query >= T) ? 0.0f
                                                                           : fast_exp2(p[j][e] * scale2 - tileLse[col] * LOG2E);
                    p[j][e] = pr;
                    ds[j][e] = pr * (ds[j][e] - tileDelta[col]);
                }
            }
            probs_times_tile(dvAcc, p, Os + st * TILE_BYTES, lane);
            probs_times_tile(dkAcc, ds, Qs + st * TILE_BYTES, lane);
        }
        __syncthreads();
    }
    store_rows(dk, dkbf, b, T, Hkv, grp, keyA, dkAcc, c, scale, scale);
    store_rows(dv, dvbf, b, T, Hkv, grp, keyA, dvAcc, c, 1.0f, 1.0f);
}
"""#
