/* ReLU and dropout. Outputs are overwritten; `y` may be `x`. */
#ifndef RP_ACTIVATION_H
#define RP_ACTIVATION_H

#include "ops/tensor.h"

/* y = max(x, 0) */
rp_status rp_relu_forward(rp_recorder *rec, const rp_tensor *x, const rp_tensor *y);
/* dx = dy where y > 0, else 0 (y is the forward output; dx may be dy) */
rp_status rp_relu_backward(rp_recorder *rec, const rp_tensor *y, const rp_tensor *dy,
                           const rp_tensor *dx);

/* Inverted dropout with a counter-based generator (Philox-4x32-10), so masks are reproducible
 * from the seed and independent of dispatch order:
 *   mask[i] = (u_i >= p) / (1 - p),  y = x * mask,
 * exactly 0 or the float 1.0f / (1.0f - p) (0 everywhere when p = 1; p = 0 gives y = x). The
 * seed and the step are read on the device from `rng` (RP_U32 [4]: seed low, seed high, step,
 * 0), which the host rewrites before each submission of a recorded step, so a step recorded
 * once draws fresh masks every time; `stream` tells the dropout layers of one network apart.
 * Precisely: Philox keyed by (seed low, seed high) with counter (i / 4, stream, step, rng[3])
 * gives four words r[0..3], and u_i = r[i % 4] / 2^32 (tests/ref/activation_ref.c has the same
 * generator in C). `y` may be `x`; `mask` is a separate tensor of x's size.
 * The backward pass is dx = dy * mask (rp_mul). */
rp_status rp_dropout_forward(rp_recorder *rec, const rp_tensor *x, float p, uint32_t stream,
                             const rp_tensor *rng, const rp_tensor *y, const rp_tensor *mask);

#endif
