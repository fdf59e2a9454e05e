/// Every op except attention: fills, conversions, elementwise, reductions, embedding, RMSNorm,
/// RoPE, the cross-entropy softmax and AdamW. Shapes in the comments: N tokens, C channels.
let opKernelSource = kernelPrelude + #"""
// ---------------------------------------------------------------- memory
// Kernels ending in (i64 n, i64 vec) move 8-element chunks 0..<vec 16 bytes at a time (the host
// passes n / 8 when every operand is 16-byte aligned, else 0), then elements vec * 8 ..< n one by
// one. Both paths share one function per element, so results do not depend on the path.
extern "C" __global__ void fill_bits32(unsigned* p, i64 n, unsigned bits) { GRID_STRIDE(i, n) p[i] = bits; }
extern "C" __global__ void ELEMENTWISE fill_float(void* p, int bf, float value, i64 n, i64 vec) {
    GRID_STRIDE(c, vec) { float v[8]; FOR8(e) v[e] = value; st8(p, c * 8, bf, v); }
    GRID_STRIDE_FROM(i, vec * 8, n) st(p, i, bf, value);
}

// Uniform values in [-scale, scale) from a hash of (index, seed): benchmark data that is not zeros.
extern "C" __global__ void fill_random(void* p, int bf, i64 n, unsigned seed, float scale) {
    GRID_STRIDE(i, n) {
        unsigned long long z = (unsigned long long)i + 0x9E3779B97F4A7C15ull * ((unsigned long long)seed + 1ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        st(p, i, bf, ((float)(z >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f) * scale);
    }
}

// dst = src with f32 <-> bf16 conversion.
extern "C" __global__ void ELEMENTWISE convert(void* dst, int dbf, const void* src, int sbf, i64 n, i64 vec) {
    GRID_STRIDE(c, vec) { float v[8]; ld8(src, c * 8, sbf, v); st8(dst, c * 8, dbf, v); }
    GRID_STRIDE_FROM(i, vec * 8, n) st(dst, i, dbf, ld(src, i, sbf));
}

// ---------------------------------------------------------------- elementwise
extern "C" __global__ void ELEMENTWISE add(void* out, int obf, const void* a, int abf, const void* b, int bbf, i64 n, i64 vec) {
    GRID_STRIDE(c, vec) {
        float x[8], y[8];
        ld8(a, c * 8, abf, x); ld8(b, c * 8, bbf, y);
        FOR8(e) x[e] = x[e] + y[e];
        st8(out, c * 8, obf, x);
    }
    GRID_STRIDE_FROM(i, vec * 8, n) st(out, i, obf, ld(a, i, abf) + ld(b, i, bbf));
}

extern "C" __global__ void ELEMENTWISE scale(void* x, int bf, float factor, i64 n, i64 vec) {
    GRID_STRIDE(c, vec) { float v[8]; ld8(x, c * 8, bf, v); FOR8(e) v[e] = v[e] * factor; st8(x, c * 8, bf, v); }
    GRID_STRIDE_FROM(i, vec * 8, n) st(x, i, bf, ld(x, i, bf) * factor);
}

// silu(gate) * up
__device__ __forceinline__ float swiglu(float x, float u) { return x / (1.0f + expf(-x)) * u; }

// out (N,I) = silu(gate) * up
extern "C" __global__ void ELEMENTWISE swiglu_forward(void* out, int obf, const void* gate, int gbf, const void* up, int ubf, i64 n, i64 vec) {
    GRID_STRIDE(c, vec) {
        float x[8], u[8];
        ld8(gate, c * 8, gbf, x); ld8(up, c * 8, ubf, u);
        FOR8(e) x[e] = swiglu(x[e], u[e]);
        st8(out, c * 8, obf, x);
    }
    GRID_STRIDE_FROM(i, vec * 8, n) st(out, i, obf, swiglu(ld(gate, i, gbf), ld(up, i, ubf)));
}

// dGate = dOut * up * silu'(gate), dUp = dOut * silu(gate); silu'(x) = sig (1 + x (1 - sig))
__device__ __forceinline__ void swiglu_grads(float d, float x, float u, float& dGate, float& dUp) {
    const float sig = 1.0f / (1.0f + expf(-x));
    dGate = d * u * sig * (1.0f + x * (1.0f - sig));
    dUp = d * x * sig;
}

extern "C" __global__ void ELEMENTWISE swiglu_backward(void* dgate, int dgbf, void* dup, int dubf, const void* dout, int dobf,
                                           const void* gate, int gbf, const void* up, int ubf, i64 n, i64 vec) {
    GRID_STRIDE(c, vec) {
        float d[8], x[8], u[8], dg[8], du[8];
        ld8(dout, c * 8, dobf, d); ld8(gate, c * 8, gbf, x); ld8(up, c * 8, ubf, u);
        FOR8(e) swiglu_grads(d[e], x[e], u[e], dg[e], du[e]);
        st8(dgate, c * 8, dgbf, dg); st8(dup, c * 8, dubf, du);
    }
    GRID_STRIDE_FROM(i, vec * 8, n) {
        float dg, du;
        swiglu_grads(ld(dout, i, dobf), ld(gate, i, gbf), ld(up, i, ubf), dg, du);
        st(dgate, i, dgbf, dg); st(dup, i, dubf, du);
    }
}

// out (R,C) += bias (C)
extern "C" __global__ void add_bias(void* out, int obf, const void* bias, int bbf, i64 rows, int cols) {
    GRID_STRIDE(i, rows * cols) st(out, i, obf, ld(out, i, obf) + ld(bias, i % cols, bbf));
}

// ---------------------------------------------------------------- reductions
// partial[block] = sum of x^2 over a grid-stride slice, in fp64.
extern "C" __global__ void sum_squares_partial(const void* x, int bf, i64 n, double* partial) {
    double s = 0.0;
    GRID_STRIDE(i, n) { double v = (double)ld(x, i, bf); s += v * v; }
    s = block_sum(s);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// result[0] += sum(partial[0..<count]) (one block).
extern "C" __global__ void add_partials(const double* partial, int count, float* result) {
    double s = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) s += partial[i];
    s = block_sum(s);
    if (threadIdx.x == 0) result[0] += (float)s;
}

// result[0] += sum(v[0..<count]) (one block), fp64 accumulation.
extern "C" __global__ void add_floats(const float* v, int count, float* result) {
    double s = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) s += (double)v[i];
    s = block_sum(s);
    if (threadIdx.x == 0) result[0] += (float)s;
}

// Column sums of a (R,C), block (32,8), grid (ceil(C/32), splits):
// partial[split][j] = sum over this split's rows of a[i][j]            (mode 0)
//                  or of a[i][j] * x[i][j] * rstd[i]                   (mode 1, RMSNorm dWeight)
extern "C" __global__ void column_sums(const void* a, int abf, const void* x, int xbf, const float* rstd,
                                       i64 rows, int cols, int mode, float* partial) {
    __shared__ float tile[8][33];
    const int j = blockIdx.x * 32 + threadIdx.x;
    float s = 0.0f;
    if (j < cols) {
        for (i64 i = (i64)blockIdx.y * 8 + threadIdx.y; i < rows; i += (i64)gridDim.y * 8) {
            float v = ld(a, i * cols + j, abf);
            if (mode == 1) v *= ld(x, i * cols + j, xbf) * rstd[i];
            s += v;
        }
    }
    tile[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && j < cols) {
        float t = 0.0f;
#pragma unroll
        for (int k = 0; k < 8; k++) t += tile[k][threadIdx.x];
        partial[(i64)blockIdx.y * cols + j] = t;
    }
}

// out (C) += sum over splits of partial (splits, C).
extern "C" __global__ void add_column_partials(void* out, int obf, const float* partial, int splits, int cols) {
    GRID_STRIDE(j, cols) {
        float s = 0.0f;
        for (int k = 0; k < splits; k++) s += partial[(i64)k * cols + j];
        st(out, j, obf, ld(out, j, obf) + s);
    }
}

// ---------------------------------------------------------------- embedding
// out (N,C) = table (V,C)[ids]
extern "C" __global__ void embedding_forward(void* out, int obf, const int* ids, const void* table, int tbf,
                                             i64 tokens, int channels) {
    GRID_STRIDE(i, tokens * channels) {
        i64 t = i / channels;
        int c = (int)(i - t * channels);
        st(out, i, obf, ld(table, (i64)ids[t] * channels + c, tbf));
    }
}

// dTable (V,C)[ids[t]] += dOut (N,C)[t]: one thread per channel walks the tokens in order, so
// repeated ids add up without atomics and the sum is deterministic.
extern "C" __global__ void embedding_backward(void* dtable, int dbf, const void* dout, int obf, const int* ids,
                                              i64 tokens, int channels) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= channels) return;
    for (i64 t = 0; t < tokens; t++) {
        i64 at = (i64)ids[t] * channels + c;
        st(dtable, at, dbf, ld(dtable, at, dbf) + ld(dout, t * channels + c, obf));
    }
}

// ---------------------------------------------------------------- RMSNorm, any width or alignment (one warp per row)
// out (R,C) = w * (x * rstd), rstd (R) = 1 / sqrt(mean(x^2) + eps)
extern "C" __global__ void rmsnorm_forward(void* out, int obf, float* rstd, const void* inp, int ibf,
                                           const void* w, int wbf, i64 rows, int cols, float eps) {
    const i64 row = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const i64 base = row * cols;
    float ss = 0.0f;
    for (int j = lane; j < cols; j += 32) { float v = ld(inp, base + j, ibf); ss += v * v; }
    ss = warp_sum(ss);
    const float s = 1.0f / sqrtf(ss / (float)cols + eps);
    if (lane == 0) rstd[row] = s;
    for (int j = lane; j < cols; j += 32) st(out, base + j, obf, ld(w, j, wbf) * (ld(inp, base + j, ibf) * s));
}

// dInp (R,C) (+)= s * w * dy - s^3 / C * x * sum(w * dy * x); dWeight comes from column_sums mode 1.
extern "C" __global__ void rmsnorm_backward(void* dinp, int dibf, const void* dout, int dobf, const void* inp, int ibf,
                                            const void* w, int wbf, const float* rstd, i64 rows, int cols, int accumulate) {
    const i64 row = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const i64 base = row * cols;
    float dot = 0.0f;
    for (int j = lane; j < cols; j += 32) dot += ld(w, j, wbf) * ld(dout, base + j, dobf) * ld(inp, base + j, ibf);
    dot = warp_sum(dot);
    const float s = rstd[row];
    const float k = s * s * s * dot / (float)cols;
    for (int j = lane; j < cols; j += 32) {
        float g = s * ld(w, j, wbf) * ld(dout, base + j, dobf) - k * ld(inp, base + j, ibf);
        if (accumulate) g += ld(dinp, base + j, dibf);
        st(dinp, base + j, dibf, g);
    }
}

// ---------------------------------------------------------------- RMSNorm, 16-byte chunks
// Rows of C = 8 * chunks elements (row operands and w 16-byte aligned), `group` threads per row
// (a power of two, chunks <= ROW_CHUNKS * group), blockDim.x / group rows per block. A thread
// holds chunks g, g + group, ... of its row in registers, so the row is read from memory once.
#define ROW_CHUNKS 2

// As rmsnorm_forward; Σx² summed per thread, then over the group (another order than the warp's).
extern "C" __global__ void __launch_bounds__(512) rmsnorm_forward_vec(void* out, int obf, float* rstd, const void* inp, int ibf,
                                                                      const void* w, int wbf, i64 rows, int cols, float eps,
                                                                      int group) {
    const int g = threadIdx.x & (group - 1), chunks = cols >> 3;
    const i64 row = (i64)blockIdx.x * (blockDim.x / group) + threadIdx.x / group;
    const bool live = row < rows;
    const i64 base = row * cols;
    float x[ROW_CHUNKS][8], ss = 0.0f;
#pragma unroll
    for (int k = 0; k < ROW_CHUNKS; k++) {
        const int c = g + k * group;
        if (live && c < chunks) ld8(inp, base + c * 8, ibf, x[k]); else FOR8(e) x[k][e] = 0.0f;
        FOR8(e) ss += x[k][e] * x[k][e];
    }
    ss = group_sum(ss, group);
    if (!live) return;
    const float s = 1.0f / sqrtf(ss / (float)cols + eps);
    if (g == 0) rstd[row] = s;
#pragma unroll
    for (int k = 0; k < ROW_CHUNKS; k++) {
        const int c = g + k * group;
        if (c >= chunks) continue;
        float y[8];
        ld8(w, c * 8, wbf, y);
        FOR8(e) y[e] = y[e] * (x[k][e] * s);
        st8(out, base + c * 8, obf, y);
    }
}

// As rmsnorm_backward, and the weight gradient's partial sums in the same pass: each row slot of
// each block walks rows slot, slot + slots * gridDim.x, ... and writes
// partial (gridDim.x * slots, C)[block * slots + slot] = Σ over its rows of dy * x * rstd.
extern "C" __global__ void __launch_bounds__(512) rmsnorm_backward_vec(void* dinp, int dibf, const void* dout, int dobf,
                                                                       const void* inp, int ibf, const void* w, int wbf,
                                                                       const float* rstd, i64 rows, int cols, int accumulate,
                                                                       int group, float* partial) {
    const int g = threadIdx.x & (group - 1), chunks = cols >> 3, slots = blockDim.x / group, slot = threadIdx.x / group;
    float dw[ROW_CHUNKS][8];
#pragma unroll
    for (int k = 0; k < ROW_CHUNKS; k++) FOR8(e) dw[k][e] = 0.0f;
    // The loop bound is the same for the whole block: group_sum needs every thread.
    for (i64 first = (i64)blockIdx.x * slots; first < rows; first += (i64)gridDim.x * slots) {
        const i64 row = first + slot;
        const bool live = row < rows;
        const i64 base = row * cols;
        float x[ROW_CHUNKS][8], dy[ROW_CHUNKS][8], dot = 0.0f;
#pragma unroll
        for (int k = 0; k < ROW_CHUNKS; k++) {
            const int c = g + k * group;
            if (live && c < chunks) {
                float wv[8];
                ld8(inp, base + c * 8, ibf, x[k]); ld8(dout, base + c * 8, dobf, dy[k]); ld8(w, c * 8, wbf, wv);
                FOR8(e) dot += wv[e] * dy[k][e] * x[k][e];
            }
        }
        dot = group_sum(dot, group);
        if (!live) continue;
        const float s = rstd[row];
        const float kk = s * s * s * dot / (float)cols;
#pragma unroll
        for (int k = 0; k < ROW_CHUNKS; k++) {
            const int c = g + k * group;
            if (c >= chunks) continue;
            float wv[8], prev[8];
            ld8(w, c * 8, wbf, wv);
            if (accumulate) ld8(dinp, base + c * 8, dibf, prev); else FOR8(e) prev[e] = 0.0f;
            FOR8(e) {
                dw[k][e] += dy[k][e] * x[k][e] * s;
                const float gr = s * wv[e] * dy[k][e] - kk * x[k][e];
                wv[e] = accumulate ? gr + prev[e] : gr;
            }
            st8(dinp, base + c * 8, dibf, wv);
        }
    }
    float* mine = partial + ((i64)blockIdx.x * slots + slot) * cols;
#pragma unroll
    for (int k = 0; k < ROW_CHUNKS; k++) {
        const int c = g + k * group;
        if (c < chunks) st8(mine, c * 8, 0, dw[k]);
    }
}

// ---------------------------------------------------------------- RoPE
// (x1, x2) rotated by the angle of cosine c and (signed) sine s. Rounded products and sums, as
// the CPU reference computes them: left to the compiler, the FMA contraction differs between
// kernels (it depends on how often the operands are used).
__device__ __forceinline__ void rotate(float x1, float x2, float c, float s, float& y1, float& y2) {
    y1 = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
    y2 = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
}

// out (N,H,D) = x cos + rotate_half(x) (sign * sin), angle = pos[t] * invFreq[i]; in place allowed.
extern "C" __global__ void rope(void* out, int obf, const void* inp, int ibf, const int* positions,
                                const float* invFreq, i64 tokens, int heads, int headDim, float sinSign) {
    const int half = headDim / 2;
    GRID_STRIDE(idx, tokens * heads * half) {
        const int i = (int)(idx % half);
        const i64 th = idx / half;
        const i64 t = th / heads;
        const float angle = (float)positions[t] * invFreq[i];
        const float c = cosf(angle), s = sinSign * sinf(angle);
        const i64 base = th * headDim;
        float y1, y2;
        rotate(ld(inp, base + i, ibf), ld(inp, base + half + i, ibf), c, s, y1, y2);
        st(out, base + i, obf, y1);
        st(out, base + half + i, obf, y2);
    }
}

// As rope for half = headDim / 2 a multiple of 8 and 16-byte aligned out/inp: a thread takes 8
// frequencies i..i+7 of one token, computes their cos/sin once and rotates them in up to
// headsPerThread heads (8: q's 32 heads in 4 threads, k's 8 in 1), 16 bytes per access.
extern "C" __global__ void rope_vec(void* out, int obf, const void* inp, int ibf, const int* positions,
                                    const float* invFreq, i64 tokens, int heads, int headDim, float sinSign,
                                    int headsPerThread) {
    const int half = headDim / 2, chunks = half / 8, headGroups = (heads + headsPerThread - 1) / headsPerThread;
    GRID_STRIDE(idx, tokens * headGroups * chunks) {
        const int i = (int)(idx % chunks) * 8;
        const i64 tg = idx / chunks;
        const int firstHead = (int)(tg % headGroups) * headsPerThread;
        const i64 t = tg / headGroups;
        const float p = (float)positions[t];
        float c[8], s[8];
        FOR8(e) {
            const float angle = p * invFreq[i + e];
            c[e] = cosf(angle);
            s[e] = sinSign * sinf(angle);
        }
        const int lastHead = min(heads, firstHead + headsPerThread);
        for (int h = firstHead; h < lastHead; h++) {
            const i64 base = (t * heads + h) * headDim + i;
            float x1[8], x2[8], y1[8], y2[8];
            ld8(inp, base, ibf, x1); ld8(inp, base + half, ibf, x2);
            FOR8(e) rotate(x1[e], x2[e], c[e], s[e], y1[e], y2[e]);
            st8(out, base, obf, y1); st8(out, base + half, obf, y2);
        }
    }
}

// ---------------------------------------------------------------- cross-entropy (one block per row)
// For row r of a chunk: logits (n,V) f32; lse = logsumexp(row); rowLoss[r] = lse - row[target];
// dlogits[r] = (softmax(row) - onehot(target)) * scale, in dlogits' storage (may alias logits
// when f32). Ignored targets (-100): zero loss, zero dlogits.
extern "C" __global__ void cross_entropy_rows(const float* logits, void* dlogits, int dbf, const int* targets,
                                              int vocab, float scale, float* rowLoss) {
    const i64 r = blockIdx.x;
    const float* row = logits + r * vocab;
    const i64 base = r * vocab;
    const int target = targets[r];
    if (target == -100) {
        for (int j = threadIdx.x; j < vocab; j += blockDim.x) st(dlogits, base + j, dbf, 0.0f);
        if (threadIdx.x == 0) rowLoss[r] = 0.0f;
        return;
    }
    __shared__ float shared[2];
    // Online max and sum of exponentials per thread, then merged across the block.
    float m = -INFINITY, s = 0.0f;
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
        float v = row[j];
        if (v > m) { s = s * expf(m - v) + 1.0f; m = v; } else { s += expf(v - m); }
    }
    float blockMax = warp_max(m);
    __shared__ float warpMax[32];
    if ((threadIdx.x & 31) == 0) warpMax[threadIdx.x >> 5] = blockMax;
    __syncthreads();
    if (threadIdx.x < 32) {
        float v = threadIdx.x < (blockDim.x >> 5) ? warpMax[threadIdx.x] : -INFINITY;
        v = warp_max(v);
        if (threadIdx.x == 0) { shared[0] = v; shared[1] = row[target]; }
    }
    __syncthreads();
    const float rowMax = shared[0], targetLogit = shared[1];
    float total = block_sum(m == -INFINITY ? 0.0f : s * expf(m - rowMax));
    const float lse = rowMax + logf(total);
    if (threadIdx.x == 0) rowLoss[r] = lse - targetLogit;
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
        float g = expf(row[j] - lse) * scale;
        if (j == target) g -= scale;
        st(dlogits, base + j, dbf, g);
    }
}

// ---------------------------------------------------------------- cross-entropy over vocabulary chunks
// Pass 1, one block per token row of a chunk's logits (n,rows) f32: merges the chunk into the
// running logsumexp state (rowMax, rowSum) and takes the target's logit when it falls in the chunk.
extern "C" __global__ void vocab_chunk_statistics(const float* logits, const int* targets, int vocabStart, int rows,
                                                  float* rowMax, float* rowSum, float* targetLogit) {
    const i64 r = blockIdx.x;
    const int target = targets[r];
    if (target == -100) return;
    const float* row = logits + r * rows;
    float m = -INFINITY, s = 0.0f;
    for (int j = threadIdx.x; j < rows; j += blockDim.x) {
        float v = row[j];
        if (v > m) { s = s * expf(m - v) + 1.0f; m = v; } else { s += expf(v - m); }
    }
    __shared__ float warpMax[32];
    __shared__ float chunkMax;
    float w = warp_max(m);
    if ((threadIdx.x & 31) == 0) warpMax[threadIdx.x >> 5] = w;
    __syncthreads();
    if (threadIdx.x < 32) {
        float v = threadIdx.x < (blockDim.x >> 5) ? warpMax[threadIdx.x] : -INFINITY;
        v = warp_max(v);
        if (threadIdx.x == 0) chunkMax = v;
    }
    __syncthreads();
    const float cm = chunkMax;
    const float total = block_sum(m == -INFINITY ? 0.0f : s * expf(m - cm));
    if (threadIdx.x == 0) {
        const float old = rowMax[r], merged = fmaxf(old, cm);
        rowSum[r] = rowSum[r] * expf(old - merged) + total * expf(cm - merged);
        rowMax[r] = merged;
        const int j = target - vocabStart;
        if (j >= 0 && j < rows) targetLogit[r] = row[j];
    }
}

// lossSum[0] += sum over non-ignored rows of rowMax + log(rowSum) - targetLogit (one block, fp64).
extern "C" __global__ void vocab_chunk_loss(const float* rowMax, const float* rowSum, const float* targetLogit,
                                            const int* targets, int tokens, float* lossSum) {
    double s = 0.0;
    for (int t = threadIdx.x; t < tokens; t += blockDim.x) {
        if (targets[t] != -100) s += (double)rowMax[t] + log((double)rowSum[t]) - (double)targetLogit[t];
    }
    s = block_sum(s);
    if (threadIdx.x == 0) lossSum[0] += (float)s;
}

// Pass 2: dlogits (n,rows) = (exp(logits - lse) - onehot) * scale, lse = rowMax + log(rowSum), in
// dlogits' storage (may alias logits when f32); zero rows for ignored targets.
extern "C" __global__ void vocab_chunk_dlogits(const float* logits, void* dlogits, int dbf, const int* targets,
                                               int vocabStart, int rows, const float* rowMax, const float* rowSum,
                                               float scale, i64 tokens) {
    GRID_STRIDE(i, tokens * rows) {
        const i64 t = i / rows;
        const int j = (int)(i - t * rows), target = targets[t];
        float g = 0.0f;
        if (target != -100) {
            const float lse = (float)((double)rowMax[t] + log((double)rowSum[t]));
            g = expf(logits[i] - lse) * scale;
            if (j + vocabStart == target) g -= scale;
        }
        st(dlogits, i, dbf, g);
    }
}

// dRows[dest] += the sum over group k's tokens order[starts[k] ..< starts[k+1]] of dOut (N,C)[t],
// added in f32 in token order; dest = groupRows[k] - firstRow, or k - firstGroup without groupRows.
// One block per group (k = firstGroup + blockIdx.x), its threads across the channels: the groups'
// rows differ, so no atomics, and the sum is deterministic.
extern "C" __global__ void embedding_backward_groups(void* drows, int dbf, const void* dout, int obf, const int* order,
                                                     const int* starts, const int* groupRows, int firstGroup,
                                                     int firstRow, int channels) {
    const int k = firstGroup + blockIdx.x;
    const i64 dest = groupRows ? groupRows[k] - firstRow : blockIdx.x;
    const int begin = starts[k], end = starts[k + 1];
    for (int c = threadIdx.x; c < channels; c += blockDim.x) {
        const i64 at = dest * channels + c;
        float acc = ld(drows, at, dbf);
        for (int j = begin; j < end; j++) acc += ld(dout, (i64)order[j] * channels + c, obf);
        st(drows, at, dbf, acc);
    }
}

// ---------------------------------------------------------------- AdamW (fp32 master/m/v on the GPU)
// As torch.optim.AdamW: p *= 1 - lr wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps). g = grad * gradScale; optional bf16 copy of p.
extern "C" __global__ void adamw(float* p, float* m, float* v, const void* grad, int gbf, bf16_t* pOut, i64 n,
                                 float decay, float oneMinusBeta1, float beta2, float oneMinusBeta2,
                                 float bc2Sqrt, float eps, float negStepSize, float gradScale) {
    // torch's order (Sources/CKernels/adamw.c): lerp_ in its weight < 0.5 or >= 0.5 form.
    const bool fromEnd = !(fabsf(oneMinusBeta1) < 0.5f);
    const float lerpCoeff = fromEnd ? oneMinusBeta1 - 1.0f : oneMinusBeta1;
    GRID_STRIDE(i, n) {
        const float g = ld(grad, i, gbf) * gradScale;
        float pi = p[i] * decay;
        const float mi = fmaf(lerpCoeff, g - m[i], fromEnd ? g : m[i]);
        const float vi = fmaf(oneMinusBeta2 * g, g, v[i] * beta2);
        const float d = __fadd_rn(__fdiv_rn(sqrtf(vi), bc2Sqrt), eps);
        pi = __fadd_rn(pi, __fdiv_rn(__fmul_rn(negStepSize, mi), d));
        p[i] = pi; m[i] = mi; v[i] = vi;
        if (pOut) pOut[i] = f2bf(pi);
    }
}
"""#
