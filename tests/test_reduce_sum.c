/* The deterministic sum against a double reference, and its bit-reproducibility. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "support/fixture.h"

TestSuite(reduce_sum, .fini = test_teardown);

/* The sum on the device. Input, output and scratch are guarded (a workgroup past the last chunk
 * must not write a partial sum past the scratch's end, even one the final pass never reads),
 * and the output and scratch start as NaN, so that an unwritten result or a partial sum read
 * before it is written shows. */
static float gpu_sum(const float *x, int64_t n) {
  int64_t one = 1, parts = rp_sum_scratch_elems(n);
  guarded gx = guarded_create(1, &n), gout = guarded_create(1, &one);
  guarded gscratch = guarded_create(1, &parts);
  float *nan_fill = malloc((size_t)parts * sizeof *nan_fill);
  for (int64_t i = 0; i < parts; i++) nan_fill[i] = NAN;
  guarded_upload(&gx, x);
  guarded_upload(&gout, nan_fill);
  guarded_upload(&gscratch, nan_fill);
  rp_recorder *rec = test_recorder();
  ASSERT_OK(rp_sum(rec, &gx.view, &gout.view, &gscratch.view));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  float result;
  guarded_download(&gout, &result);
  guarded_download(&gscratch, nan_fill); /* for its guards */
  guarded_destroy(&gx), guarded_destroy(&gout), guarded_destroy(&gscratch);
  free(nan_fill);
  return result;
}

static void check_sizes(void) {
  /* 16384 is one first-pass chunk; larger sizes take the two-pass path. */
  const int64_t sizes[] = {1, 2, 3, 255, 256, 257, 4097, 16384, 16385, 100003, 1000000};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    int64_t n = sizes[s];
    float *x = malloc((size_t)n * sizeof *x);
    fill_random(x, n, 7 + (uint32_t)n);
    double want = ref_sum(x, n), abs_sum = 0.0;
    for (int64_t i = 0; i < n; i++) abs_sum += fabs(x[i]);
    float got = gpu_sum(x, n);
    /* tree summation: error grows with log2(n), bounded generously by its depth */
    double tol = (log2((double)n) + 2) * FLT_EPSILON * abs_sum;
    cr_assert(fabs(got - want) <= tol, "n %lld: sum %.9g, reference %.9g (tol %.3g)", (long long)n,
              got, want, tol);
    free(x);
  }
}

Test(reduce_sum, matches_reference) { check_sizes(); }

Test(reduce_sum, same_bits_every_time) {
  int64_t n = 300007;
  float *x = malloc((size_t)n * sizeof *x);
  fill_random(x, n, 99);
  float first = gpu_sum(x, n);
  for (int i = 0; i < 3; i++) {
    float again = gpu_sum(x, n);
    uint32_t first_bits, again_bits;
    memcpy(&first_bits, &first, sizeof first);
    memcpy(&again_bits, &again, sizeof again);
    cr_assert(first_bits == again_bits, "run %d: %.9g then %.9g", i, first, again);
  }
  free(x);
}

static void check_rows(void) {
  const int64_t rows = 37, cols = 1001, n = rows * cols;
  float *x = malloc((size_t)n * sizeof *x), got[37];
  fill_random(x, n, 5);
  /* guarded inputs: a read past the last row takes NaN in */
  guarded gx = guarded_create(2, (int64_t[]){rows, cols});
  guarded_upload(&gx, x);
  rp_tensor tx = gx.view;
  /* guarded: a workgroup past the last row must not write (on a device that lets it) */
  guarded g = guarded_create(1, &rows);
  for (int64_t r = 0; r < rows; r++) got[r] = NAN; /* every sum must be written */
  guarded_upload(&g, got);
  rp_tensor out = g.view;
  rp_recorder *rec = test_recorder();
  ASSERT_OK(rp_sum_rows(rec, &tx, rows, &out));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  guarded_download(&g, got);
  for (int64_t r = 0; r < rows; r++) {
    double want = ref_sum(x + r * cols, cols);
    cr_assert(fabs(got[r] - want) <= 16 * FLT_EPSILON * cols, "row %lld: %.9g vs %.9g",
              (long long)r, got[r], want);
  }
  cr_assert_eq(rp_sum_rows(rec, &tx, 36, &out), RP_ERR_INVALID_ARGUMENT);
  guarded_destroy(&gx);
  guarded_destroy(&g);
  free(x);
}

Test(reduce_sum, rows) { check_rows(); }

/* On a device that allows 3 workgroups along x (65,535 on Intel and Mesa's drivers), a
 * workgroup per row or chunk spread over x and y (rp_grid_1d; flat_workgroup() in
 * common.glsl): 37 rows in a 3 x 13 grid, 1,000,000 elements in 62 chunks (3 x 21), each with
 * workgroups past the last. */
Test(reduce_sum, few_workgroups_along_x) {
  test_limit_workgroups(3, 0);
  check_sizes();
  check_rows();
}
