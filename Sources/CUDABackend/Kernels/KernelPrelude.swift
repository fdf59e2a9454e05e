/// Definitions every kernel source starts with. NVRTC 13 has no built-in cuda_bf16.h, so bf16
/// is a raw 16-bit pattern (the top half of an fp32). Each float operand comes with an `int`
/// flag, 1 = bf16 storage, 0 = f32; all math is fp32.
let kernelPrelude = #"""
typedef unsigned short bf16_t;
typedef long long i64;
#define INFINITY __int_as_float(0x7f800000)

__device__ __forceinline__ float bf2f(bf16_t v) { return __uint_as_float(((unsigned)v) << 16); }
// Round to nearest even; NaN stays a quiet NaN (as the CPU backend converts).
__device__ __forceinline__ bf16_t f2bf(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16_t)(u >> 16);
}
__device__ __forceinline__ float ld(const void* p, i64 i, int bf) {
    return bf ? bf2f(((const bf16_t*)p)[i]) : ((const float*)p)[i];
}
__device__ __forceinline__ void st(void* p, i64 i, int bf, float v) {
    if (bf) ((bf16_t*)p)[i] = f2bf(v); else ((float*)p)[i] = v;
}

#define GRID_STRIDE(i, n) \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (i64)(n); i += (i64)gridDim.x * blockDim.x)

template <typename T> __device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
// Sum over the block (blockDim.x a multiple of 32); every thread gets the total.
template <typename T> __device__ T block_sum(T v) {
    __shared__ T partial[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    T r = lane < (int)(blockDim.x >> 5) ? partial[lane] : (T)0;
    return warp_sum(r);
}

"""#
