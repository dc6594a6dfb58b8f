/* FGSM and PGD steps against the same operations in C float. Every result is a correctly
 * rounded sum (step * sign is exact) followed by clamps, so the comparison is exact. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/attack.h"
#include "support/fixture.h"

TestSuite(attack, .fini = test_teardown);

/* NaN as PyTorch treats it: sign(NaN) = 0 (both compares are false), clamp keeps a NaN */
static float sign_of(float g) { return g > 0.0f ? 1.0f : g < 0.0f ? -1.0f : 0.0f; }
static float clampf(float v, float lo, float hi) { return isnan(v) ? v : fminf(fmaxf(v, lo), hi); }

static float ref_fgsm(float x, float g, float eps, float lo, float hi) {
  return clampf(x + eps * sign_of(g), lo, hi);
}

static float ref_pgd(float x_adv, float g, float x_orig, float step, float eps, float lo,
                     float hi) {
  float v = x_adv + step * sign_of(g);
  return clampf(isnan(x_orig) ? x_orig : clampf(v, x_orig - eps, x_orig + eps), lo, hi);
}

/* Random gradients with exact zeros (of both signs), infinities, and values far too small to
 * matter except through their sign. */
static void make_grad(float *g, int64_t n, uint32_t seed) {
  fill_random(g, n, seed);
  for (int64_t i = 0; i < n; i++) {
    float sign = g[i] < 0 ? -1.0f : 1.0f;
    if (i % 7 == 3) g[i] = 0.0f;
    if (i % 11 == 5) g[i] = -0.0f;
    if (i % 13 == 6) g[i] = sign * 1e-30f;
    /* sign() is ±1 for infinities and for subnormals, which a device that flushes them to zero
     * in arithmetic would read as 0 (the shader reads the bits) */
    if (i % 23 == 8) g[i] = sign * INFINITY;
    if (i % 29 == 9) g[i] = sign * FLT_TRUE_MIN;
    if (i % 31 == 10) g[i] = sign * 1e-40f;
  }
}

/* x in [lo, hi], with some elements exactly at the ends */
static void make_input(float *x, int64_t n, uint32_t seed, float lo, float hi) {
  fill_random(x, n, seed);
  for (int64_t i = 0; i < n; i++) {
    x[i] = lo + (x[i] + 1.0f) * 0.5f * (hi - lo);
    if (i % 17 == 2) x[i] = lo;
    if (i % 19 == 4) x[i] = hi;
  }
}

static const int64_t sizes[] = {1, 257, 3073};

/* x drawn from [xlo, xhi]: beyond [lo, hi] in the official quirk (normalized inputs clamped to
 * [0, 1]) */
static void check_fgsm(int64_t n, float eps, float xlo, float xhi, float lo, float hi,
                       bool in_place) {
  float *x = malloc((size_t)n * sizeof *x), *g = malloc((size_t)n * sizeof *g);
  float *got = malloc((size_t)n * sizeof *got);
  make_input(x, n, 1 + (uint32_t)n, xlo, xhi);
  make_grad(g, n, 2 + (uint32_t)n);
  guarded gx = guarded_create(1, &n), gg = guarded_create(1, &n), go = guarded_create(1, &n);
  guarded_upload(&gx, x), guarded_upload(&gg, g), guarded_upload(&go, g);
  guarded *out = in_place ? &gx : &go;
  rp_recorder *rec = test_recorder();
  ASSERT_OK(rp_fgsm_step(rec, &gx.view, &gg.view, eps, lo, hi, &out->view));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  guarded_download(out, got);
  for (int64_t i = 0; i < n; i++) {
    float want = ref_fgsm(x[i], g[i], eps, lo, hi);
    cr_assert(got[i] == want, "fgsm n %lld eps %g%s: [%lld] = %.9g, want %.9g (x %.9g, grad %g)",
              (long long)n, (double)eps, in_place ? " in place" : "", (long long)i, got[i], want,
              x[i], g[i]);
    if (g[i] == 0.0f && x[i] >= lo && x[i] <= hi) cr_assert(got[i] == x[i], "sign(0) must be 0");
  }
  guarded_destroy(&gx), guarded_destroy(&gg), guarded_destroy(&go);
  free(x), free(g), free(got);
}

Test(attack, fgsm) {
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    check_fgsm(sizes[s], 8.0f / 255.0f, 0.0f, 1.0f, 0.0f, 1.0f, false);
    check_fgsm(sizes[s], 0.3f, 0.0f, 1.0f, 0.0f, 1.0f, true);
    check_fgsm(sizes[s], 0.1f, -1.9f, 2.1f, -1.9f, 2.1f, false);
    check_fgsm(sizes[s], 0.0f, 0.0f, 1.0f, 0.0f, 1.0f, true);
    /* the official quirk: normalized inputs, clamped to [0, 1] all the same */
    check_fgsm(sizes[s], 0.1f, -1.9f, 2.1f, 0.0f, 1.0f, true);
  }
}

/* `steps` PGD steps recorded in one recording, each in place on x_adv with its own gradient
 * (so each step reads what the previous one wrote), from a random start within eps of x. */
static void check_pgd(int64_t n, int steps, float step, float eps, float xlo, float xhi, float lo,
                      float hi) {
  float *x = malloc((size_t)n * sizeof *x), *adv = malloc((size_t)n * sizeof *adv);
  float *g = malloc((size_t)steps * (size_t)n * sizeof *g), *got = malloc((size_t)n * sizeof *got);
  make_input(x, n, 3 + (uint32_t)n, xlo, xhi);
  fill_random(adv, n, 4 + (uint32_t)n);
  for (int64_t i = 0; i < n; i++) adv[i] = clampf(x[i] + eps * adv[i], lo, hi);
  guarded gx = guarded_create(1, &n), ga = guarded_create(1, &n);
  guarded *gg = malloc((size_t)steps * sizeof *gg);
  guarded_upload(&gx, x), guarded_upload(&ga, adv);
  rp_recorder *rec = test_recorder();
  for (int s = 0; s < steps; s++) {
    make_grad(g + (size_t)s * n, n, 10 + (uint32_t)s);
    gg[s] = guarded_create(1, &n);
    guarded_upload(&gg[s], g + (size_t)s * n);
    ASSERT_OK(rp_pgd_step(rec, &ga.view, &gg[s].view, &gx.view, step, eps, lo, hi, &ga.view));
  }
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  guarded_download(&ga, got);
  for (int64_t i = 0; i < n; i++) {
    float want = adv[i];
    for (int s = 0; s < steps; s++)
      want = ref_pgd(want, g[(size_t)s * n + i], x[i], step, eps, lo, hi);
    cr_assert(got[i] == want, "pgd n %lld, %d steps: [%lld] = %.9g, want %.9g", (long long)n, steps,
              (long long)i, got[i], want);
    bool inside = x[i] >= lo && x[i] <= hi; /* else the ball may miss [lo, hi] */
    cr_assert(got[i] >= lo && got[i] <= hi &&
                  (!inside || fabsf(got[i] - x[i]) <= eps + 2 * FLT_EPSILON * (fabsf(x[i]) + eps)),
              "pgd [%lld] = %.9g left the ball around %.9g", (long long)i, got[i], x[i]);
  }
  for (int s = 0; s < steps; s++) guarded_destroy(&gg[s]);
  guarded_destroy(&gx), guarded_destroy(&ga);
  free(x), free(adv), free(g), free(got), free(gg);
}

Test(attack, pgd) {
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    check_pgd(sizes[s], 1, 2.0f / 255.0f, 8.0f / 255.0f, 0.0f, 1.0f, 0.0f, 1.0f);
    check_pgd(sizes[s], 5, 2.0f / 255.0f, 8.0f / 255.0f, 0.0f, 1.0f, 0.0f, 1.0f);
    check_pgd(sizes[s], 3, 0.05f, 0.08f, -1.9f, 2.1f, -1.9f, 2.1f);
    /* x beyond [lo, hi] (the official quirk): the order of the two clamps shows */
    check_pgd(sizes[s], 3, 0.05f, 0.08f, -1.9f, 2.1f, 0.0f, 1.0f);
  }
}

/* A few elements by hand, independent of the reference functions. */
Test(attack, by_hand) {
  int64_t n = 6;
  float x[6] = {0.5f, 0.0f, 1.0f, 0.98f, 0.25f, 0.02f};
  float g[6] = {1.0f, -2.0f, 0.0f, 3.0f, -0.0f, -1e-20f};
  float x0[6] = {0.5f, 0.0f, 1.0f, 0.9f, 0.2f, 0.05f}, got[6];
  guarded gx = guarded_create(1, &n), gg = guarded_create(1, &n), g0 = guarded_create(1, &n);
  guarded go = guarded_create(1, &n);
  guarded_upload(&gx, x), guarded_upload(&gg, g), guarded_upload(&g0, x0), guarded_upload(&go, x);
  rp_recorder *rec = test_recorder();
  ASSERT_OK(rp_fgsm_step(rec, &gx.view, &gg.view, 0.25f, 0.0f, 1.0f, &go.view));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  guarded_download(&go, got);
  const float fgsm[6] = {0.75f, 0.0f, 1.0f, 1.0f, 0.25f, 0.0f};
  for (int i = 0; i < 6; i++) cr_assert(got[i] == fgsm[i], "fgsm [%d] = %g", i, got[i]);
  /* x_orig +- 0.0625 bounds the step of 0.125 */
  rec = test_recorder();
  ASSERT_OK(rp_pgd_step(rec, &gx.view, &gg.view, &g0.view, 0.125f, 0.0625f, 0.0f, 1.0f, &go.view));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  guarded_download(&go, got);
  const float pgd[6] = {0.5625f, 0.0f, 1.0f, 0.9625f, 0.25f, 0.0f};
  for (int i = 0; i < 6; i++)
    cr_assert(fabsf(got[i] - pgd[i]) <= 1e-7f, "pgd [%d] = %.9g, want %.9g", i, got[i], pgd[i]);
  guarded_destroy(&gx), guarded_destroy(&gg), guarded_destroy(&g0), guarded_destroy(&go);
}

/* GLSL leaves sign() and clamp() of NaN undefined (NVIDIA's clamp returns a bound): a NaN
 * gradient is no step and a NaN pixel stays NaN, as in PyTorch. */
Test(attack, nan_as_pytorch) {
  int64_t n = 5;
  float x[5] = {0.5f, NAN, 0.5f, -NAN, 0.25f}, g[5] = {NAN, 1.0f, -NAN, NAN, -1.0f};
  float x0[5] = {0.5f, 0.5f, NAN, 0.5f, 0.25f}, got[5];
  const float fgsm[5] = {0.5f, NAN, 0.5f, NAN, 0.0f}, pgd[5] = {0.5f, NAN, NAN, NAN, 0.125f};
  guarded gx = guarded_create(1, &n), gg = guarded_create(1, &n), g0 = guarded_create(1, &n);
  guarded go = guarded_create(1, &n);
  guarded_upload(&gx, x), guarded_upload(&gg, g), guarded_upload(&g0, x0), guarded_upload(&go, g);
  for (int pgd_step = 0; pgd_step < 2; pgd_step++) {
    rp_recorder *rec = test_recorder();
    if (pgd_step)
      ASSERT_OK(rp_pgd_step(rec, &gx.view, &gg.view, &g0.view, 0.25f, 0.125f, 0, 1, &go.view));
    else
      ASSERT_OK(rp_fgsm_step(rec, &gx.view, &gg.view, 0.25f, 0, 1, &go.view));
    ASSERT_OK(rp_rec_end(rec));
    ASSERT_OK(rp_rec_run(rec));
    guarded_download(&go, got);
    const float *want = pgd_step ? pgd : fgsm;
    for (int i = 0; i < 5; i++) {
      float ref = pgd_step ? ref_pgd(x[i], g[i], x0[i], 0.25f, 0.125f, 0, 1)
                           : ref_fgsm(x[i], g[i], 0.25f, 0, 1);
      cr_assert(isnan(want[i]) ? isnan(got[i]) && isnan(ref) : got[i] == want[i] && ref == want[i],
                "%s [%d] = %g, reference %g, want %g (x %g, grad %g)", pgd_step ? "pgd" : "fgsm", i,
                got[i], ref, want[i], x[i], g[i]);
    }
  }
  guarded_destroy(&gx), guarded_destroy(&gg), guarded_destroy(&g0), guarded_destroy(&go);
}

Test(attack, bad_arguments_are_refused) {
  rp_context *ctx = test_ctx();
  rp_tensor a, b;
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){5}, &a));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){6}, &b));
  rp_recorder *rec = test_recorder();
  cr_assert_eq(rp_fgsm_step(rec, &a, &b, 0.1f, 0, 1, &a), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), "fgsm: tensors of 5, 6, 5 and 5 elements");
  cr_assert_eq(rp_pgd_step(rec, &a, &a, &b, 0.1f, 0.1f, 0, 1, &a), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_fgsm_step(rec, &a, &a, -0.1f, 0, 1, &a), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_fgsm_step(rec, &a, &a, 0.1f, 1, 0, &a), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_pgd_step(rec, &a, &a, &a, NAN, 0.1f, 0, 1, &a), RP_ERR_INVALID_ARGUMENT);
  ASSERT_OK(rp_rec_end(rec));
  rp_tensor_destroy(ctx, &a), rp_tensor_destroy(ctx, &b);
}
