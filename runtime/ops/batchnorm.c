/* Batch normalization, per-channel bias and the input normalization: every op of this family
 * views its tensor as [N, C, inner] (inner = H*W, 1 for [N, C]) and works per channel, with a
 * workgroup per (channel, chunk of the channel's M = N*inner elements), so that per-channel
 * values are uniform across a workgroup (shaders/batchnorm_common.glsl).
 *
 * Per-channel reductions (the batch statistics, the backward sums, the bias gradient) run in
 * two passes, each in a fixed order: each workgroup reduces its chunk by a fixed tree into a
 * partial result in recorder scratch, then one invocation per channel combines the chunks in
 * order. There are no atomics, so results are bit-reproducible on one device; chunks keep
 * lavapipe's costly workgroup barriers to a few per thousands of elements while still giving
 * every core work. See shaders/batchnorm_stats.comp for how the variance avoids cancellation.
 *
 * Dispatches: training forward 3 (statistics, finalize, output), eval forward 1, backward 3
 * (sums, finalize, dx), bias add 1, bias gradient 1 (2 when M > 2048), normalize 1. */
#include "ops/batchnorm.h"

#include "ops/dispatch.h"
#include "ops/ops.h"

#define FINALIZE_WORKGROUP 64u
/* The shaders' index arithmetic is 32-bit and their fast division exact below 2^31. */
#define MAX_ELEMENTS ((int64_t)1 << 31)

/* A tensor as [N, C, inner]. */
typedef struct channels {
  int64_t n, c, inner;
} channels;

/* For a division by d in a shader (shaders/batchnorm_common.glsl: div_magic): sh =
 * ceil(log2(d)) and magic = floor(2^(31+sh) / d) + 1, which is below 2^32 and makes
 * floor(n * magic / 2^(31+sh)) equal n / d for every n < 2^31. */
static void magic_for(uint32_t d, uint32_t *magic, uint32_t *sh) {
  uint32_t s = 0;
  while (((uint64_t)1 << s) < d) s++;
  *sh = s;
  *magic = (uint32_t)((((uint64_t)1 << (31 + s)) / d) + 1);
}

static rp_status view(const char *op, const char *name, const rp_tensor *x, channels *out) {
  char dims[96];
  *out = (channels){0, 0, 1};
  if (x->ndim < 2 || x->dtype != RP_F32 || rp_tensor_numel(x) >= MAX_ELEMENTS)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: %s of shape %s must be fp32 [N, C, ...] of fewer than 2^31 elements", op,
                   name, rp_shape_string(x, dims, sizeof dims));
  out->n = x->shape[0];
  out->c = x->shape[1];
  out->inner = 1;
  for (int d = 2; d < x->ndim; d++) out->inner *= x->shape[d];
  return RP_OK;
}

/* A per-channel vector: C fp32 elements (any shape). */
static rp_status check_vector(const char *op, const char *name, const rp_tensor *t, int64_t c) {
  char dims[96];
  if (rp_tensor_numel(t) != c || t->dtype != RP_F32)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %s of shape %s for %lld channels", op, name,
                   rp_shape_string(t, dims, sizeof dims), (long long)c);
  return RP_OK;
}

/* An output or second input with as many fp32 elements as x. */
static rp_status check_like(const char *op, const char *name, const rp_tensor *t,
                            const rp_tensor *x) {
  char a[96], b[96];
  if (rp_tensor_numel(t) != rp_tensor_numel(x) || t->dtype != RP_F32)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %s of shape %s for an input of shape %s", op, name,
                   rp_shape_string(t, a, sizeof a), rp_shape_string(x, b, sizeof b));
  return RP_OK;
}

static rp_status pipeline(rp_recorder *rec, const char *shader, uint32_t bindings,
                          const uint32_t *spec, uint32_t spec_count, const rp_pipeline **out) {
  return rp_pipeline_get(rp_rec_context(rec),
                         &(rp_pipeline_key){shader, bindings, spec, spec_count}, out);
}

/* ---- the (channel, chunk) grid every shader of the family runs on ---- */

/* The push constants every shader of the family starts with (shaders/batchnorm_common.glsl):
 * C, inner, M = N*inner elements per channel, the chunk each workgroup takes and the chunks per
 * channel, and the division by inner. */
typedef struct channel_push {
  uint32_t c, inner, m, chunk, chunks, in_magic, in_sh;
} channel_push;

/* Every pass runs workgroups of WORKGROUP invocations, each taking PER_INVOCATION elements
 * of its chunk, which amortizes the reductions' trees (their barriers are slow on lavapipe) and
 * the per-workgroup cost. Measured on lavapipe (ResNet-18 shapes at batch 128): 64 wide was no
 * slower than 256 wide on 32x32 maps and about twice as fast on 4x4 ones, and 32 elements each
 * about 1.3 times as fast as 8 in the per-element passes. */
#define WORKGROUP 64u
#define PER_INVOCATION 32u

/* The batch-norm passes' elements per invocation. On CPU devices 512: there the reductions'
 * barriers, not their loads, bounded batchnorm_stats and batchnorm_grad_reduce at 32 (in the
 * ResNet-20 step at batch 128 they ran 2-3x faster at 512, 128 was between), and two cores need
 * few workgroups. GPUs keep 32, for enough workgroups to fill them. */
static uint32_t batchnorm_per_invocation(rp_recorder *rec) {
  return rp_context_caps(rp_rec_context(rec))->device_class == RP_CLASS_CPU ? 512u : PER_INVOCATION;
}

/* The batch-norm shaders take four elements at a time where inner allows (their VEC4); the
 * bias and normalize shaders one. */
static uint32_t batchnorm_width(const channels *v) { return v->inner % 4 == 0 ? 4 : 1; }

/* The grid for `width` elements at a time, `per_invocation` elements each: inner, M and the
 * chunk then count groups of `width`, and a chunk is as many elements either way. */
static channel_push channel_plan(const channels *v, uint32_t width, uint32_t per_invocation) {
  int64_t m = v->n * v->inner / width;
  uint32_t chunk = WORKGROUP * per_invocation / width;
  channel_push p = {(uint32_t)v->c,
                    (uint32_t)(v->inner / width),
                    (uint32_t)m,
                    chunk,
                    (uint32_t)((m + chunk - 1) / chunk),
                    0,
                    0};
  magic_for(p.inner, &p.in_magic, &p.in_sh);
  return p;
}

/* One workgroup per (channel, chunk) of `shader`, its specialization constant 1 `op` and 2
 * whether it takes four elements at a time; `push` starts with channel_plan(v, width, ...). The
 * batch-norm shaders read their tensor inputs, the bindings `texel_bindings`, through vec4
 * texel buffers where rp_texel_key() says (0 for the other shaders). */
static rp_status per_chunk(rp_recorder *rec, const char *shader, uint32_t op, uint32_t width,
                           uint32_t texel_bindings, const rp_arg *args, uint32_t nargs,
                           const void *push, uint32_t push_bytes) {
  const channel_push *p = push;
  const rp_caps *caps = rp_context_caps(rp_rec_context(rec));
  uint32_t spec[] = {WORKGROUP, op, width == 4};
  char name[48];
  rp_pipeline_key key = rp_texel_key(caps, shader, name, sizeof name, nargs, spec, 3, args,
                                     texel_bindings, texel_bindings);
  const rp_pipeline *pipe;
  uint32_t groups[3];
  rp_status st = rp_pipeline_get(rp_rec_context(rec), &key, &pipe);
  if (st == RP_OK) st = rp_grid_1d(caps, (int64_t)p->c * p->chunks, 1, groups);
  return st ? st : rp_rec_dispatch(rec, pipe, args, nargs, push, push_bytes, groups);
}

/* One invocation per channel. */
static rp_status per_channel(rp_recorder *rec, const char *shader, int64_t c, const rp_arg *args,
                             uint32_t nargs, const void *push, uint32_t push_bytes) {
  const rp_pipeline *pipe;
  uint32_t groups[3];
  rp_status st = pipeline(rec, shader, nargs, (uint32_t[]){FINALIZE_WORKGROUP}, 1, &pipe);
  if (st == RP_OK)
    st = rp_grid_1d(rp_context_caps(rp_rec_context(rec)), c, FINALIZE_WORKGROUP, groups);
  return st ? st : rp_rec_dispatch(rec, pipe, args, nargs, push, push_bytes, groups);
}

/* ---- batch normalization ---- */

static rp_status check_batchnorm(const char *op, const rp_tensor *x, const rp_tensor *gamma,
                                 const rp_tensor *beta, const rp_tensor *mean,
                                 const rp_tensor *stat, const rp_tensor *y, channels *v) {
  rp_status st = view(op, "x", x, v);
  if (st == RP_OK) st = check_vector(op, "gamma", gamma, v->c);
  if (st == RP_OK) st = check_vector(op, "beta", beta, v->c);
  if (st == RP_OK) st = check_vector(op, "mean", mean, v->c);
  if (st == RP_OK) st = check_vector(op, "variance", stat, v->c);
  if (st == RP_OK) st = check_like(op, "y", y, x);
  return st;
}

/* y from x and per-channel mean and invstd (EVAL 0) or running variance (EVAL 1). */
static rp_status apply(rp_recorder *rec, uint32_t eval, const channels *v, const rp_tensor *x,
                       const rp_tensor *mean, const rp_tensor *stat, const rp_tensor *gamma,
                       const rp_tensor *beta, float eps, const rp_tensor *y) {
  uint32_t width = batchnorm_width(v);
  struct {
    channel_push e;
    float eps;
  } push = {channel_plan(v, width, batchnorm_per_invocation(rec)), eps};
  uint64_t vec = (uint64_t)v->c * sizeof(float);
  rp_arg args[] = {{&x->buffer, 0, rp_tensor_bytes(x), RP_READ},
                   {&mean->buffer, 0, vec, RP_READ},
                   {&stat->buffer, 0, vec, RP_READ},
                   {&gamma->buffer, 0, vec, RP_READ},
                   {&beta->buffer, 0, vec, RP_READ},
                   {&y->buffer, 0, rp_tensor_bytes(y), RP_WRITE}};
  return per_chunk(rec, "batchnorm_apply", eval, width, 1u, args, 6, &push, sizeof push);
}

rp_status rp_batchnorm_forward_train(rp_recorder *rec, const rp_tensor *x, const rp_tensor *gamma,
                                     const rp_tensor *beta, float momentum, float eps,
                                     const rp_tensor *running_mean, const rp_tensor *running_var,
                                     const rp_tensor *save_mean, const rp_tensor *save_invstd,
                                     const rp_tensor *y) {
  const char *op = "batchnorm_forward_train";
  channels v;
  rp_status st = check_batchnorm(op, x, gamma, beta, running_mean, running_var, y, &v);
  if (st == RP_OK) st = check_vector(op, "save_mean", save_mean, v.c);
  if (st == RP_OK) st = check_vector(op, "save_invstd", save_invstd, v.c);
  if (st) return st;
  if (v.n * v.inner < 2) /* as PyTorch: no variance from one value */
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: one value per channel (x [%lld, %lld]); training needs more", op,
                   (long long)v.n, (long long)v.c);

  uint32_t width = batchnorm_width(&v);
  channel_push rp = channel_plan(&v, width, batchnorm_per_invocation(rec));
  uint64_t partial_bytes = (uint64_t)rp.c * rp.chunks * 2 * sizeof(float);
  const rp_buffer *partial;
  st = rp_rec_scratch(rec, partial_bytes, &partial);
  if (st) return st;
  uint64_t vec = (uint64_t)v.c * sizeof(float);

  rp_arg stats[] = {{&x->buffer, 0, rp_tensor_bytes(x), RP_READ},
                    {partial, 0, partial_bytes, RP_WRITE}};
  st = per_chunk(rec, "batchnorm_stats", 0, width, 1u, stats, 2, &rp, sizeof rp);
  if (st) return st;

  struct {
    uint32_t c, m, chunk, chunks;
    float momentum, eps;
  } fin = {rp.c, rp.m * width, rp.chunk * width, rp.chunks, momentum, eps}; /* in elements */
  rp_arg finalize[] = {{partial, 0, partial_bytes, RP_READ},
                       {&save_mean->buffer, 0, vec, RP_WRITE},
                       {&save_invstd->buffer, 0, vec, RP_WRITE},
                       {&running_mean->buffer, 0, vec, RP_READ_WRITE},
                       {&running_var->buffer, 0, vec, RP_READ_WRITE}};
  st = per_channel(rec, "batchnorm_finalize", v.c, finalize, 5, &fin, sizeof fin);
  if (st) return st;

  return apply(rec, 0, &v, x, save_mean, save_invstd, gamma, beta, eps, y);
}

rp_status rp_batchnorm_forward_eval(rp_recorder *rec, const rp_tensor *x, const rp_tensor *gamma,
                                    const rp_tensor *beta, const rp_tensor *running_mean,
                                    const rp_tensor *running_var, float eps, const rp_tensor *y) {
  channels v;
  rp_status st =
      check_batchnorm("batchnorm_forward_eval", x, gamma, beta, running_mean, running_var, y, &v);
  return st ? st : apply(rec, 1, &v, x, running_mean, running_var, gamma, beta, eps, y);
}

rp_status rp_batchnorm_backward(rp_recorder *rec, const rp_tensor *x, const rp_tensor *dy,
                                const rp_tensor *gamma, const rp_tensor *save_mean,
                                const rp_tensor *save_invstd, const rp_tensor *dx,
                                const rp_tensor *dgamma, const rp_tensor *dbeta) {
  const char *op = "batchnorm_backward";
  channels v;
  rp_status st = view(op, "x", x, &v);
  if (st == RP_OK) st = check_like(op, "dy", dy, x);
  if (st == RP_OK) st = check_like(op, "dx", dx, x);
  if (st == RP_OK) st = check_vector(op, "gamma", gamma, v.c);
  if (st == RP_OK) st = check_vector(op, "save_mean", save_mean, v.c);
  if (st == RP_OK) st = check_vector(op, "save_invstd", save_invstd, v.c);
  if (st == RP_OK) st = check_vector(op, "dgamma", dgamma, v.c);
  if (st == RP_OK) st = check_vector(op, "dbeta", dbeta, v.c);
  if (st) return st;

  uint32_t width = batchnorm_width(&v);
  channel_push rp = channel_plan(&v, width, batchnorm_per_invocation(rec));
  uint64_t partial_bytes = (uint64_t)rp.c * rp.chunks * 2 * sizeof(float);
  const rp_buffer *partial;
  st = rp_rec_scratch(rec, partial_bytes, &partial);
  if (st) return st;
  uint64_t vec = (uint64_t)v.c * sizeof(float), bytes = rp_tensor_bytes(x);

  rp_arg sums[] = {{&x->buffer, 0, bytes, RP_READ},
                   {&dy->buffer, 0, bytes, RP_READ},
                   {&save_mean->buffer, 0, vec, RP_READ},
                   {&save_invstd->buffer, 0, vec, RP_READ},
                   {partial, 0, partial_bytes, RP_WRITE}};
  st = per_chunk(rec, "batchnorm_grad_reduce", 0, width, 3u, sums, 5, &rp, sizeof rp);
  if (st) return st;

  struct {
    uint32_t c, chunks;
  } fin = {rp.c, rp.chunks};
  rp_arg finalize[] = {{partial, 0, partial_bytes, RP_READ},
                       {&dgamma->buffer, 0, vec, RP_WRITE},
                       {&dbeta->buffer, 0, vec, RP_WRITE}};
  st = per_channel(rec, "batchnorm_grad_finalize", v.c, finalize, 3, &fin, sizeof fin);
  if (st) return st;

  struct {
    channel_push e;
    float inv_m;
  } push = {rp, (float)(1.0 / (double)(v.n * v.inner))};
  rp_arg grad[] = {{&x->buffer, 0, bytes, RP_READ},       {&dy->buffer, 0, bytes, RP_READ},
                   {&save_mean->buffer, 0, vec, RP_READ}, {&save_invstd->buffer, 0, vec, RP_READ},
                   {&gamma->buffer, 0, vec, RP_READ},     {&dgamma->buffer, 0, vec, RP_READ},
                   {&dbeta->buffer, 0, vec, RP_READ},     {&dx->buffer, 0, bytes, RP_WRITE}};
  return per_chunk(rec, "batchnorm_dx", 0, width, 3u, grad, 8, &push, sizeof push);
}

/* ---- per-channel bias ---- */

rp_status rp_bias_add(rp_recorder *rec, const rp_tensor *bias, const rp_tensor *y) {
  channels v;
  rp_status st = view("bias_add", "y", y, &v);
  if (st == RP_OK) st = check_vector("bias_add", "bias", bias, v.c);
  if (st) return st;
  channel_push push = channel_plan(&v, 1, PER_INVOCATION);
  rp_arg args[] = {{&bias->buffer, 0, rp_tensor_bytes(bias), RP_READ},
                   {&y->buffer, 0, rp_tensor_bytes(y), RP_READ_WRITE}};
  return per_chunk(rec, "bias_add", 0, 1, 0, args, 2, &push, sizeof push);
}

rp_status rp_bias_grad(rp_recorder *rec, const rp_tensor *dy, const rp_tensor *dbias) {
  channels v;
  rp_status st = view("bias_grad", "dy", dy, &v);
  if (st == RP_OK) st = check_vector("bias_grad", "dbias", dbias, v.c);
  if (st) return st;
  channel_push rp = channel_plan(&v, 1, PER_INVOCATION);
  rp_arg args[] = {{&dy->buffer, 0, rp_tensor_bytes(dy), RP_READ},
                   {&dbias->buffer, 0, rp_tensor_bytes(dbias), RP_WRITE}};
  /* One chunk per channel: the chunk sums are the gradient. */
  if (rp.chunks == 1) return per_chunk(rec, "bias_grad", 0, 1, 0, args, 2, &rp, sizeof rp);

  /* Else chunk sums into scratch, then each channel's row of them summed by rp_sum_rows. */
  rp_tensor partial = {.dtype = RP_F32, .ndim = 1, .shape = {(int64_t)rp.c * rp.chunks}};
  const rp_buffer *scratch;
  st = rp_rec_scratch(rec, rp_tensor_bytes(&partial), &scratch);
  if (st) return st;
  partial.buffer = *scratch;
  partial.buffer.size = rp_tensor_bytes(&partial);
  args[1] = (rp_arg){scratch, 0, rp_tensor_bytes(&partial), RP_WRITE};
  st = per_chunk(rec, "bias_grad", 0, 1, 0, args, 2, &rp, sizeof rp);
  return st ? st : rp_sum_rows(rec, &partial, v.c, dbias);
}

/* ---- input normalization ---- */

static rp_status normalize(rp_recorder *rec, const char *op, uint32_t backward, const rp_tensor *x,
                           const float *mean, const float *std, const rp_tensor *y) {
  channels v;
  rp_status st = view(op, "input", x, &v);
  if (st == RP_OK) st = check_like(op, "output", y, x);
  if (st) return st;
  if (v.c > 4)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %lld channels; at most 4", op, (long long)v.c);
  struct {
    channel_push e;
    float mean[4], std[4];
  } push = {channel_plan(&v, 1, PER_INVOCATION), {0}, {1, 1, 1, 1}};
  for (int64_t c = 0; c < v.c; c++) {
    if (!(std[c] != 0.0f) || std[c] - std[c] != 0.0f) /* zero, infinite or NaN */
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: std[%lld] = %g", op, (long long)c,
                     (double)std[c]);
    push.mean[c] = mean ? mean[c] : 0.0f;
    push.std[c] = std[c];
  }
  rp_arg args[] = {{&x->buffer, 0, rp_tensor_bytes(x), RP_READ},
                   {&y->buffer, 0, rp_tensor_bytes(y), RP_WRITE}};
  return per_chunk(rec, "normalize", backward, 1, 0, args, 2, &push, sizeof push);
}

rp_status rp_normalize_forward(rp_recorder *rec, const rp_tensor *x, const float *mean,
                               const float *std, const rp_tensor *y) {
  return normalize(rec, "normalize_forward", 0, x, mean, std, y);
}

rp_status rp_normalize_backward(rp_recorder *rec, const rp_tensor *dy, const float *std,
                                const rp_tensor *dx) {
  return normalize(rec, "normalize_backward", 1, dy, NULL, std, dx);
}
