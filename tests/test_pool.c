/* Max, average and global-average pooling against the C references of tests/ref/pool_ref.c,
 * with guard regions, on odd and round shapes; every backward pass also against central finite
 * differences of the reference forward. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/pool.h"
#include "ref/pool_ref.h"
#include "support/fixture.h"

TestSuite(pool, .fini = test_teardown);

typedef enum which { MAX, AVG, GLOBAL } which;

typedef struct pool_case {
  int n, c, h, w, kernel, stride, pad;
} pool_case;

/* N and C primes and 1, H and W odd, even and 1; kernel 1/2/3, stride 1/2/3, pad 0/1 (at most
 * kernel / 2); the MNIST CNN's 2x2 stride-2 pools at round sizes, and one of 400k inputs that
 * spans many workgroups. */
static const pool_case cases[] = {
    {2, 3, 28, 28, 2, 2, 0}, {4, 8, 14, 14, 2, 2, 0},   {3, 5, 7, 9, 3, 2, 1},
    {2, 7, 11, 13, 3, 1, 1}, {5, 3, 9, 7, 2, 1, 0},     {1, 1, 1, 1, 1, 1, 0},
    {3, 2, 5, 5, 3, 3, 1},   {7, 3, 10, 6, 2, 2, 1},    {1, 13, 17, 15, 3, 2, 0},
    {2, 2, 3, 3, 3, 1, 1},   {1, 1, 2, 3, 2, 2, 1},     {3, 1, 1, 5, 1, 2, 0},
    {11, 5, 8, 8, 3, 1, 0},  {16, 32, 28, 28, 2, 2, 0},
};
#define NCASES (sizeof cases / sizeof *cases)

/* Few enough inputs for a finite-difference check of every one */
#define FD_MAX_INPUTS 2500

static int out_h(const pool_case *pc) {
  return ref_pool_out(pc->h, pc->kernel, pc->stride, pc->pad);
}
static int out_w(const pool_case *pc) {
  return ref_pool_out(pc->w, pc->kernel, pc->stride, pc->pad);
}
static int64_t in_count(const pool_case *pc) { return (int64_t)pc->n * pc->c * pc->h * pc->w; }
static int64_t out_count(which op, const pool_case *pc) {
  return op == GLOBAL ? (int64_t)pc->n * pc->c : (int64_t)pc->n * pc->c * out_h(pc) * out_w(pc);
}

static double *to_double(const float *x, int64_t n) {
  double *d = malloc((size_t)n * sizeof *d);
  for (int64_t i = 0; i < n; i++) d[i] = x[i];
  return d;
}

/* Inputs whose values are all distinct and at least 2 / n apart (a shuffled ramp), so a finite
 * difference step well below that never changes which input is a window's maximum. */
static void fill_distinct(float *x, int64_t n, uint32_t seed) {
  float *r = malloc((size_t)n * sizeof *r);
  fill_random(r, n, seed);
  for (int64_t i = 0; i < n; i++) x[i] = (float)((double)(2 * i - n) / (double)n);
  for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates driven by r */
    int64_t j = (int64_t)((r[i] + 1.0f) * 0.5f * (float)(i + 1));
    if (j > i) j = i;
    float t = x[i];
    x[i] = x[j], x[j] = t;
  }
  free(r);
}

/* ---- running the ops on guarded tensors ---- */

static void shapes(which op, const pool_case *pc, int64_t xs[4], int64_t ys[4]) {
  xs[0] = pc->n, xs[1] = pc->c, xs[2] = pc->h, xs[3] = pc->w;
  ys[0] = pc->n, ys[1] = pc->c;
  ys[2] = op == GLOBAL ? 1 : out_h(pc);
  ys[3] = op == GLOBAL ? 1 : out_w(pc);
}

/* y (and for MAX the indices) of the forward op on x */
static void gpu_forward(which op, const pool_case *pc, const float *x, float *y,
                        uint32_t *indices) {
  int64_t xs[4], ys[4];
  shapes(op, pc, xs, ys);
  guarded gx = guarded_create(4, xs), gy = guarded_create(4, ys), gi = guarded_create(4, ys);
  int64_t ny = out_count(op, pc);
  float *junk = malloc((size_t)ny * sizeof *junk);
  fill_random(junk, ny, 5);
  guarded_upload(&gx, x);
  guarded_upload(&gy, junk); /* every output must be overwritten */
  guarded_upload(&gi, junk);
  rp_recorder *rec = test_recorder();
  int k = pc->kernel, s = pc->stride, p = pc->pad;
  switch (op) {
  case MAX: ASSERT_OK(rp_maxpool2d_forward(rec, &gx.view, k, s, p, &gy.view, &gi.view)); break;
  case AVG: ASSERT_OK(rp_avgpool2d_forward(rec, &gx.view, k, s, p, &gy.view)); break;
  case GLOBAL: ASSERT_OK(rp_global_avgpool_forward(rec, &gx.view, &gy.view)); break;
  }
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  guarded_download(&gy, y);
  if (op == MAX) {
    float *bits = malloc((size_t)ny * sizeof *bits);
    guarded_download(&gi, bits);
    memcpy(indices, bits, (size_t)ny * sizeof *indices);
    free(bits);
  }
  guarded_destroy(&gx), guarded_destroy(&gy), guarded_destroy(&gi);
  free(junk);
}

/* dx of the backward op from dy (and for MAX the forward's indices) */
static void gpu_backward(which op, const pool_case *pc, const float *dy, const uint32_t *indices,
                         float *dx) {
  int64_t xs[4], ys[4];
  shapes(op, pc, xs, ys);
  guarded gdx = guarded_create(4, xs), gdy = guarded_create(4, ys), gi = guarded_create(4, ys);
  int64_t nx = in_count(pc), ny = ys[0] * ys[1] * ys[2] * ys[3];
  float *junk = malloc((size_t)nx * sizeof *junk);
  fill_random(junk, nx, 6);
  guarded_upload(&gdx, junk);
  guarded_upload(&gdy, dy);
  if (op == MAX) {
    float *bits = malloc((size_t)ny * sizeof *bits);
    memcpy(bits, indices, (size_t)ny * sizeof *indices);
    guarded_upload(&gi, bits);
    free(bits);
  }
  rp_recorder *rec = test_recorder();
  int k = pc->kernel, s = pc->stride, p = pc->pad;
  switch (op) {
  case MAX: ASSERT_OK(rp_maxpool2d_backward(rec, &gdy.view, &gi.view, k, s, p, &gdx.view)); break;
  case AVG: ASSERT_OK(rp_avgpool2d_backward(rec, &gdy.view, k, s, p, &gdx.view)); break;
  case GLOBAL: ASSERT_OK(rp_global_avgpool_backward(rec, &gdy.view, &gdx.view)); break;
  }
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  guarded_download(&gdx, dx);
  guarded_destroy(&gdx), guarded_destroy(&gdy), guarded_destroy(&gi);
  free(junk);
}

/* The reference forward in double (indices discarded unless asked for) */
static void ref_forward(which op, const pool_case *pc, const double *x, double *y,
                        uint32_t *indices) {
  int planes = pc->n * pc->c;
  switch (op) {
  case MAX: {
    uint32_t *idx = indices ? indices : malloc((size_t)out_count(op, pc) * sizeof *idx);
    ref_maxpool2d_forward(x, planes, pc->h, pc->w, pc->kernel, pc->stride, pc->pad, y, idx);
    if (!indices) free(idx);
    break;
  }
  case AVG:
    ref_avgpool2d_forward(x, planes, pc->h, pc->w, pc->kernel, pc->stride, pc->pad, y);
    break;
  case GLOBAL: ref_global_avgpool_forward(x, planes, pc->h, pc->w, y); break;
  }
}

/* Largest number of terms one output (forward) or input (backward) adds: the bound on its
 * float rounding error is about that many epsilons of the sum of magnitudes. */
static int terms(which op, const pool_case *pc, bool backward) {
  if (op == GLOBAL) return backward ? 1 : pc->h * pc->w;
  if (!backward) return pc->kernel * pc->kernel;
  int per_axis = (pc->kernel + pc->stride - 1) / pc->stride;
  return per_axis * per_axis;
}

/* ---- forward ---- */

/* The inputs of a forward check: random, a few levels only (many ties, and windows of
 * negatives only, beside padding), random with NaNs (of both signs) sprinkled in, or all below
 * -2 with the first image's first channel -inf throughout (windows whose maximum is -inf: the
 * first input of the window, as the reference says). */
typedef enum inputs { RANDOM, TIES, NANS, FAR_NEGATIVE } inputs;

static void check_forward(which op, const pool_case *pc, inputs kind) {
  int64_t nx = in_count(pc), ny = out_count(op, pc);
  float *x = malloc((size_t)nx * sizeof *x), *y = malloc((size_t)ny * sizeof *y);
  uint32_t *idx = malloc((size_t)ny * sizeof *idx), *want_idx = malloc((size_t)ny * sizeof *idx);
  fill_random(x, nx, 100 + (uint32_t)nx);
  for (int64_t i = 0; i < nx; i++) {
    if (kind == TIES) x[i] = floorf(x[i] * 3.0f) / 3.0f;
    if (kind == NANS && i % 5 == 2) x[i] = i % 3 ? NAN : -NAN;
    if (kind == FAR_NEGATIVE) x[i] = i < (int64_t)pc->h * pc->w ? -INFINITY : x[i] - 3.0f;
  }
  gpu_forward(op, pc, x, y, idx);
  double *xd = to_double(x, nx), *want = malloc((size_t)ny * sizeof *want);
  double *mag = malloc((size_t)ny * sizeof *mag);
  ref_forward(op, pc, xd, want, want_idx);
  for (int64_t i = 0; i < nx; i++) xd[i] = fabs(xd[i]);
  ref_forward(op, pc, xd, mag, NULL);
  for (int64_t o = 0; o < ny; o++) {
    if (op == MAX) {
      /* a max is exact, both take the first maximum, and a NaN wins (the last one) */
      bool same = isnan(want[o]) ? isnan(y[o]) : y[o] == (float)want[o];
      cr_assert(same && idx[o] == want_idx[o],
                "maxpool %dx%dx%dx%d k%d s%d p%d%s: [%lld] = %g at %u, want %g at %u", pc->n, pc->c,
                pc->h, pc->w, pc->kernel, pc->stride, pc->pad,
                kind == TIES           ? " (ties)"
                : kind == NANS         ? " (NaNs)"
                : kind == FAR_NEGATIVE ? " (far negatives, -inf)"
                                       : "",
                (long long)o, y[o], idx[o], want[o], want_idx[o]);
    } else {
      double tol = (terms(op, pc, false) + 2) * FLT_EPSILON * mag[o];
      cr_assert(fabs(y[o] - want[o]) <= tol,
                "%s %dx%dx%dx%d k%d s%d p%d: [%lld] = %.9g, want %.9g (tol %.3g)",
                op == AVG ? "avgpool" : "global avgpool", pc->n, pc->c, pc->h, pc->w, pc->kernel,
                pc->stride, pc->pad, (long long)o, y[o], want[o], tol);
    }
  }
  free(x), free(y), free(idx), free(want_idx), free(xd), free(want), free(mag);
}

Test(pool, maxpool_forward) {
  for (size_t i = 0; i < NCASES; i++) check_forward(MAX, &cases[i], RANDOM);
}

Test(pool, maxpool_forward_ties_and_negatives) {
  for (size_t i = 0; i < NCASES; i++) check_forward(MAX, &cases[i], TIES);
  for (size_t i = 0; i < NCASES; i++) check_forward(MAX, &cases[i], FAR_NEGATIVE);
}

/* as in PyTorch: a NaN in the window is the maximum (GLSL's isnan() may be folded away) */
Test(pool, maxpool_forward_nan_wins) {
  for (size_t i = 0; i < NCASES; i++) check_forward(MAX, &cases[i], NANS);
}

Test(pool, avgpool_forward) {
  for (size_t i = 0; i < NCASES; i++) check_forward(AVG, &cases[i], RANDOM);
}

/* (kernel, stride, pad unused) */
static const pool_case global_cases[] = {
    {1, 1, 1, 1, 0, 0, 0},   {3, 5, 7, 9, 0, 0, 0},   {2, 64, 7, 7, 0, 0, 0},
    {13, 17, 1, 1, 0, 0, 0}, {4, 3, 32, 32, 0, 0, 0}, {1, 2, 1, 37, 0, 0, 0},
};
#define NGLOBAL (sizeof global_cases / sizeof *global_cases)

Test(pool, global_avgpool_forward) {
  for (size_t i = 0; i < NGLOBAL; i++) check_forward(GLOBAL, &global_cases[i], RANDOM);
}

/* ---- backward: against the reference's scatter, and by finite differences ---- */

static void check_backward(which op, const pool_case *pc) {
  int64_t nx = in_count(pc), ny = out_count(op, pc);
  float *x = malloc((size_t)nx * sizeof *x), *y = malloc((size_t)ny * sizeof *y);
  float *dy = malloc((size_t)ny * sizeof *dy), *dx = malloc((size_t)nx * sizeof *dx);
  uint32_t *idx = malloc((size_t)ny * sizeof *idx);
  fill_distinct(x, nx, 200 + (uint32_t)nx);
  fill_random(dy, ny, 300 + (uint32_t)ny);
  gpu_forward(op, pc, x, y, idx);
  gpu_backward(op, pc, dy, idx, dx);

  /* the reference backward, and the same on |dy| for the scale of the rounding error */
  double *dyd = to_double(dy, ny), *want = malloc((size_t)nx * sizeof *want);
  double *mag = malloc((size_t)nx * sizeof *mag);
  int planes = pc->n * pc->c, k = pc->kernel, s = pc->stride, p = pc->pad;
  for (int pass = 0; pass < 2; pass++) {
    double *out = pass ? mag : want;
    switch (op) {
    case MAX: ref_maxpool2d_backward(dyd, idx, planes, pc->h, pc->w, k, s, p, out); break;
    case AVG: ref_avgpool2d_backward(dyd, planes, pc->h, pc->w, k, s, p, out); break;
    case GLOBAL: ref_global_avgpool_backward(dyd, planes, pc->h, pc->w, out); break;
    }
    for (int64_t o = 0; o < ny; o++) dyd[o] = fabs(dyd[o]);
  }
  const char *name = op == MAX ? "maxpool" : op == AVG ? "avgpool" : "global avgpool";
  for (int64_t i = 0; i < nx; i++) {
    double tol = (terms(op, pc, true) + 3) * FLT_EPSILON * mag[i];
    cr_assert(fabs(dx[i] - want[i]) <= tol,
              "%s backward %dx%dx%dx%d k%d s%d p%d: dx[%lld] = %.9g, want %.9g (tol %.3g)", name,
              pc->n, pc->c, pc->h, pc->w, k, s, p, (long long)i, dx[i], want[i], tol);
  }

  /* Central differences of L(x) = sum dy * forward(x) in double, one input at a time. The
   * forward is piecewise linear and the inputs are 2/nx apart, so with a step of 1e-6 / nx the
   * difference is exact but for rounding (about |L| 1e-16 / step). */
  if (nx <= FD_MAX_INPUTS) {
    double *xd = to_double(x, nx), *yd = malloc((size_t)ny * sizeof *yd);
    double step = 1e-6 / (double)nx;
    for (int64_t o = 0; o < ny; o++) dyd[o] = dy[o];
    for (int64_t i = 0; i < nx; i++) {
      double loss[2];
      for (int side = 0; side < 2; side++) {
        double saved = xd[i];
        xd[i] += side ? -step : step;
        ref_forward(op, pc, xd, yd, NULL);
        xd[i] = saved;
        loss[side] = 0.0;
        for (int64_t o = 0; o < ny; o++) loss[side] += dyd[o] * yd[o];
      }
      double fd = (loss[0] - loss[1]) / (2 * step);
      double tol = 1e-5 * (1.0 + fabs(fd));
      cr_assert(fabs(dx[i] - fd) <= tol,
                "%s backward %dx%dx%dx%d k%d s%d p%d: dx[%lld] = %.9g, finite difference %.9g",
                name, pc->n, pc->c, pc->h, pc->w, k, s, p, (long long)i, dx[i], fd);
    }
    free(xd), free(yd);
  }
  free(x), free(y), free(dy), free(dx), free(idx), free(dyd), free(want), free(mag);
}

Test(pool, maxpool_backward) {
  for (size_t i = 0; i < NCASES; i++) check_backward(MAX, &cases[i]);
}

Test(pool, avgpool_backward) {
  for (size_t i = 0; i < NCASES; i++) check_backward(AVG, &cases[i]);
}

Test(pool, global_avgpool_backward) {
  for (size_t i = 0; i < NGLOBAL; i++) check_backward(GLOBAL, &global_cases[i]);
}

/* ---- argument checks ---- */

Test(pool, bad_geometry_is_refused) {
  rp_context *ctx = test_ctx();
  rp_tensor x, y, idx, g;
  ASSERT_OK(rp_tensor_create(ctx, 4, (int64_t[]){2, 3, 7, 7}, &x));
  ASSERT_OK(rp_tensor_create(ctx, 4, (int64_t[]){2, 3, 3, 3}, &y));
  ASSERT_OK(rp_tensor_create(ctx, 4, (int64_t[]){2, 3, 3, 3}, &idx));
  ASSERT_OK(rp_tensor_create(ctx, 2, (int64_t[]){2, 4}, &g));
  rp_recorder *rec = test_recorder();
  cr_assert_eq(rp_maxpool2d_forward(rec, &x, 2, 2, 0, &y, &idx), RP_OK);
  cr_assert_eq(rp_maxpool2d_forward(rec, &x, 2, 2, 2, &y, &idx), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), "maxpool2d_forward: kernel 2, stride 2, pad 2 (need "
                                       "kernel >= 1, stride >= 1, 0 <= pad <= kernel / 2)");
  cr_assert_eq(rp_avgpool2d_forward(rec, &x, 3, 1, 1, &y), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), "avgpool2d_forward: input [2, 3, 7, 7] with kernel 3, "
                                       "stride 1, pad 1 gives [2, 3, 7, 7], not [2, 3, 3, 3]");
  cr_assert_eq(rp_avgpool2d_backward(rec, &y, 2, 0, 0, &x), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_maxpool2d_backward(rec, &y, &g, 2, 2, 0, &x), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_global_avgpool_forward(rec, &x, &g), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_global_avgpool_backward(rec, &g, &x), RP_ERR_INVALID_ARGUMENT);
  ASSERT_OK(rp_rec_end(rec));
  cr_assert_eq(rp_pool_out_size(28, 2, 2, 0), 14);
  cr_assert_eq(rp_pool_out_size(7, 3, 2, 1), 4);
  cr_assert_eq(rp_pool_out_size(1, 3, 1, 0), 0);
  rp_tensor_destroy(ctx, &x), rp_tensor_destroy(ctx, &y), rp_tensor_destroy(ctx, &idx);
  rp_tensor_destroy(ctx, &g);
}
