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

#define GRID_STRIDE_FROM(i, start, n) \
    for (i64 i = (i64)(start) + (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (i64)(n); i += (i64)gridDim.x * blockDim.x)
#define GRID_STRIDE(i, n) GRID_STRIDE_FROM(i, 0, n)
#define FOR8(e) _Pragma("unroll") for (int e = 0; e < 8; e++)
// Elementwise kernels (256 threads): at most 40 registers, so 1536 threads per SM keep enough
// 16-byte loads in flight to cover the memory latency.
#define ELEMENTWISE __launch_bounds__(256, 6)

// 8 consecutive elements from element i (a multiple of 8) of an operand whose address is 16-byte
// aligned: one 16-byte access for bf16, two for f32. Element for element the same values as ld/st.
__device__ __forceinline__ void ld8(const void* p, i64 i, int bf, float v[8]) {
    if (bf) {
        const uint4 u = *(const uint4*)((const bf16_t*)p + i);
        const unsigned w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
        for (int k = 0; k < 4; k++) { v[2 * k] = __uint_as_float(w[k] << 16); v[2 * k + 1] = __uint_as_float(w[k] & 0xffff0000u); }
    } else {
        const float4* q = (const float4*)((const float*)p + i);
        const float4 a = q[0], b = q[1];
        v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
    }
}
__device__ __forceinline__ void st8(void* p, i64 i, int bf, const float v[8]) {
    if (bf) {
        unsigned w[4];
#pragma unroll
        for (int k = 0; k < 4; k++) w[k] = (unsigned)f2bf(v[2 * k]) | ((unsigned)f2bf(v[2 * k + 1]) << 16);
        *(uint4*)((bf16_t*)p + i) = make_uint4(w[0], w[1], w[2], w[3]);
    } else {
        float4* q = (float4*)((float*)p + i);
        q[0] = make_float4(v[0], v[1], v[2], v[3]);
        q[1] = make_float4(v[4], v[5], v[6], v[7]);
    }
}

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
// Sum over each group of `group` consecutive threads (a power of two; a group wider than a warp
// spans whole warps); every thread of the group gets the same total. Every thread of the block
// must call it, the same number of times.
__device__ float group_sum(float v, int group) {
    __shared__ float partial[32];
    for (int o = min(group, 32) >> 1; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (group <= 32) return v;
    const int warp = threadIdx.x >> 5, warps = group >> 5, first = warp / warps * warps;
    __syncthreads();
    if ((threadIdx.x & 31) == 0) partial[warp] = v;
    __syncthreads();
    float s = 0.0f;
    for (int k = 0; k < warps; k++) s += partial[first + k];
    return s;
}

"""#
