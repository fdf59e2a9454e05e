// AdamW, equal to torch.optim.AdamW (single-tensor CPU path) in fp32, one pass over memory.
// torch's operation order per element (verified bit for bit against torch 2.13 on CPU):
//   p = p * (1 - lr*wd)                                  mul_
//   m = fma(1-b1, g - m, m)                              lerp_ (weight < 0.5 form)
//   v = fma((1-b2)*g, g, v*b2)                           mul_ + addcmul_
//   d = sqrt(v) / sqrt(1 - b2^t) + eps                   sqrt, div_, add_
//   p = p + ((-lr/(1 - b1^t)) * m) / d                   addcdiv_
// The only difference left is torch's sqrt (MKL VML, 1-ulp accurate); ours is correctly rounded.
// The vector body and the scalar tail compute the same expression, so results never depend
// on how a buffer is split into chunks.
#include "adamw.h"
#include <math.h>
#include <string.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SF_AVX2 1
#endif

static inline float bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

static inline uint16_t f32_to_bf16(float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    if (x != x) return 0x7FC0;
    bits += 0x7FFF + ((bits >> 16) & 1);
    return (uint16_t)(bits >> 16);
}

// lerp as torch: weight < 0.5 -> m + w*(g-m); else g + (w-1)*(g-m); both one fma.
typedef struct {
    float coeff;
    int from_end;
} lerp_form;

static inline lerp_form lerp_form_of(float w) {
    lerp_form f = { w, 0 };
    if (!(fabsf(w) < 0.5f)) { f.coeff = w - 1.0f; f.from_end = 1; }
    return f;
}

// One element: p, m, v read from p_in, m_in, v_in; the new p written to *p_out, the new m, v
// to *m_out, *v_out unless those are NULL (the in-place update passes the same pointers).
static inline float adamw_scalar(const float *p_in, const float *m_in, const float *v_in, float g, float *p_out,
                                 float *m_out, float *v_out, const sf_adamw_scalars *s, lerp_form lf) {
    g = g * s->grad_scale;
    float pp = *p_in * s->decay_factor;
    float mm = *m_in, vv = *v_in;
    mm = fmaf(lf.coeff, g - mm, lf.from_end ? g : mm);
    vv = fmaf(s->one_minus_beta2 * g, g, vv * s->beta2);
    float d = sqrtf(vv) / s->bias_correction2_sqrt + s->eps;
    pp = pp + (s->neg_step_size * mm) / d;
    *p_out = pp;
    if (m_out) { *m_out = mm; *v_out = vv; }
    return pp;
}

#ifdef SF_AVX2
static inline __m256i bf16_bits8(__m256 x) {
    const __m256i bits = _mm256_castps_si256(x);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_add_epi32(bits, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF)));
    r = _mm256_srli_epi32(r, 16);
    const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    return _mm256_blendv_epi8(r, _mm256_set1_epi32(0x7FC0), _mm256_castps_si256(nan));
}

static inline void store_bf16x8(uint16_t *dst, __m256 x) {
    const __m256i r = bf16_bits8(x);
    const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storeu_si128((__m128i *)dst, packed);
}

static inline __m256 load_bf16x8(const uint16_t *src) {
    const __m128i h = _mm_loadu_si128((const __m128i *)src);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

typedef struct {
    __m256 decay, lerp_coeff, one_minus_beta2, beta2, bc2, eps, neg_step, scale;
    int from_end;
} adamw_vectors;

static inline adamw_vectors vectors_of(const sf_adamw_scalars *s, lerp_form lf) {
    adamw_vectors c = {
        _mm256_set1_ps(s->decay_factor), _mm256_set1_ps(lf.coeff), _mm256_set1_ps(s->one_minus_beta2),
        _mm256_set1_ps(s->beta2), _mm256_set1_ps(s->bias_correction2_sqrt), _mm256_set1_ps(s->eps),
        _mm256_set1_ps(s->neg_step_size), _mm256_set1_ps(s->grad_scale), lf.from_end,
    };
    return c;
}

static inline void adamw_vec8(const float *p_in, const float *m_in, const float *v_in, __m256 g, float *p_out,
                              float *m_out, float *v_out, uint16_t *out, const adamw_vectors *c) {
    g = _mm256_mul_ps(g, c->scale);
    __m256 pp = _mm256_mul_ps(_mm256_loadu_ps(p_in), c->decay);
    __m256 mm = _mm256_loadu_ps(m_in);
    __m256 vv = _mm256_loadu_ps(v_in);
    mm = _mm256_fmadd_ps(c->lerp_coeff, _mm256_sub_ps(g, mm), c->from_end ? g : mm);
    vv = _mm256_fmadd_ps(_mm256_mul_ps(c->one_minus_beta2, g), g, _mm256_mul_ps(vv, c->beta2));
    const __m256 d = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), c->bc2), c->eps);
    pp = _mm256_add_ps(pp, _mm256_div_ps(_mm256_mul_ps(c->neg_step, mm), d));
    _mm256_storeu_ps(p_out, pp);
    if (m_out) {
        _mm256_storeu_ps(m_out, mm);
        _mm256_storeu_ps(v_out, vv);
    }
    if (out) store_bf16x8(out, pp);
}
#endif

// The update over n elements; the gradient is g32 (fp32) or, when that is NULL, g16 (bf16).
static void adamw_run(const float *p, const float *m, const float *v, const float *g32, const uint16_t *g16,
                      float *p_out, float *m_out, float *v_out, uint16_t *bf16_out, size_t n, const sf_adamw_scalars *s) {
    const lerp_form lf = lerp_form_of(s->one_minus_beta1);
    size_t i = 0;
#ifdef SF_AVX2
    const adamw_vectors c = vectors_of(s, lf);
    for (; i + 8 <= n; i += 8)
        adamw_vec8(p + i, m + i, v + i, g32 ? _mm256_loadu_ps(g32 + i) : load_bf16x8(g16 + i), p_out + i,
                   m_out ? m_out + i : NULL, v_out ? v_out + i : NULL, bf16_out ? bf16_out + i : NULL, &c);
#endif
    for (; i < n; i++) {
        const float g = g32 ? g32[i] : bf16_to_f32(g16[i]);
        const float pp = adamw_scalar(p + i, m + i, v + i, g, p_out + i, m_out ? m_out + i : NULL,
                                      v_out ? v_out + i : NULL, s, lf);
        if (bf16_out) bf16_out[i] = f32_to_bf16(pp);
    }
}

void sf_adamw_f32grad(float *p, float *m, float *v, const float *g, uint16_t *bf16_out, size_t n,
                      const sf_adamw_scalars *s) {
    adamw_run(p, m, v, g, NULL, p, m, v, bf16_out, n, s);
}

void sf_adamw_bf16grad(float *p, float *m, float *v, const uint16_t *g, uint16_t *bf16_out, size_t n,
                       const sf_adamw_scalars *s) {
    adamw_run(p, m, v, NULL, g, p, m, v, bf16_out, n, s);
}

void sf_adamw_updated_params(float *out, const float *p, const float *m, const float *v, const float *g32,
                             const uint16_t *g16, size_t n, const sf_adamw_scalars *s) {
    adamw_run(p, m, v, g32, g16, out, NULL, NULL, NULL, n, s);
}

double sf_sum_squares_f32(const float *x, size_t n) {
    size_t i = 0;
    double total = 0;
#ifdef SF_AVX2
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    for (; i + 8 <= n; i += 8) {
        const __m256 xs = _mm256_loadu_ps(x + i);
        const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(xs));
        const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(xs, 1));
        a0 = _mm256_fmadd_pd(lo, lo, a0);
        a1 = _mm256_fmadd_pd(hi, hi, a1);
    }
    double lanes[4];
    _mm256_storeu_pd(lanes, _mm256_add_pd(a0, a1));
    total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
#endif
    for (; i < n; i++) total += (double)x[i] * (double)x[i];
    return total;
}

void sf_f32_to_bf16(uint16_t *dst, const float *src, size_t n) {
    size_t i = 0;
#ifdef SF_AVX2
    for (; i + 8 <= n; i += 8) store_bf16x8(dst + i, _mm256_loadu_ps(src + i));
#endif
    for (; i < n; i++) dst[i] = f32_to_bf16(src[i]);
}

void sf_round_f32_to_bf16(float *x, size_t n) {
    size_t i = 0;
#ifdef SF_AVX2
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_castsi256_ps(_mm256_slli_epi32(bf16_bits8(_mm256_loadu_ps(x + i)), 16)));
#endif
    for (; i < n; i++) x[i] = bf16_to_f32(f32_to_bf16(x[i]));
}
