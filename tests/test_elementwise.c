/* fill, copy, add, mul, axpy and scale against plain C, with guard regions, each reading its
 * inputs from storage buffers (REPRO_TEXEL=0, as on GPUs) and from texel buffers
 * (REPRO_TEXEL=1, as on CPU devices), checking that the variant meant ran. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "support/fixture.h"

TestSuite(elementwise, .fini = test_teardown);

/* Odd and round sizes, below, at and past one vec4 (the ops take four elements at a time and
 * the rest one each); 70001 spans many workgroups and a partial last one. */
static const int64_t sizes[] = {1, 2, 3, 4, 5, 6, 255, 256, 257, 1023, 4099, 70001};
#define NSIZES (sizeof sizes / sizeof *sizes)

enum { ADD, MUL, AXPY, SCALE, FILL, COPY };
static const char *shaders[] = {"elementwise", "elementwise", "elementwise",
                                "elementwise", "fill",        "copy"};

static void check(int op, int64_t n, bool texel) {
  float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
  float *got = malloc((size_t)n * sizeof *got);
  fill_random(x, n, 11 + (uint32_t)n);
  fill_random(y, n, 12 + (uint32_t)n);
  const float alpha = -1.75f;
  guarded gx = guarded_create(1, &n), gy = guarded_create(1, &n), gz = guarded_create(1, &n);
  guarded_upload(&gx, x);
  guarded_upload(&gy, y);
  guarded_upload(&gz, y);
  rp_recorder *rec = test_profiled_recorder();
  switch (op) {
  case ADD: ASSERT_OK(rp_add(rec, &gx.view, &gy.view, &gz.view)); break;
  case MUL: ASSERT_OK(rp_mul(rec, &gx.view, &gy.view, &gz.view)); break;
  case AXPY: ASSERT_OK(rp_axpy(rec, alpha, &gx.view, &gz.view)); break;
  case SCALE: ASSERT_OK(rp_scale(rec, alpha, &gx.view, &gz.view)); break;
  case FILL: ASSERT_OK(rp_fill(rec, &gz.view, alpha)); break;
  case COPY: ASSERT_OK(rp_copy(rec, &gx.view, &gz.view)); break;
  }
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  char shader[48];
  snprintf(shader, sizeof shader, "%s%s", shaders[op], texel && op != FILL ? "_texel" : "");
  cr_assert(test_ran_shader(rec, shader), "op %d, n %lld: %s did not run", op, (long long)n,
            shader);
  guarded_download(&gz, got);
  for (int64_t i = 0; i < n; i++) {
    /* Each result is one correctly rounded fp32 operation (fma for axpy), so compare
     * exactly against the same operation done here in float. */
    float want = 0.0f;
    switch (op) {
    case ADD: want = x[i] + y[i]; break;
    case MUL: want = x[i] * y[i]; break;
    case AXPY: want = (float)((double)alpha * x[i] + y[i]); break;
    case SCALE: want = alpha * x[i]; break;
    case FILL: want = alpha; break;
    case COPY: want = x[i]; break;
    }
    /* axpy: one rounding if the device fuses the FMA, two (the product's too) if not */
    float tol = op == AXPY ? (fabsf(alpha * x[i]) + fabsf(want)) * FLT_EPSILON : 0.0f;
    cr_assert(fabsf(got[i] - want) <= tol, "op %d, n %lld: [%lld] = %.9g, want %.9g", op,
              (long long)n, (long long)i, got[i], want);
  }
  guarded_destroy(&gx), guarded_destroy(&gy), guarded_destroy(&gz);
  free(x), free(y), free(got);
}

/* Every size, reading storage buffers and then texel buffers. */
static void check_all(int op) {
  for (int texel = 0; texel < 2; texel++) {
    test_use_texel(texel);
    for (size_t i = 0; i < NSIZES; i++) check(op, sizes[i], texel);
  }
}

Test(elementwise, add) { check_all(ADD); }
Test(elementwise, mul) { check_all(MUL); }
Test(elementwise, axpy) { check_all(AXPY); }
Test(elementwise, scale) { check_all(SCALE); }
Test(elementwise, fill) { check_all(FILL); }
Test(elementwise, copy) { check_all(COPY); }

/* On a device that allows 3 workgroups along x (65,535 on Intel and Mesa's drivers), the ops
 * spread theirs over x and y (rp_grid_1d; flat_invocation() in common.glsl): 4099 elements
 * take 4 workgroups of 256 invocations (a 3 x 2 grid, two past the end), 70001 take 69 (3 x
 * 23). */
Test(elementwise, few_workgroups_along_x) {
  test_limit_workgroups(3, 0);
  for (int texel = 0; texel < 2; texel++) {
    test_use_texel(texel);
    for (int op = ADD; op <= COPY; op++) check(op, 4099, texel), check(op, 70001, texel);
  }
}

Test(elementwise, size_mismatch_is_refused) {
  rp_context *ctx = test_ctx();
  rp_tensor a, b;
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){5}, &a));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){6}, &b));
  rp_recorder *rec = test_recorder();
  cr_assert_eq(rp_add(rec, &a, &b, &b), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), "add: tensors of 5, 6 and 6 elements");
  cr_assert_eq(rp_copy(rec, &a, &b), RP_ERR_INVALID_ARGUMENT);
  ASSERT_OK(rp_rec_end(rec));
  rp_tensor_destroy(ctx, &a);
  rp_tensor_destroy(ctx, &b);
}
