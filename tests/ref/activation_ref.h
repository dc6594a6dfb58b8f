/* Plain C references for ReLU and dropout (runtime/ops/activation.h), no Vulkan. */
#ifndef RP_TEST_ACTIVATION_REF_H
#define RP_TEST_ACTIVATION_REF_H

#include <stdint.h>

/* y = max(x, 0); dx = dy where y > 0, else 0 */
void ref_relu_forward(const double *x, int64_t n, double *y);
void ref_relu_backward(const double *y, const double *dy, int64_t n, double *dx);

/* Philox-4x32-10 of Salmon et al. (SC 2011), as Random123's philox4x32: one block of four
 * words from a 4-word counter and a 2-word key. */
void ref_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* The dropout mask rp_dropout_forward draws: element i keeps (mask = 1.0f / (1.0f - p), or 0
 * when p = 1) when r / 2^32 >= p, r being word i % 4 of Philox with key (seed low, seed high)
 * and counter (i / 4, stream, step, step_high); else 0. */
void ref_dropout_mask(int64_t n, float p, uint64_t seed, uint32_t step, uint32_t step_high,
                      uint32_t stream, float *mask);

#endif
