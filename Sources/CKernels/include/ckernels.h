#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>
#include <stdint.h>

// ---- Single-precision GEMM (blocked, packed, AVX2/FMA 6x16 micro-kernel) ----
// Row-major C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C.
// A is stored (M,K) with row stride lda, or (K,M) when transA; B is stored (K,N) with row
// stride ldb, or (N,K) when transB. beta == 0 never reads C. Runs on the calling thread;
// callers parallelize by calling it on disjoint blocks of C.
// pack must hold ck_sgemm_pack_floats() floats, 32-byte aligned.
size_t ck_sgemm_pack_floats(void);
void ck_sgemm(int transA, int transB, long M, long N, long K, float alpha,
              const float *A, long lda, const float *B, long ldb, float beta,
              float *C, long ldc, float *pack);

// Granularity of the micro-kernel: block sizes of C that split work without remainders.
#define CK_SGEMM_MR 6
#define CK_SGEMM_NR 16

#include "adamw.h"
#endif
