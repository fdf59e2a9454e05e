// Blocked, packed single-precision GEMM in the BLIS style: C is computed in NC-wide column
// panels; for each KC-deep slice of K, a (KC,NC) panel of op(B) and an (MC,KC) block of op(A)
// are packed into contiguous micro-panels, and a 6x16 register-blocked micro-kernel
// (12 AVX2 accumulators, FMA) sweeps them. Packing absorbs the transposes.
#include "ckernels.h"
#include <immintrin.h>
#include <string.h>

enum { MR = CK_SGEMM_MR, NR = CK_SGEMM_NR, KC = 256, MC = 96, NC = 1024 };

size_t ck_sgemm_pack_floats(void) { return (size_t)MC * KC + (size_t)KC * NC; }

// op(A)(i, p)
static inline float elemA(int transA, const float *A, long lda, long i, long p) {
    return transA ? A[p * lda + i] : A[i * lda + p];
}

// Packs op(A)[0..mc, 0..kc] into MR-row micro-panels: panel r holds kc columns of MR values,
// zero-padded past mc.
static void packA(int transA, const float *A, long lda, long mc, long kc, float *dst) {
    for (long ir = 0; ir < mc; ir += MR) {
        long rows = mc - ir < MR ? mc - ir : MR;
        if (transA && rows == MR) {
            for (long p = 0; p < kc; p++) {
                const float *src = A + p * lda + ir;
                for (long r = 0; r < MR; r++) dst[p * MR + r] = src[r];
            }
        } else {
            for (long p = 0; p < kc; p++)
                for (long r = 0; r < MR; r++)
                    dst[p * MR + r] = r < rows ? elemA(transA, A, lda, ir + r, p) : 0.0f;
        }
        dst += kc * MR;
    }
}

// Packs op(B)[0..kc, 0..nc] into NR-column micro-panels, zero-padded past nc.
static void packB(int transB, const float *B, long ldb, long kc, long nc, float *dst) {
    for (long jr = 0; jr < nc; jr += NR) {
        long cols = nc - jr < NR ? nc - jr : NR;
        if (!transB && cols == NR) {
            for (long p = 0; p < kc; p++) {
                const float *src = B + p * ldb + jr;
                _mm256_store_ps(dst + p * NR, _mm256_loadu_ps(src));
                _mm256_store_ps(dst + p * NR + 8, _mm256_loadu_ps(src + 8));
            }
        } else if (!transB) {
            for (long p = 0; p < kc; p++)
                for (long c = 0; c < NR; c++) dst[p * NR + c] = c < cols ? B[p * ldb + jr + c] : 0.0f;
        } else {
            for (long c = 0; c < NR; c++) {
                if (c < cols) {
                    const float *src = B + (jr + c) * ldb;
                    for (long p = 0; p < kc; p++) dst[p * NR + c] = src[p];
                } else {
                    for (long p = 0; p < kc; p++) dst[p * NR + c] = 0.0f;
                }
            }
        }
        dst += kc * NR;
    }
}

// c (MR,NR) = alpha * a·b + beta * c over kc, from packed micro-panels.
static void kernel6x16(long kc, const float *a, const float *b, float *c, long ldc, float alpha, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (long p = 0; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __m256 a0 = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(a0, b0, c00); c01 = _mm256_fmadd_ps(a0, b1, c01);
        __m256 a1 = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(a1, b0, c10); c11 = _mm256_fmadd_ps(a1, b1, c11);
        __m256 a2 = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(a2, b0, c20); c21 = _mm256_fmadd_ps(a2, b1, c21);
        __m256 a3 = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(a3, b0, c30); c31 = _mm256_fmadd_ps(a3, b1, c31);
        __m256 a4 = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(a4, b0, c40); c41 = _mm256_fmadd_ps(a4, b1, c41);
        __m256 a5 = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(a5, b0, c50); c51 = _mm256_fmadd_ps(a5, b1, c51);
        a += MR;
        b += NR;
    }
    __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int r = 0; r < MR; r++) {
        float *row = c + r * ldc;
        for (int h = 0; h < 2; h++) {
            __m256 v = _mm256_mul_ps(va, acc[r][h]);
            if (beta != 0.0f) v = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8 * h), v);
            _mm256_storeu_ps(row + 8 * h, v);
        }
    }
}

// Edge tile: the full 6x16 product into a scratch tile, then only the valid (rows,cols) part.
static void kernelEdge(long kc, const float *a, const float *b, float *c, long ldc,
                       float alpha, float beta, long rows, long cols) {
    float tile[MR * NR] __attribute__((aligned(32)));
    kernel6x16(kc, a, b, tile, NR, alpha, 0.0f);
    for (long r = 0; r < rows; r++)
        for (long j = 0; j < cols; j++) {
            float v = tile[r * NR + j];
            c[r * ldc + j] = beta != 0.0f ? v + beta * c[r * ldc + j] : v;
        }
}

static void scaleC(long M, long N, float beta, float *C, long ldc) {
    for (long i = 0; i < M; i++) {
        float *row = C + i * ldc;
        if (beta == 0.0f) memset(row, 0, (size_t)N * sizeof(float));
        else for (long j = 0; j < N; j++) row[j] *= beta;
    }
}

void ck_sgemm(int transA, int transB, long M, long N, long K, float alpha,
              const float *A, long lda, const float *B, long ldb, float beta,
              float *C, long ldc, float *pack) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scaleC(M, N, beta, C, ldc);
        return;
    }
    float *pa = pack, *pb = pack + (size_t)MC * KC;
    for (long jc = 0; jc < N; jc += NC) {
        long nc = N - jc < NC ? N - jc : NC;
        for (long pc = 0; pc < K; pc += KC) {
            long kc = K - pc < KC ? K - pc : KC;
            float betaHere = pc == 0 ? beta : 1.0f;
            const float *Bblock = transB ? B + jc * ldb + pc : B + pc * ldb + jc;
            packB(transB, Bblock, ldb, kc, nc, pb);
            for (long ic = 0; ic < M; ic += MC) {
                long mc = M - ic < MC ? M - ic : MC;
                const float *Ablock = transA ? A + pc * lda + ic : A + ic * lda + pc;
                packA(transA, Ablock, lda, mc, kc, pa);
                for (long jr = 0; jr < nc; jr += NR) {
                    long cols = nc - jr < NR ? nc - jr : NR;
                    for (long ir = 0; ir < mc; ir += MR) {
                        long rows = mc - ir < MR ? mc - ir : MR;
                        float *c = C + (ic + ir) * ldc + jc + jr;
                        const float *a = pa + ir * kc, *b = pb + jr * kc;
                        if (rows == MR && cols == NR) kernel6x16(kc, a, b, c, ldc, alpha, betaHere);
                        else kernelEdge(kc, a, b, c, ldc, alpha, betaHere, rows, cols);
                    }
                }
            }
        }
    }
}
