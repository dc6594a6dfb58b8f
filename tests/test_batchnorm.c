/* Batch normalization, per-channel bias and the input normalization (ops/batchnorm.h) against
 * the double references of tests/ref/batchnorm_ref.c, on odd and round shapes, with every
 * backward pass also checked by central finite differences of the reference forward.
 *
 * Tolerances are k * FLT_EPSILON times the magnitude of what was summed or multiplied (stated at
 * each check), k covering the depth of the fp32 arithmetic: a per-invocation run of 32 sums, a
 * tree of 8 levels and a merge of the chunks in order.
 *
 * The batch-norm passes read their inputs from storage buffers (REPRO_TEXEL=0, as on GPUs) and
 * from texel buffers (REPRO_TEXEL=1, as on CPU devices): both are checked, and that the variant
 * meant ran. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/batchnorm.h"
#include "ref/batchnorm_ref.h"
#include "support/fixture.h"

TestSuite(batchnorm, .fini = test_teardown);

#define EPS32 ((double)FLT_EPSILON)

typedef struct bn_case {
  int ndim;
  int64_t shape[4];
  float offset; /* added to x: a mean far from zero against the spread (cancellation) */
} bn_case;

typedef struct dims {
  int64_t n, c, inner, numel;
} dims;

static dims dims_of(const bn_case *k) {
  dims d = {k->shape[0], k->shape[1], 1, 0};
  for (int i = 2; i < k->ndim; i++) d.inner *= k->shape[i];
  d.numel = d.n * d.c * d.inner;
  return d;
}

static double *widen(const float *x, int64_t n) {
  double *d = malloc((size_t)n * sizeof *d);
  for (int64_t i = 0; i < n; i++) d[i] = x[i];
  return d;
}

static float *randoms(int64_t n, uint32_t seed, float scale, float offset) {
  float *x = malloc((size_t)n * sizeof *x);
  fill_random(x, n, seed);
  for (int64_t i = 0; i < n; i++) x[i] = x[i] * scale + offset;
  return x;
}

/* A guarded tensor holding `data`, or NaN (an output: a value never written shows). */
static guarded make(int ndim, const int64_t *shape, const float *data) {
  guarded g = guarded_create(ndim, shape);
  int64_t n = rp_tensor_numel(&g.view);
  float *fill = malloc((size_t)n * sizeof *fill);
  for (int64_t i = 0; i < n; i++) fill[i] = data ? data[i] : NAN;
  guarded_upload(&g, fill);
  free(fill);
  return g;
}

static float *download(const guarded *g) {
  float *x = malloc(rp_tensor_bytes(&g->view));
  guarded_download(g, x);
  return x;
}

static void check(const char *what, const bn_case *k, int64_t i, double got, double want,
                  double tol) {
  cr_assert(fabs(got - want) <= tol, /* NaN fails too */
            "%s, shape [%lld, %lld, %lld, %lld] offset %g, element %lld: %.9g, reference %.9g "
            "(error %.3g, tolerance %.3g)",
            what, (long long)k->shape[0], (long long)k->shape[1],
            (long long)(k->ndim > 2 ? k->shape[2] : 0), (long long)(k->ndim > 3 ? k->shape[3] : 0),
            (double)k->offset, (long long)i, got, want, fabs(got - want), tol);
}

#define CH(i) (((i) / d.inner) % d.c)

static void expect_shaders(rp_recorder *rec, const char *const *shaders, bool texel) {
  for (const char *const *s = shaders; *s; s++) {
    char name[48];
    snprintf(name, sizeof name, "%s%s", *s, texel ? "_texel" : "");
    cr_assert(test_ran_shader(rec, name), "%s did not run", name);
  }
}

/* Every shape family: N 1..5 and 128; C primes and 16; odd spatial sizes, 1x1 with N > 1;
 * 2-D and 3-D; channels of one chunk and of many (10368 and 131072 elements), and, for CPU
 * devices' chunks of 32768 elements, channels of two with a partial second (36000 elements four
 * at a time, 32805 one at a time). */
static const bn_case cases[] = {
    {4, {2, 3, 5, 7}, 0},     {4, {1, 5, 3, 3}, 0},    {4, {3, 7, 1, 1}, 0},
    {4, {2, 2, 1, 1}, 0},     {4, {5, 13, 4, 6}, 0},   {4, {4, 16, 8, 8}, 0},
    {2, {5, 11}, 0},          {2, {2, 3}, 0},          {2, {128, 37}, 0},
    {3, {3, 5, 17}, 0},       {4, {3, 2, 3, 5}, 30},   {2, {64, 7}, -100},
    {4, {128, 3, 9, 9}, 0},   {4, {8, 5, 33, 31}, 50}, {4, {128, 16, 32, 32}, 0},
    {4, {40, 3, 30, 30}, 20}, {4, {5, 2, 81, 81}, 0},
};

/* ---- training forward, running statistics and backward ---- */

#define MOMENTUM 0.1f
#define BN_EPS 1e-5f

/* sum(dy * y) of the reference training forward: the loss whose gradient the backward is. */
static double loss(const double *x, const double *dy, dims d, const double *gamma,
                   const double *beta) {
  double *y = malloc((size_t)d.numel * sizeof *y), *mean = malloc((size_t)d.c * sizeof *mean),
         *invstd = malloc((size_t)d.c * sizeof *invstd), l = 0.0;
  ref_batchnorm_train(x, d.n, d.c, d.inner, gamma, beta, 0.0, BN_EPS, NULL, NULL, mean, invstd, y);
  for (int64_t i = 0; i < d.numel; i++) l += dy[i] * y[i];
  free(y), free(mean), free(invstd);
  return l;
}

/* Central difference of loss() in v[j] (v one of x, gamma, beta). */
static double numeric(double *v, int64_t j, double h, const double *x, const double *dy, dims d,
                      const double *gamma, const double *beta) {
  double keep = v[j];
  v[j] = keep + h;
  double up = loss(x, dy, d, gamma, beta);
  v[j] = keep - h;
  double down = loss(x, dy, d, gamma, beta);
  v[j] = keep;
  return (up - down) / (2 * h);
}

static void train_case(const bn_case *k, uint32_t seed, bool texel) {
  dims d = dims_of(k);
  int64_t cs[] = {d.c};
  /* Two batches, x1 then x0, recorded once and submitted twice: four running updates. */
  float *x0 = randoms(d.numel, seed, 1.0f, k->offset),
        *x1 = randoms(d.numel, seed + 1, 2.0f, k->offset);
  float *dy = randoms(d.numel, seed + 2, 1.0f, 0.0f), *gamma = randoms(d.c, seed + 3, 1.0f, 0.0f);
  float *beta = randoms(d.c, seed + 4, 1.0f, 0.0f), *rm0 = randoms(d.c, seed + 5, 1.0f, 0.0f);
  float *rv0 = randoms(d.c, seed + 6, 0.4f, 0.6f);
  guarded gx0 = make(k->ndim, k->shape, x0), gx1 = make(k->ndim, k->shape, x1);
  guarded gdy = make(k->ndim, k->shape, dy), gy = make(k->ndim, k->shape, NULL);
  guarded gdx = make(k->ndim, k->shape, NULL), gg = make(1, cs, gamma), gb = make(1, cs, beta);
  guarded grm = make(1, cs, rm0), grv = make(1, cs, rv0), gsm = make(1, cs, NULL);
  guarded gsi = make(1, cs, NULL), gdg = make(1, cs, NULL), gdb = make(1, cs, NULL);

  rp_recorder *rec = test_profiled_recorder();
  ASSERT_OK(rp_batchnorm_forward_train(rec, &gx1.view, &gg.view, &gb.view, MOMENTUM, BN_EPS,
                                       &grm.view, &grv.view, &gsm.view, &gsi.view, &gy.view));
  ASSERT_OK(rp_batchnorm_forward_train(rec, &gx0.view, &gg.view, &gb.view, MOMENTUM, BN_EPS,
                                       &grm.view, &grv.view, &gsm.view, &gsi.view, &gy.view));
  ASSERT_OK(rp_batchnorm_backward(rec, &gx0.view, &gdy.view, &gg.view, &gsm.view, &gsi.view,
                                  &gdx.view, &gdg.view, &gdb.view));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  expect_shaders(rec,
                 (const char *const[]){"batchnorm_stats", "batchnorm_apply",
                                       "batchnorm_grad_reduce", "batchnorm_dx", NULL},
                 texel);
  float *y_first = download(&gy), *dx_first = download(&gdx);
  ASSERT_OK(rp_rec_run(rec));
  float *y = download(&gy), *sm = download(&gsm), *si = download(&gsi), *rm = download(&grm);
  float *rv = download(&grv), *dx = download(&gdx), *dg = download(&gdg), *db = download(&gdb);
  /* The second submission recomputes the same batch: the same bits. */
  cr_assert(memcmp(y, y_first, rp_tensor_bytes(&gy.view)) == 0, "y differs between runs");
  cr_assert(memcmp(dx, dx_first, rp_tensor_bytes(&gdx.view)) == 0, "dx differs between runs");

  /* The reference through the same four batches. */
  double *xd0 = widen(x0, d.numel), *xd1 = widen(x1, d.numel), *dyd = widen(dy, d.numel);
  double *gammad = widen(gamma, d.c), *betad = widen(beta, d.c), *rrm = widen(rm0, d.c);
  double *rrv = widen(rv0, d.c), *mean = malloc((size_t)d.c * sizeof *mean);
  double *invstd = malloc((size_t)d.c * sizeof *invstd), *ry = malloc((size_t)d.numel * sizeof *ry);
  for (int rep = 0; rep < 2; rep++) {
    ref_batchnorm_train(xd1, d.n, d.c, d.inner, gammad, betad, MOMENTUM, BN_EPS, rrm, rrv, mean,
                        invstd, ry);
    ref_batchnorm_train(xd0, d.n, d.c, d.inner, gammad, betad, MOMENTUM, BN_EPS, rrm, rrv, mean,
                        invstd, ry);
  }
  /* |x| summed per channel, for the tolerances of sums */
  double *abs_x = calloc((size_t)d.c, sizeof *abs_x);
  for (int64_t i = 0; i < d.numel; i++) abs_x[CH(i)] += fabs(x0[i]) / (double)(d.n * d.inner);
  for (int64_t c = 0; c < d.c; c++) {
    /* mean: a sum of values of mean magnitude abs_x; invstd: relative, the shifted sums
     * (shaders/batchnorm_stats.comp) keeping the offset out of the variance's error. */
    check("save_mean", k, c, sm[c], mean[c], 64 * EPS32 * abs_x[c]);
    check("save_invstd", k, c, si[c], invstd[c], 64 * EPS32 * invstd[c]);
    /* running statistics of four batches: the batch statistics' error plus a few roundings */
    check("running_mean", k, c, rm[c], rrm[c], 64 * EPS32 * (abs_x[c] + fabs(rrm[c])));
    check("running_var", k, c, rv[c], rrv[c], 64 * EPS32 * fabs(rrv[c]));
  }
  for (int64_t i = 0; i < d.numel; i++) {
    int64_t c = CH(i);
    /* y = gamma * (x - mean) * invstd + beta: the mean's error is relative to |x|, |mean| */
    double scale =
        fabs(gamma[c]) * invstd[c] * (fabs(x0[i]) + fabs(mean[c]) + 1 / invstd[c]) + fabs(beta[c]);
    check("y", k, i, y[i], ry[i], 64 * EPS32 * scale);
  }

  /* Backward against the reference given the op's own saved statistics, which isolates its
   * arithmetic: dbeta, dgamma as sums of |dy| and |dy| * (|x| + |mean|) * invstd (the
   * rounding of x - mean), dx from those and dy. */
  double *smd = widen(sm, d.c), *sid = widen(si, d.c), *rdx = malloc((size_t)d.numel * sizeof *rdx);
  double *rdg = malloc((size_t)d.c * sizeof *rdg), *rdb = malloc((size_t)d.c * sizeof *rdb);
  ref_batchnorm_backward(xd0, dyd, d.n, d.c, d.inner, gammad, smd, sid, rdx, rdg, rdb);
  double *sum_dy = calloc((size_t)d.c, sizeof(double)),
         *sum_dyx = calloc((size_t)d.c, sizeof(double));
  for (int64_t i = 0; i < d.numel; i++) {
    int64_t c = CH(i);
    sum_dy[c] += fabs(dy[i]);
    sum_dyx[c] += fabs(dy[i]) * ((fabs(x0[i]) + fabs(smd[c])) * sid[c] + 1);
  }
  double m = (double)(d.n * d.inner);
  for (int64_t c = 0; c < d.c; c++) {
    check("dbeta", k, c, db[c], rdb[c], 64 * EPS32 * sum_dy[c]);
    check("dgamma", k, c, dg[c], rdg[c], 64 * EPS32 * sum_dyx[c]);
  }
  for (int64_t i = 0; i < d.numel; i++) {
    int64_t c = CH(i);
    double xhat = (fabs(x0[i]) + fabs(smd[c])) * sid[c] + 1;
    double scale = fabs(gamma[c]) * sid[c] * (fabs(dy[i]) + (sum_dy[c] + xhat * sum_dyx[c]) / m);
    check("dx", k, i, dx[i], rdx[i], 64 * EPS32 * scale);
  }

  /* Finite differences (small shapes): the reference's analytic gradient with exact
   * statistics against central differences of its forward (both double: tight), then the
   * op's dx against the same differences (the fp32 tolerance above, plus theirs). */
  if (d.numel <= 700) {
    double *edx = malloc((size_t)d.numel * sizeof *edx);
    double *edg = malloc((size_t)d.c * sizeof *edg), *edb = malloc((size_t)d.c * sizeof *edb);
    ref_batchnorm_backward(xd0, dyd, d.n, d.c, d.inner, gammad, mean, invstd, edx, edg, edb);
    const double h = 1e-4, fd_tol = 1e-6;
    for (int64_t i = 0; i < d.numel; i++) {
      double num = numeric(xd0, i, h, xd0, dyd, d, gammad, betad);
      check("analytic dx vs finite differences", k, i, edx[i], num, fd_tol * (1 + fabs(num)));
      int64_t c = CH(i);
      double xhat = (fabs(x0[i]) + fabs(smd[c])) * sid[c] + 1;
      double scale = fabs(gamma[c]) * sid[c] * (fabs(dy[i]) + (sum_dy[c] + xhat * sum_dyx[c]) / m);
      check("dx vs finite differences", k, i, dx[i], num,
            64 * EPS32 * scale + fd_tol * (1 + fabs(num)));
    }
    for (int64_t c = 0; c < d.c; c++) {
      double num_g = numeric(gammad, c, h, xd0, dyd, d, gammad, betad);
      double num_b = numeric(betad, c, h, xd0, dyd, d, gammad, betad);
      check("analytic dgamma vs finite differences", k, c, edg[c], num_g,
            fd_tol * (1 + fabs(num_g)));
      check("analytic dbeta vs finite differences", k, c, edb[c], num_b,
            fd_tol * (1 + fabs(num_b)));
      check("dgamma vs finite differences", k, c, dg[c], num_g,
            64 * EPS32 * sum_dyx[c] + fd_tol * (1 + fabs(num_g)));
      check("dbeta vs finite differences", k, c, db[c], num_b,
            64 * EPS32 * sum_dy[c] + fd_tol * (1 + fabs(num_b)));
    }
    free(edx), free(edg), free(edb);
  }

  guarded *all[] = {&gx0, &gx1, &gdy, &gy,  &gdx, &gg,  &gb,
                    &grm, &grv, &gsm, &gsi, &gdg, &gdb, NULL};
  for (guarded **g = all; *g; g++) guarded_destroy(*g);
  void *bufs[] = {x0,   x1,     dy, gamma, beta, rm0, rv0, y_first, dx_first, y,      sm,     si,
                  rm,   rv,     dx, dg,    db,   xd0, xd1, dyd,     gammad,   betad,  rrm,    rrv,
                  mean, invstd, ry, abs_x, smd,  sid, rdx, rdg,     rdb,      sum_dy, sum_dyx};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
}

Test(batchnorm, train_forward_running_stats_backward) {
  for (int texel = 0; texel < 2; texel++) {
    test_use_texel(texel);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
      train_case(&cases[i], 11 + 7 * (uint32_t)i, texel);
  }
}

/* With the elements per invocation a GPU gets (32; CPU devices take 512), so that the larger
 * cases' channels span several chunks, merged in order, on lavapipe too. */
Test(batchnorm, as_on_a_gpu) {
  test_as_gpu();
  test_use_texel(false);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    train_case(&cases[i], 11 + 7 * (uint32_t)i, false);
}

/* On a device that allows 4 workgroups along x (65,535 on Intel's and Mesa's drivers), the
 * workgroups of a channel's chunks spread over x and y (rp_grid_1d), and those past the last
 * chunk must do nothing (channel_chunk in batchnorm_common.glsl): one that took itself for a
 * channel C would write over the next image's first channel. */
Test(batchnorm, few_workgroups_along_x) {
  test_limit_workgroups(4, 0);
  test_use_texel(true);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    train_case(&cases[i], 11 + 7 * (uint32_t)i, true);
}

/* A channel whose squares overflow has no finite variance, on every device: its mean is finite
 * (1e20 / 12) but M2 is inf - inf = NaN, and the clamp of rounding's negative M2 to 0 must not
 * turn that NaN into 0 (GLSL's max() may drop a NaN; NVIDIA's does), which would leave the
 * running variance finite and the channel silently normalized by 1/sqrt(eps). Channels holding
 * an infinity or a NaN are non-finite too; channel 3 stays finite. */
Test(batchnorm, non_finite_channel_has_non_finite_variance) {
  const int64_t shape[] = {3, 4, 2, 2}, cs[] = {4};
  float x[48];
  fill_random(x, 48, 61);
  x[1] = 1e20f;         /* channel 0 of image 0 */
  x[4 + 16] = INFINITY; /* channel 1 of image 1 */
  x[8 + 32] = NAN;      /* channel 2 of image 2 */
  const float ones[4] = {1, 1, 1, 1}, zeros[4] = {0, 0, 0, 0};
  for (int texel = 0; texel < 2; texel++) {
    test_use_texel(texel);
    guarded gx = make(4, shape, x), gy = make(4, shape, NULL), gg = make(1, cs, ones);
    guarded gb = make(1, cs, zeros), grm = make(1, cs, zeros), grv = make(1, cs, ones);
    guarded gsm = make(1, cs, NULL), gsi = make(1, cs, NULL);
    rp_recorder *rec = test_recorder();
    ASSERT_OK(rp_batchnorm_forward_train(rec, &gx.view, &gg.view, &gb.view, MOMENTUM, BN_EPS,
                                         &grm.view, &grv.view, &gsm.view, &gsi.view, &gy.view));
    ASSERT_OK(rp_rec_end(rec));
    ASSERT_OK(rp_rec_run(rec));
    float *rv = download(&grv), *si = download(&gsi);
    static const char *const what[] = {"1e20", "an infinity", "a NaN"};
    for (int c = 0; c < 3; c++)
      cr_assert(!isfinite(rv[c]) && !isfinite(si[c]),
                "channel %d (%s): running_var %g, save_invstd %g, want non-finite (texel %d)", c,
                what[c], rv[c], si[c], texel);
    cr_assert(isfinite(rv[3]) && rv[3] > 0.9f && isfinite(si[3]),
              "finite channel: running_var %g, save_invstd %g (texel %d)", rv[3], si[3], texel);
    guarded *all[] = {&gx, &gy, &gg, &gb, &grm, &grv, &gsm, &gsi, NULL};
    for (guarded **g = all; *g; g++) guarded_destroy(*g);
    free(rv), free(si);
  }
}

/* ---- eval forward ---- */

static void eval_case(size_t j, bool texel) {
  const bn_case *k = &cases[j];
  dims d = dims_of(k);
  int64_t cs[] = {d.c};
  uint32_t seed = 300 + (uint32_t)j;
  float *x = randoms(d.numel, seed, 1.0f, k->offset), *gamma = randoms(d.c, seed + 1, 1.0f, 0.0f);
  float *beta = randoms(d.c, seed + 2, 1.0f, 0.0f), *rm = randoms(d.c, seed + 3, 1.0f, k->offset);
  float *rv = randoms(d.c, seed + 4, 0.45f, 0.55f);
  guarded gx = make(k->ndim, k->shape, x), gy = make(k->ndim, k->shape, NULL);
  guarded gg = make(1, cs, gamma), gb = make(1, cs, beta), grm = make(1, cs, rm),
          grv = make(1, cs, rv);
  rp_recorder *rec = test_profiled_recorder();
  ASSERT_OK(rp_batchnorm_forward_eval(rec, &gx.view, &gg.view, &gb.view, &grm.view, &grv.view,
                                      BN_EPS, &gy.view));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  expect_shaders(rec, (const char *const[]){"batchnorm_apply", NULL}, texel);
  float *y = download(&gy), *rm_after = download(&grm), *rv_after = download(&grv);
  cr_assert(memcmp(rm_after, rm, (size_t)d.c * sizeof *rm) == 0 &&
                memcmp(rv_after, rv, (size_t)d.c * sizeof *rv) == 0,
            "eval mode changed the running statistics");
  double *dxd = widen(x, d.numel), *dg = widen(gamma, d.c), *db = widen(beta, d.c);
  double *drm = widen(rm, d.c), *drv = widen(rv, d.c), *ry = malloc((size_t)d.numel * sizeof *ry);
  ref_batchnorm_eval(dxd, d.n, d.c, d.inner, dg, db, drm, drv, BN_EPS, ry);
  for (int64_t i = 0; i < d.numel; i++) {
    int64_t c = CH(i);
    /* a handful of roundings of values of magnitude |gamma| * invstd * (|x| + |mean|) */
    double scale =
        fabs(gamma[c]) * (fabs(x[i]) + fabs(rm[c])) / sqrt(drv[c] + BN_EPS) + fabs(beta[c]);
    check("eval y", k, i, y[i], ry[i], 8 * EPS32 * scale);
  }
  guarded *all[] = {&gx, &gy, &gg, &gb, &grm, &grv, NULL};
  for (guarded **g = all; *g; g++) guarded_destroy(*g);
  void *bufs[] = {x, gamma, beta, rm, rv, y, rm_after, rv_after, dxd, dg, db, drm, drv, ry};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
}

Test(batchnorm, eval_forward) {
  for (int texel = 0; texel < 2; texel++) {
    test_use_texel(texel);
    for (size_t j = 0; j < sizeof cases / sizeof *cases; j++) eval_case(j, texel);
  }
}

/* ---- per-channel bias ---- */

Test(batchnorm, bias_add_and_grad) {
  for (size_t j = 0; j < sizeof cases / sizeof *cases; j++) {
    const bn_case *k = &cases[j];
    dims d = dims_of(k);
    int64_t cs[] = {d.c};
    uint32_t seed = 500 + (uint32_t)j;
    float *y0 = randoms(d.numel, seed, 1.0f, k->offset), *bias = randoms(d.c, seed + 1, 3.0f, 0.0f);
    float *dy = randoms(d.numel, seed + 2, 1.0f, k->offset);
    guarded gy = make(k->ndim, k->shape, y0), gbias = make(1, cs, bias);
    guarded gdy = make(k->ndim, k->shape, dy), gdb = make(1, cs, NULL);
    rp_recorder *rec = test_recorder();
    ASSERT_OK(rp_bias_add(rec, &gbias.view, &gy.view));
    ASSERT_OK(rp_bias_grad(rec, &gdy.view, &gdb.view));
    ASSERT_OK(rp_rec_end(rec));
    ASSERT_OK(rp_rec_run(rec));
    float *y = download(&gy), *db = download(&gdb);
    double *ry = widen(y0, d.numel), *dbias = widen(bias, d.c), *dyd = widen(dy, d.numel);
    double *rdb = malloc((size_t)d.c * sizeof *rdb);
    ref_bias_add(dbias, d.n, d.c, d.inner, ry);
    ref_bias_grad(dyd, d.n, d.c, d.inner, rdb);
    for (int64_t i = 0; i < d.numel; i++) /* one rounding */
      check("bias_add", k, i, y[i], ry[i], EPS32 * fabs(ry[i]));
    double *abs_dy = calloc((size_t)d.c, sizeof *abs_dy);
    for (int64_t i = 0; i < d.numel; i++) abs_dy[CH(i)] += fabs(dy[i]);
    for (int64_t c = 0; c < d.c; c++) {
      check("bias_grad", k, c, db[c], rdb[c], 64 * EPS32 * abs_dy[c]);
      /* the gradient of sum(dy * (y + bias)) in bias[c], by central differences (exact for a
       * linear function up to rounding) */
      if (d.numel <= 700) {
        double h = 1e-3, keep = dbias[c], l[2] = {0, 0};
        double *t = malloc((size_t)d.numel * sizeof *t);
        for (int s = 0; s < 2; s++) {
          dbias[c] = keep + (s ? -h : h);
          for (int64_t i = 0; i < d.numel; i++) t[i] = y0[i];
          ref_bias_add(dbias, d.n, d.c, d.inner, t);
          for (int64_t i = 0; i < d.numel; i++) l[s] += dyd[i] * t[i];
        }
        dbias[c] = keep;
        double num = (l[0] - l[1]) / (2 * h);
        check("bias_grad vs finite differences", k, c, db[c], num,
              64 * EPS32 * abs_dy[c] + 1e-8 * (1 + fabs(num)));
        free(t);
      }
    }
    guarded *all[] = {&gy, &gbias, &gdy, &gdb, NULL};
    for (guarded **g = all; *g; g++) guarded_destroy(*g);
    void *bufs[] = {y0, bias, dy, y, db, ry, dbias, dyd, rdb, abs_dy};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
  }
}

/* ---- input normalization ---- */

Test(batchnorm, normalize_forward_backward) {
  static const bn_case shapes[] = {{4, {2, 3, 5, 7}, 0},
                                   {4, {5, 1, 3, 1}, 0},
                                   {4, {3, 4, 1, 1}, 0},
                                   {2, {7, 2}, 0},
                                   {4, {128, 3, 32, 32}, 0}};
  const float mean[] = {0.4914f, 0.4822f, 0.4465f, -0.25f},
              std[] = {0.247f, 0.2435f, 0.2616f, 2.5f};
  for (size_t j = 0; j < sizeof shapes / sizeof *shapes; j++) {
    const bn_case *k = &shapes[j];
    dims d = dims_of(k);
    float *x = randoms(d.numel, 700 + (uint32_t)j, 0.5f, 0.5f); /* pixels in [0, 1) */
    float *dy = randoms(d.numel, 800 + (uint32_t)j, 1.0f, 0.0f);
    guarded gx = make(k->ndim, k->shape, x), gy = make(k->ndim, k->shape, NULL);
    guarded gdy = make(k->ndim, k->shape, dy), gdx = make(k->ndim, k->shape, NULL);
    rp_recorder *rec = test_recorder();
    ASSERT_OK(rp_normalize_forward(rec, &gx.view, mean, std, &gy.view));
    ASSERT_OK(rp_normalize_backward(rec, &gdy.view, std, &gdx.view));
    ASSERT_OK(rp_rec_end(rec));
    ASSERT_OK(rp_rec_run(rec));
    float *y = download(&gy), *dx = download(&gdx);
    double *xd = widen(x, d.numel), *dyd = widen(dy, d.numel), *md = widen(mean, 4);
    double *sd = widen(std, 4), *ry = malloc((size_t)d.numel * sizeof *ry);
    double *rdx = malloc((size_t)d.numel * sizeof *rdx);
    ref_normalize_forward(xd, d.n, d.c, d.inner, md, sd, ry);
    ref_normalize_backward(dyd, d.n, d.c, d.inner, sd, rdx);
    for (int64_t i = 0; i < d.numel; i++) {
      int64_t c = CH(i);
      /* a subtraction and a division (2.5 ulp in Vulkan) */
      check("normalize y", k, i, y[i], ry[i], 4 * EPS32 * (fabs(x[i]) + fabs(mean[c])) / std[c]);
      check("normalize dx", k, i, dx[i], rdx[i], 4 * EPS32 * fabs(rdx[i]));
      if (d.numel <= 700) { /* d sum(dy * y) / dx[i] by central differences */
        double h = 1e-3, keep = xd[i], l[2];
        for (int s = 0; s < 2; s++) {
          xd[i] = keep + (s ? -h : h);
          ref_normalize_forward(xd, d.n, d.c, d.inner, md, sd, ry);
          l[s] = 0;
          for (int64_t e = 0; e < d.numel; e++) l[s] += dyd[e] * ry[e];
        }
        xd[i] = keep;
        double num = (l[0] - l[1]) / (2 * h);
        check("normalize dx vs finite differences", k, i, dx[i], num,
              4 * EPS32 * fabs(rdx[i]) + 1e-8 * (1 + fabs(num)));
      }
    }
    guarded *all[] = {&gx, &gy, &gdy, &gdx, NULL};
    for (guarded **g = all; *g; g++) guarded_destroy(*g);
    void *bufs[] = {x, dy, y, dx, xd, dyd, md, sd, ry, rdx};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
  }
}

/* ---- arguments the ops refuse ---- */

Test(batchnorm, rejects_bad_arguments) {
  rp_context *ctx = test_ctx();
  rp_tensor x, one_per_channel, v3, v4, x5;
  ASSERT_OK(rp_tensor_create(ctx, 4, (int64_t[]){2, 3, 4, 4}, &x));
  ASSERT_OK(rp_tensor_create(ctx, 4, (int64_t[]){1, 3, 1, 1}, &one_per_channel));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){3}, &v3));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){4}, &v4));
  ASSERT_OK(rp_tensor_create(ctx, 4, (int64_t[]){1, 5, 2, 2}, &x5));
  rp_recorder *rec = test_recorder();
  /* one value per channel: no batch variance (PyTorch refuses too) */
  cr_assert_eq(rp_batchnorm_forward_train(rec, &one_per_channel, &v3, &v3, 0.1f, 1e-5f, &v3, &v3,
                                          &v3, &v3, &one_per_channel),
               RP_ERR_INVALID_ARGUMENT);
  /* a per-channel vector of the wrong length */
  cr_assert_eq(rp_batchnorm_forward_train(rec, &x, &v4, &v3, 0.1f, 1e-5f, &v3, &v3, &v3, &v3, &x),
               RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_batchnorm_forward_eval(rec, &x, &v3, &v3, &v3, &v4, 1e-5f, &x),
               RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_batchnorm_backward(rec, &x, &x5, &v3, &v3, &v3, &x, &v3, &v3),
               RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_bias_add(rec, &v4, &x), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_bias_grad(rec, &x, &v4), RP_ERR_INVALID_ARGUMENT);
  /* a 1-D tensor has no channel dimension */
  cr_assert_eq(rp_bias_add(rec, &v3, &v3), RP_ERR_INVALID_ARGUMENT);
  /* more than 4 channels, or a zero std */
  const float mean[] = {0, 0, 0, 0}, std[] = {1, 1, 1, 1}, zero_std[] = {1, 0, 1, 1};
  cr_assert_eq(rp_normalize_forward(rec, &x5, mean, std, &x5), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_normalize_backward(rec, &x, zero_std, &x), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_rec_dispatch_count(rec), 0, "a refused op recorded a dispatch");
  ASSERT_OK(rp_rec_end(rec));
  rp_tensor *all[] = {&x, &one_per_channel, &v3, &v4, &x5, NULL};
  for (rp_tensor **t = all; *t; t++) rp_tensor_destroy(ctx, *t);
}
