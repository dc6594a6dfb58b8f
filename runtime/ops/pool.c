/* Max, average and global-average pooling: one shader invocation per output element (forward)
 * or per input element (backward, a gather over the windows that cover it).
 *
 * The window geometry (kernel, stride, padding in each direction) goes into specialization
 * constants rather than push constants, so the compiler sees constant loop bounds and strides
 * and can unroll the window loops and turn the divisions into multiplies: a network has only a
 * handful of pooling shapes, so the few extra pipelines are cheap. Global average pooling is the
 * same average-pooling shader with a window of the whole plane. */
#include "ops/pool.h"

#include "ops/dispatch.h"

int64_t rp_pool_out_size(int64_t in, int kernel, int stride, int pad) {
  if (stride < 1) return 0;
  int64_t span = in + 2 * (int64_t)pad - kernel;
  return span < 0 ? 0 : span / stride + 1;
}

/* The window of one pooling op, in each direction. */
typedef struct window {
  uint32_t kh, kw, sh, sw, ph, pw;
} window;

/* Push constants shared by the pooling shaders (shaders/pool_common.glsl). */
typedef struct pool_push {
  uint32_t n;    /* invocations: outputs (forward) or inputs (backward) */
  uint32_t h, w; /* input plane */
  uint32_t p, q; /* output plane */
} pool_push;

/* Checks x [N, C, H, W] against y [N, C, P, Q] for a square `kernel`, `stride`, `pad`:
 * PyTorch's rules (floor mode, pad at most half the kernel) and the output size. */
static rp_status check_geometry(const char *op, const rp_tensor *x, const rp_tensor *y, int kernel,
                                int stride, int pad) {
  char xs[96], ys[96];
  if (kernel < 1 || stride < 1 || pad < 0 || pad > kernel / 2)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: kernel %d, stride %d, pad %d (need kernel >= 1, stride >= 1, "
                   "0 <= pad <= kernel / 2)",
                   op, kernel, stride, pad);
  if (x->ndim != 4 || y->ndim != 4)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: input %s and output %s must both be NCHW", op,
                   rp_shape_string(x, xs, sizeof xs), rp_shape_string(y, ys, sizeof ys));
  int64_t p = rp_pool_out_size(x->shape[2], kernel, stride, pad);
  int64_t q = rp_pool_out_size(x->shape[3], kernel, stride, pad);
  if (p < 1 || q < 1 || y->shape[0] != x->shape[0] || y->shape[1] != x->shape[1] ||
      y->shape[2] != p || y->shape[3] != q)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: input %s with kernel %d, stride %d, pad %d gives [%lld, %lld, %lld, "
                   "%lld], not %s",
                   op, rp_shape_string(x, xs, sizeof xs), kernel, stride, pad,
                   (long long)x->shape[0], (long long)x->shape[1], (long long)p, (long long)q,
                   rp_shape_string(y, ys, sizeof ys));
  return RP_OK;
}

/* Records `shader` with `nargs` bindings, one invocation for each of `invocations`; `x` is the
 * input plane [N, C, H, W] and `y` the output plane [N, C, P, Q] (whichever is read or
 * written). */
static rp_status dispatch(rp_recorder *rec, const char *shader, const window *win,
                          const rp_arg *args, uint32_t nargs, int64_t invocations,
                          const int64_t *x_shape, const int64_t *y_shape) {
  rp_context *ctx = rp_rec_context(rec);
  uint32_t spec[] = {
      RP_ELEMENTWISE_WORKGROUP, win->kh, win->kw, win->sh, win->sw, win->ph, win->pw};
  const rp_pipeline *pipeline;
  rp_status st = rp_pipeline_get(ctx, &(rp_pipeline_key){shader, nargs, spec, 7}, &pipeline);
  uint32_t groups[3];
  if (st == RP_OK) st = rp_grid_1d(rp_context_caps(ctx), invocations, spec[0], groups);
  if (st) return st;
  pool_push push = {(uint32_t)invocations, (uint32_t)x_shape[2], (uint32_t)x_shape[3],
                    (uint32_t)y_shape[2], (uint32_t)y_shape[3]};
  return rp_rec_dispatch(rec, pipeline, args, nargs, &push, sizeof push, groups);
}

static window square(int kernel, int stride, int pad) {
  return (window){(uint32_t)kernel, (uint32_t)kernel, (uint32_t)stride,
                  (uint32_t)stride, (uint32_t)pad,    (uint32_t)pad};
}

rp_status rp_maxpool2d_forward(rp_recorder *rec, const rp_tensor *x, int kernel, int stride,
                               int pad, const rp_tensor *y, const rp_tensor *indices) {
  rp_status st = check_geometry("maxpool2d_forward", x, y, kernel, stride, pad);
  if (st) return st;
  int64_t n = rp_tensor_numel(y);
  if (rp_tensor_numel(indices) != n)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "maxpool2d_forward: indices of %lld elements for an output of %lld",
                   (long long)rp_tensor_numel(indices), (long long)n);
  window win = square(kernel, stride, pad);
  rp_arg args[] = {{&x->buffer, 0, rp_tensor_bytes(x), RP_READ},
                   {&y->buffer, 0, rp_tensor_bytes(y), RP_WRITE},
                   {&indices->buffer, 0, rp_tensor_bytes(indices), RP_WRITE}};
  return dispatch(rec, "pool_max", &win, args, 3, n, x->shape, y->shape);
}

rp_status rp_maxpool2d_backward(rp_recorder *rec, const rp_tensor *dy, const rp_tensor *indices,
                                int kernel, int stride, int pad, const rp_tensor *dx) {
  rp_status st = check_geometry("maxpool2d_backward", dx, dy, kernel, stride, pad);
  if (st) return st;
  if (rp_tensor_numel(indices) != rp_tensor_numel(dy))
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "maxpool2d_backward: indices of %lld elements for a gradient of %lld",
                   (long long)rp_tensor_numel(indices), (long long)rp_tensor_numel(dy));
  window win = square(kernel, stride, pad);
  rp_arg args[] = {{&dy->buffer, 0, rp_tensor_bytes(dy), RP_READ},
                   {&indices->buffer, 0, rp_tensor_bytes(indices), RP_READ},
                   {&dx->buffer, 0, rp_tensor_bytes(dx), RP_WRITE}};
  return dispatch(rec, "pool_max_backward", &win, args, 3, rp_tensor_numel(dx), dx->shape,
                  dy->shape);
}

static rp_status avg_forward(rp_recorder *rec, const window *win, const rp_tensor *x,
                             const rp_tensor *y, const int64_t *y_shape) {
  rp_arg args[] = {{&x->buffer, 0, rp_tensor_bytes(x), RP_READ},
                   {&y->buffer, 0, rp_tensor_bytes(y), RP_WRITE}};
  return dispatch(rec, "pool_avg", win, args, 2, rp_tensor_numel(y), x->shape, y_shape);
}

static rp_status avg_backward(rp_recorder *rec, const window *win, const rp_tensor *dy,
                              const rp_tensor *dx, const int64_t *dy_shape) {
  rp_arg args[] = {{&dy->buffer, 0, rp_tensor_bytes(dy), RP_READ},
                   {&dx->buffer, 0, rp_tensor_bytes(dx), RP_WRITE}};
  return dispatch(rec, "pool_avg_backward", win, args, 2, rp_tensor_numel(dx), dx->shape, dy_shape);
}

rp_status rp_avgpool2d_forward(rp_recorder *rec, const rp_tensor *x, int kernel, int stride,
                               int pad, const rp_tensor *y) {
  rp_status st = check_geometry("avgpool2d_forward", x, y, kernel, stride, pad);
  window win = square(kernel, stride, pad);
  return st ? st : avg_forward(rec, &win, x, y, y->shape);
}

rp_status rp_avgpool2d_backward(rp_recorder *rec, const rp_tensor *dy, int kernel, int stride,
                                int pad, const rp_tensor *dx) {
  rp_status st = check_geometry("avgpool2d_backward", dx, dy, kernel, stride, pad);
  window win = square(kernel, stride, pad);
  return st ? st : avg_backward(rec, &win, dy, dx, dy->shape);
}

/* Global average pooling is average pooling with one H x W window per plane (stride 1, no
 * padding), so every input lies in exactly one window and the divisor is H W. */
static rp_status check_global(const char *op, const rp_tensor *x, const rp_tensor *y, window *win) {
  char xs[96], ys[96];
  if (x->ndim != 4 || rp_tensor_numel(y) != x->shape[0] * x->shape[1])
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: input %s must be NCHW and output %s hold N C elements", op,
                   rp_shape_string(x, xs, sizeof xs), rp_shape_string(y, ys, sizeof ys));
  *win = (window){(uint32_t)x->shape[2], (uint32_t)x->shape[3], 1, 1, 0, 0};
  return RP_OK;
}

static const int64_t one_by_one[4] = {1, 1, 1, 1};

rp_status rp_global_avgpool_forward(rp_recorder *rec, const rp_tensor *x, const rp_tensor *y) {
  window win;
  rp_status st = check_global("global_avgpool_forward", x, y, &win);
  return st ? st : avg_forward(rec, &win, x, y, one_by_one);
}

rp_status rp_global_avgpool_backward(rp_recorder *rec, const rp_tensor *dy, const rp_tensor *dx) {
  window win;
  rp_status st = check_global("global_avgpool_backward", dx, dy, &win);
  return st ? st : avg_backward(rec, &win, dy, dx, one_by_one);
}
