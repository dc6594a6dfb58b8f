/* GEMM against the double-precision reference: every kernel, every transpose, odd and round
 * shapes, alpha and beta, with guard regions around C. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ref/ref.h"
#include "support/fixture.h"

TestSuite(gemm, .fini = test_teardown);

typedef struct shape {
  int m, n, k;
} shape;

/* 1, primes, non-multiples of every tile size, and round sizes; the lanes kernel takes the
 * ones with K % 4 == 0 and N % tn == 0 and falls back to regblock on the others. The last
 * spans several lanes blocks of 96 x 64 in both directions, with partial ones at the ends. */
static const shape shapes[] = {{1, 1, 1},     {1, 8, 4},     {7, 13, 5},   {31, 17, 29},
                               {4, 8, 12},    {37, 64, 36},  {64, 64, 64}, {33, 65, 127},
                               {100, 24, 8},  {128, 96, 64}, {5, 200, 3},  {96, 40, 132},
                               {260, 272, 20}};

/* In the lanes tests, which variant of the lanes kernel must run (texel-buffer reads or
 * storage-buffer ones: REPRO_TEXEL, both tested), -1 elsewhere. */
static int lanes_texel = -1;
/* The cases in which the lanes kernel itself ran (not its fallback). */
static int lanes_cases;

/* The shader rp_gemm_tuned runs for a lanes tuning: the lanes kernel where it fits
 * (runtime/ops/gemm.c: lanes_fits), else its regblock fallback. */
static void expect_lanes_kernel(rp_recorder *rec, const rp_gemm_tuning *t, shape s, bool ta) {
  const rp_caps *caps = rp_context_caps(test_ctx());
  bool fits = caps->subgroup_size_fixed && caps->subgroup_shuffle && t->workgroup >= 4 &&
              t->tm % (ta ? 4 * t->workgroup : t->workgroup) == 0 && s.k % 4 == 0 &&
              s.n % (int)t->tn == 0 && (!ta || s.m % 4 == 0);
  char want[48];
  snprintf(want, sizeof want, "gemm_lanes_%ux%u%s", t->tm, t->tn, lanes_texel ? "_texel" : "");
  if (!fits) snprintf(want, sizeof want, "gemm_regblock");
  lanes_cases += fits;
  cr_assert(test_ran_shader(rec, want), "%dx%dx%d ta=%d: %s did not run", s.m, s.n, s.k, ta, want);
}

/* tuning NULL: rp_gemm's own choice */
static void check_case(const rp_gemm_tuning *tuning, shape s, bool ta, bool tb, float alpha,
                       float beta) {
  int64_t a_shape[2] = {ta ? s.k : s.m, ta ? s.m : s.k};
  int64_t b_shape[2] = {tb ? s.n : s.k, tb ? s.k : s.n};
  int64_t c_shape[2] = {s.m, s.n};
  size_t na = (size_t)s.m * s.k, nb = (size_t)s.k * s.n, nc = (size_t)s.m * s.n;
  float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c);
  float *got = malloc(nc * sizeof *got);
  double *want = malloc(nc * sizeof *want), *mag = malloc(nc * sizeof *mag);
  fill_random(a, (int64_t)na, 1 + s.m);
  fill_random(b, (int64_t)nb, 2 + s.n);
  fill_random(c, (int64_t)nc, 3 + s.k);
  ref_gemm(ta, tb, s.m, s.n, s.k, alpha, a, b, beta, c, want, mag);

  /* guarded: a tile load past K (or past the last row) takes NaN in, even times zero */
  guarded ga = guarded_create(2, a_shape), gb = guarded_create(2, b_shape);
  guarded_upload(&ga, a), guarded_upload(&gb, b);
  rp_tensor ta_t = ga.view, tb_t = gb.view;
  guarded gc = guarded_create(2, c_shape);
  guarded_upload(&gc, c);

  rp_recorder *rec = lanes_texel >= 0 ? test_profiled_recorder() : test_recorder();
  if (tuning)
    ASSERT_OK(rp_gemm_tuned(rec, tuning, ta, tb, alpha, &ta_t, &tb_t, beta, &gc.view));
  else
    ASSERT_OK(rp_gemm(rec, ta, tb, alpha, &ta_t, &tb_t, beta, &gc.view));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  guarded_download(&gc, got);
  if (lanes_texel >= 0 && tuning) expect_lanes_kernel(rec, tuning, s, ta);

  /* fp32 accumulation over k terms: error grows with k and the terms' magnitude */
  for (size_t i = 0; i < nc; i++) {
    double tol = 2.0 * (s.k + 2) * FLT_EPSILON * mag[i] + 1e-30;
    cr_assert(fabs(got[i] - want[i]) <= tol,
              "%dx%dx%d ta=%d tb=%d alpha=%g beta=%g: C[%zu] = %.9g, reference %.9g (tol %.3g)",
              s.m, s.n, s.k, ta, tb, alpha, beta, i, got[i], want[i], tol);
  }
  guarded_destroy(&gc);
  guarded_destroy(&ga), guarded_destroy(&gb);
  free(a), free(b), free(c), free(got), free(want), free(mag);
}

static void check_kernel(const rp_gemm_tuning *tuning) {
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
    for (int t = 0; t < 4; t++) check_case(tuning, shapes[i], t & 1, t & 2, 1.0f, 0.0f);
  /* alpha and beta on a few shapes, odd ones and ones the lanes kernel takes (K and N whole
   * multiples of its blocks: 64^3, 96 x 40 x 132), each transposed every way */
  check_case(tuning, shapes[3], false, false, -0.5f, 2.0f);
  check_case(tuning, shapes[5], true, true, 1.5f, -1.0f);
  check_case(tuning, shapes[7], false, true, 2.0f, 0.25f);
  for (int t = 0; t < 4; t++) {
    check_case(tuning, shapes[6], t & 1, t & 2, -0.5f, 2.0f);
    check_case(tuning, shapes[11], t & 1, t & 2, 1.5f, -1.0f);
  }
}

Test(gemm, regblock) {
  rp_gemm_tuning t = {.kernel = RP_GEMM_REGBLOCK, .workgroup = 64, .tm = 8, .tn = 2};
  check_kernel(&t);
  rp_gemm_tuning wide = {.kernel = RP_GEMM_REGBLOCK, .workgroup = 16, .tm = 3, .tn = 5};
  check_kernel(&wide);
}

/* The lanes kernel reading A and B through texel buffers (CPU devices' default) and through
 * storage buffers (GPUs'), checking which ran. */
static void check_lanes(uint32_t tm) {
  const rp_caps *caps = rp_context_caps(test_ctx());
  if (!caps->subgroup_size_fixed || !caps->subgroup_shuffle)
    cr_skip_test("the lanes kernel needs a fixed subgroup size and shuffles; this device's size "
                 "is %u..%u%s, shuffles %s",
                 caps->min_subgroup_size, caps->max_subgroup_size,
                 caps->subgroup_size_fixed ? "" : " (or not reported)",
                 caps->subgroup_shuffle ? "yes" : "no");
  rp_gemm_tuning t = {.kernel = RP_GEMM_LANES, .workgroup = caps->subgroup_size, .tm = tm, .tn = 8};
  for (int texel = 1; texel >= 0; texel--) {
    lanes_texel = texel;
    test_use_texel(texel);
    lanes_cases = 0;
    check_kernel(&t);
    /* the shapes that fit it (K % 4 == 0, N % 8 == 0, ...) are among the cases */
    cr_assert_gt(lanes_cases, 0, "the lanes kernel (tm %u) ran in none of the cases", tm);
  }
  lanes_texel = -1;
}

Test(gemm, lanes) { check_lanes(32); }

Test(gemm, lanes_big) { check_lanes(96); }

Test(gemm, tiled) {
  rp_gemm_tuning t = {
      .kernel = RP_GEMM_TILED, .workgroup = 256, .tm = 4, .tn = 4, .bm = 64, .bn = 64, .bk = 16};
  check_kernel(&t);
  rp_gemm_tuning small = {
      .kernel = RP_GEMM_TILED, .workgroup = 64, .tm = 2, .tn = 4, .bm = 16, .bn = 32, .bk = 8};
  check_kernel(&small);
}

Test(gemm, device_default) {
  rp_gemm_tuning t = rp_gemm_default_tuning(rp_context_caps(test_ctx()));
  check_case(&t, (shape){96, 128, 64}, false, false, 1.0f, 0.0f);
  check_case(&t, (shape){33, 65, 127}, true, false, 1.0f, 1.0f);
}

/* On a device that allows 2 workgroups along x (65,535 on Intel and Mesa's drivers, the most a
 * test can afford to dispatch), every kernel spreads its tiles of columns over x and z
 * (rp_grid_fold_x): 3 to 9 tiles, some grids with workgroups past the last tile. Where z
 * cannot hold them either, the dispatch is refused, naming the limit. */
Test(gemm, few_workgroups_along_x) {
  const rp_caps *caps = rp_context_caps(test_ctx());
  test_limit_workgroups(2, 0);
  rp_gemm_tuning tunings[] = {
      {.kernel = RP_GEMM_REGBLOCK, .workgroup = 16, .tm = 8, .tn = 2},
      {.kernel = RP_GEMM_LANES, .workgroup = caps->subgroup_size, .tm = 32, .tn = 8},
      {.kernel = RP_GEMM_TILED, .workgroup = 64, .tm = 2, .tn = 4, .bm = 16, .bn = 32, .bk = 8}};
  const shape cases[] = {{260, 272, 20}, {5, 200, 3}, {33, 96, 16}};
  for (int t = 0; t < 3; t++)
    for (int i = 0; i < 3; i++) check_case(&tunings[t], cases[i], i == 1, i == 2, 1.0f, 0.5f);

  test_limit_workgroups(2, 1);
  rp_tensor a, b, c;
  rp_context *ctx = test_ctx();
  ASSERT_OK(rp_tensor_create(ctx, 2, (int64_t[]){4, 3}, &a));
  ASSERT_OK(rp_tensor_create(ctx, 2, (int64_t[]){3, 100}, &b));
  ASSERT_OK(rp_tensor_create(ctx, 2, (int64_t[]){4, 100}, &c));
  rp_recorder *rec = test_recorder();
  cr_assert_eq(rp_gemm_tuned(rec, &tunings[0], false, false, 1.0f, &a, &b, 0.0f, &c),
               RP_ERR_TOO_LARGE);
  cr_assert_str_eq(rp_error_message(),
                   "gemm_regblock: 4 workgroups in dimension 0, the device allows 2");
  rp_tensor_destroy(ctx, &a), rp_tensor_destroy(ctx, &b), rp_tensor_destroy(ctx, &c);
}

/* rp_gemm itself, which picks a block by shape: small, large, and large but odd. */
Test(gemm, rp_gemm_by_shape) {
  const shape cases[] = {{5, 16, 8}, {260, 272, 20}, {129, 130, 7}};
  for (int i = 0; i < 3; i++) check_case(NULL, cases[i], i == 1, i != 1, 1.0f, 0.5f);
}

Test(gemm, mismatched_shapes_are_refused) {
  rp_context *ctx = test_ctx();
  rp_tensor a, b, c;
  ASSERT_OK(rp_tensor_create(ctx, 2, (int64_t[]){4, 5}, &a));
  ASSERT_OK(rp_tensor_create(ctx, 2, (int64_t[]){6, 3}, &b));
  ASSERT_OK(rp_tensor_create(ctx, 2, (int64_t[]){4, 3}, &c));
  rp_recorder *rec = test_recorder();
  rp_status st = rp_gemm(rec, false, false, 1.0f, &a, &b, 0.0f, &c);
  cr_assert_eq(st, RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), "gemm shapes do not agree: A[4, 5] x B[6, 3] -> C[4, 3]");
  ASSERT_OK(rp_gemm(rec, false, true, 1.0f, &a,
                    &(rp_tensor){.ndim = 2, .shape = {3, 5}, .buffer = b.buffer}, 0.0f, &c));
  ASSERT_OK(rp_rec_end(rec));
  rp_tensor_destroy(ctx, &a);
  rp_tensor_destroy(ctx, &b);
  rp_tensor_destroy(ctx, &c);
}
