#ifndef SF_ADAMW_H
#define SF_ADAMW_H
#include <stddef.h>
#include <stdint.h>

/// The fp32 scalars of one AdamW update, computed by the caller in double exactly as
/// torch.optim.AdamW does and rounded to float once (torch passes them as float scalars).
typedef struct {
    float decay_factor;          // 1 - lr*weight_decay; 1 for tensors without decay
    float one_minus_beta1;       // lerp weight of exp_avg
    float beta2;
    float one_minus_beta2;
    float bias_correction2_sqrt; // sqrt(1 - beta2^step)
    float eps;
    float neg_step_size;         // -lr / (1 - beta1^step)
    float grad_scale;            // clipping coefficient (1 = none), applied to every gradient
} sf_adamw_scalars;

/// One AdamW step over n elements in place on p, m, v (fp32). g: fp32 gradients (read only).
/// bf16_out: the updated p rounded to bf16 (nearest even), or NULL.
void sf_adamw_f32grad(float *p, float *m, float *v, const float *g, uint16_t *bf16_out, size_t n,
                      const sf_adamw_scalars *s);
/// The same with bf16 gradients.
void sf_adamw_bf16grad(float *p, float *m, float *v, const uint16_t *g, uint16_t *bf16_out, size_t n,
                       const sf_adamw_scalars *s);

/// The p that one AdamW step would write, into out (n floats), leaving p, m, v as they are.
/// The gradient is g32 (fp32) or, when that is NULL, g16 (bf16).
void sf_adamw_updated_params(float *out, const float *p, const float *m, const float *v, const float *g32,
                             const uint16_t *g16, size_t n, const sf_adamw_scalars *s);

/// Σ x² over n floats, accumulated in double.
double sf_sum_squares_f32(const float *x, size_t n);


/// dst[i] = bf16(src[i]), round to nearest even (NaN -> quiet NaN).
void sf_f32_to_bf16(uint16_t *dst, const float *src, size_t n);

/// x[i] = bf16(x[i]) widened back to fp32 (the values a bf16 copy holds), in place.
void sf_round_f32_to_bf16(float *x, size_t n);
#endif
