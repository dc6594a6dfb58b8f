/* ReLU (shaders/relu.comp) and dropout (shaders/dropout.comp): one invocation per four
 * elements (relu's tail one each; dropout's four are those one Philox block covers). */
#include "ops/activation.h"

#include <math.h>

#include "ops/dispatch.h"

/* Specialization constant 1 of shaders/relu.comp */
enum { RELU_FORWARD, RELU_BACKWARD };

/* out = relu(a) (forward; b is a again) or a > 0 ? b : 0 (backward). */
static rp_status relu(rp_recorder *rec, uint32_t direction, const rp_tensor *a, const rp_tensor *b,
                      const rp_tensor *out) {
  int64_t n = rp_tensor_numel(out);
  if (rp_tensor_numel(a) != n || rp_tensor_numel(b) != n)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "relu_%s: tensors of %lld, %lld and %lld elements",
                   direction == RELU_FORWARD ? "forward" : "backward",
                   (long long)rp_tensor_numel(a), (long long)rp_tensor_numel(b), (long long)n);
  uint32_t spec[] = {RP_ELEMENTWISE_WORKGROUP, direction};
  uint64_t bytes = rp_tensor_bytes(out);
  rp_arg args[] = {{&a->buffer, 0, bytes, RP_READ},
                   {&b->buffer, 0, bytes, RP_READ},
                   {&out->buffer, 0, bytes, RP_WRITE}};
  uint32_t push = (uint32_t)n;
  return rp_vec4_dispatch(rec, "relu", spec, 2, args, 3, 3u, n, &push, sizeof push);
}

rp_status rp_relu_forward(rp_recorder *rec, const rp_tensor *x, const rp_tensor *y) {
  return relu(rec, RELU_FORWARD, x, x, y);
}

rp_status rp_relu_backward(rp_recorder *rec, const rp_tensor *y, const rp_tensor *dy,
                           const rp_tensor *dx) {
  return relu(rec, RELU_BACKWARD, y, dy, dx);
}

/* The smallest 32-bit word r with r / 2^32 >= p: words at or above it keep their element. */
static uint32_t dropout_threshold(float p) {
  if (!(p > 0.0f)) return 0;
  if (p >= 1.0f) return UINT32_MAX; /* the scale is 0 then: nothing survives anyway */
  /* p < 1 as a float is at most 1 - 2^-24, so this is at most 2^32 - 256 */
  return (uint32_t)ceil((double)p * 4294967296.0);
}

static float dropout_scale(float p) { return p >= 1.0f ? 0.0f : 1.0f / (1.0f - p); }

rp_status rp_dropout_forward(rp_recorder *rec, const rp_tensor *x, float p, uint32_t stream,
                             const rp_tensor *rng, const rp_tensor *y, const rp_tensor *mask) {
  int64_t n = rp_tensor_numel(x);
  if (!(p >= 0.0f && p <= 1.0f))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "dropout_forward: p = %g, not in [0, 1]", (double)p);
  if (rp_tensor_numel(y) != n || rp_tensor_numel(mask) != n)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "dropout_forward: x, y and mask of %lld, %lld and %lld elements", (long long)n,
                   (long long)rp_tensor_numel(y), (long long)rp_tensor_numel(mask));
  if (rp_tensor_numel(rng) != 4)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "dropout_forward: rng holds %lld elements, not 4 (seed low, seed high, step, 0)",
                   (long long)rp_tensor_numel(rng));
  rp_context *ctx = rp_rec_context(rec);
  uint32_t spec[] = {RP_ELEMENTWISE_WORKGROUP};
  const rp_pipeline *pipeline;
  rp_status st = rp_pipeline_get(ctx, &(rp_pipeline_key){"dropout", 4, spec, 1}, &pipeline);
  uint32_t groups[3];
  /* one invocation per Philox block of four elements */
  if (st == RP_OK) st = rp_grid_1d(rp_context_caps(ctx), (n + 3) / 4, spec[0], groups);
  if (st) return st;
  struct {
    uint32_t n, stream, threshold;
    float scale;
  } push = {(uint32_t)n, stream, dropout_threshold(p), dropout_scale(p)};
  uint64_t bytes = rp_tensor_bytes(x);
  rp_arg args[] = {{&x->buffer, 0, bytes, RP_READ},
                   {&rng->buffer, 0, rp_tensor_bytes(rng), RP_READ},
                   {&y->buffer, 0, bytes, RP_WRITE},
                   {&mask->buffer, 0, bytes, RP_WRITE}};
  return rp_rec_dispatch(rec, pipeline, args, 4, &push, sizeof push, groups);
}
