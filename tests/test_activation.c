/* ReLU and dropout against the C references of tests/ref/activation_ref.c, with guard regions;
 * ReLU's backward also by finite differences; dropout's masks bit for bit against a plain-C
 * Philox-4x32-10 that is itself checked against Random123's known answers. ReLU reads its
 * inputs from storage buffers (REPRO_TEXEL=0, as on GPUs) and from texel buffers (REPRO_TEXEL=1,
 * as on CPU devices); the tests check both, and that the variant meant ran. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/activation.h"
#include "ref/activation_ref.h"
#include "support/fixture.h"

TestSuite(activation, .fini = test_teardown);

/* below, at and past one vec4 (the ops take four elements at a time and the rest one each) */
static const int64_t sizes[] = {1, 2, 3, 4, 5, 6, 255, 256, 257, 1023, 4099, 70001};
#define NSIZES (sizeof sizes / sizeof *sizes)

static uint32_t bits_of(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* ---- ReLU ---- */

static void expect_relu(rp_recorder *rec, bool texel) {
  const char *shader = texel ? "relu_texel" : "relu";
  cr_assert(test_ran_shader(rec, shader), "%s did not run", shader);
}

/* forward (and backward of dy through it), out of place or in place */
static void check_relu(int64_t n, bool in_place, bool texel) {
  float *x = malloc((size_t)n * sizeof *x), *dy = malloc((size_t)n * sizeof *dy);
  float *y = malloc((size_t)n * sizeof *y), *dx = malloc((size_t)n * sizeof *dx);
  fill_random(x, n, 1 + (uint32_t)n);
  fill_random(dy, n, 2 + (uint32_t)n);
  /* at the kink, in the vec4 part and in the tail */
  if (n > 3) x[0] = 0.0f, x[1] = -0.0f, x[2] = -1e-30f, x[3] = 1e-30f;
  if (n % 4 >= 2) x[n - 2] = -0.0f, x[n - 1] = 0.0f;
  guarded gx = guarded_create(1, &n), gy = guarded_create(1, &n);
  guarded gdy = guarded_create(1, &n), gdx = guarded_create(1, &n);
  guarded_upload(&gx, x);
  guarded_upload(&gy, dy); /* junk, to be overwritten */
  guarded_upload(&gdy, dy);
  guarded_upload(&gdx, x);
  const rp_tensor *out = in_place ? &gx.view : &gy.view;
  const rp_tensor *grad = in_place ? &gdy.view : &gdx.view;
  rp_recorder *rec = test_profiled_recorder();
  ASSERT_OK(rp_relu_forward(rec, &gx.view, out));
  ASSERT_OK(rp_relu_backward(rec, out, &gdy.view, grad));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  expect_relu(rec, texel);
  guarded_download(in_place ? &gx : &gy, y);
  guarded_download(in_place ? &gdy : &gdx, dx);

  double *xd = malloc((size_t)n * sizeof *xd), *dyd = malloc((size_t)n * sizeof *dyd);
  double *want_y = malloc((size_t)n * sizeof *want_y), *want_dx = malloc((size_t)n * sizeof *xd);
  for (int64_t i = 0; i < n; i++) xd[i] = x[i], dyd[i] = dy[i];
  ref_relu_forward(xd, n, want_y);
  ref_relu_backward(want_y, dyd, n, want_dx);
  for (int64_t i = 0; i < n; i++) {
    /* exact: a select, no arithmetic */
    cr_assert(y[i] == (float)want_y[i], "relu n %lld%s: y[%lld] = %g, want %g (x %g)", (long long)n,
              in_place ? " in place" : "", (long long)i, y[i], want_y[i], x[i]);
    cr_assert(bits_of(dx[i]) == bits_of((float)want_dx[i]),
              "relu backward n %lld%s: dx[%lld] = %g, want %g (x %g)", (long long)n,
              in_place ? " in place" : "", (long long)i, dx[i], want_dx[i], x[i]);
  }
  guarded_destroy(&gx), guarded_destroy(&gy), guarded_destroy(&gdy), guarded_destroy(&gdx);
  free(x), free(dy), free(y), free(dx), free(xd), free(dyd), free(want_y), free(want_dx);
}

Test(activation, relu) {
  for (int texel = 0; texel < 2; texel++) {
    test_use_texel(texel);
    for (size_t i = 0; i < NSIZES; i++) check_relu(sizes[i], false, texel);
  }
}

Test(activation, relu_in_place) {
  for (int texel = 0; texel < 2; texel++) {
    test_use_texel(texel);
    for (size_t i = 0; i < NSIZES; i++) check_relu(sizes[i], true, texel);
  }
}

/* NaN in every position of a vec4 (relu.comp's four-at-a-time part) and in the tail, as
 * PyTorch treats it: relu keeps it, and its backward passes dy where the output is NaN. */
Test(activation, relu_nan_as_pytorch) {
  int64_t n = 11;
  float x[11] = {NAN, -2.0f, 2.0f, -NAN, -1.0f, NAN, 3.0f, NAN, -NAN, 1.0f, NAN}, y[11];
  float dy[11] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, dx[11];
  for (int texel = 0; texel < 2; texel++) {
    test_use_texel(texel);
    guarded gx = guarded_create(1, &n), gy = guarded_create(1, &n);
    guarded gdy = guarded_create(1, &n), gdx = guarded_create(1, &n);
    guarded_upload(&gx, x), guarded_upload(&gy, x), guarded_upload(&gdy, dy);
    guarded_upload(&gdx, x);
    rp_recorder *rec = test_profiled_recorder();
    ASSERT_OK(rp_relu_forward(rec, &gx.view, &gy.view));
    ASSERT_OK(rp_relu_backward(rec, &gy.view, &gdy.view, &gdx.view));
    ASSERT_OK(rp_rec_end(rec));
    ASSERT_OK(rp_rec_run(rec));
    expect_relu(rec, texel);
    guarded_download(&gy, y), guarded_download(&gdx, dx);
    for (int i = 0; i < 11; i++) {
      float want = isnan(x[i]) ? x[i] : x[i] > 0.0f ? x[i] : 0.0f;
      cr_assert(isnan(want) ? isnan(y[i]) : y[i] == want, "relu(%g) at [%d] = %g (texel %d)", x[i],
                i, y[i], texel);
      float want_dx = isnan(x[i]) || x[i] > 0.0f ? dy[i] : 0.0f;
      cr_assert(dx[i] == want_dx, "relu backward at y = %g [%d] = %g, want %g (texel %d)", y[i], i,
                dx[i], want_dx, texel);
    }
    guarded_destroy(&gx), guarded_destroy(&gy), guarded_destroy(&gdy), guarded_destroy(&gdx);
  }
}

/* ReLU's backward against central differences of L(x) = sum dy relu(x) in double, the inputs
 * kept at least 0.01 from the kink so that a step of 1e-6 never crosses it. */
Test(activation, relu_backward_finite_differences) {
  int64_t n = 1001;
  float *x = malloc((size_t)n * sizeof *x), *dy = malloc((size_t)n * sizeof *dy);
  float *dx = malloc((size_t)n * sizeof *dx);
  fill_random(x, n, 77);
  fill_random(dy, n, 78);
  for (int64_t i = 0; i < n; i++) x[i] = copysignf(0.01f + fabsf(x[i]), x[i]);
  guarded gx = guarded_create(1, &n), gy = guarded_create(1, &n), gdy = guarded_create(1, &n);
  guarded gdx = guarded_create(1, &n);
  guarded_upload(&gx, x);
  guarded_upload(&gy, x);
  guarded_upload(&gdy, dy);
  guarded_upload(&gdx, x);
  rp_recorder *rec = test_recorder();
  ASSERT_OK(rp_relu_forward(rec, &gx.view, &gy.view));
  ASSERT_OK(rp_relu_backward(rec, &gy.view, &gdy.view, &gdx.view));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  guarded_download(&gdx, dx);
  double *xd = malloc((size_t)n * sizeof *xd), *yd = malloc((size_t)n * sizeof *yd);
  for (int64_t i = 0; i < n; i++) xd[i] = x[i];
  const double step = 1e-6;
  for (int64_t i = 0; i < n; i++) {
    double loss[2];
    for (int side = 0; side < 2; side++) {
      double saved = xd[i];
      xd[i] += side ? -step : step;
      ref_relu_forward(xd, n, yd);
      xd[i] = saved;
      loss[side] = 0.0;
      for (int64_t j = 0; j < n; j++) loss[side] += dy[j] * yd[j];
    }
    double fd = (loss[0] - loss[1]) / (2 * step);
    cr_assert(fabs(dx[i] - fd) <= 1e-6, "relu backward: dx[%lld] = %.9g, finite difference %.9g",
              (long long)i, dx[i], fd);
  }
  guarded_destroy(&gx), guarded_destroy(&gy), guarded_destroy(&gdy), guarded_destroy(&gdx);
  free(x), free(dy), free(dx), free(xd), free(yd);
}

/* ---- Philox and dropout ---- */

/* Random123's kat_vectors for philox4x32 with 10 rounds: counter, key, expected output. */
Test(activation, philox_known_answers) {
  static const uint32_t kat[3][10] = {
      {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
       0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
       0x94fdcceb, 0x5001e420, 0x24126ea1},
  };
  for (int t = 0; t < 3; t++) {
    uint32_t out[4];
    ref_philox4x32_10(kat[t], kat[t] + 4, out);
    for (int k = 0; k < 4; k++)
      cr_assert_eq(out[k], kat[t][6 + k], "vector %d word %d: %08x, want %08x", t, k, out[k],
                   kat[t][6 + k]);
  }
}

/* One dropout layer on the device: x, y and mask guarded, rng mapped so the host can change
 * the seed and step between submissions of one recording. */
typedef struct dropout_rig {
  int64_t n;
  guarded gx, gy, gmask;
  rp_tensor rng;
  rp_recorder *rec;
} dropout_rig;

static void rig_record(dropout_rig *r, int64_t n, const float *x, float p, uint32_t stream,
                       bool in_place) {
  r->n = n;
  r->gx = guarded_create(1, &n), r->gy = guarded_create(1, &n), r->gmask = guarded_create(1, &n);
  guarded_upload(&r->gx, x);
  float *junk = malloc((size_t)n * sizeof *junk);
  fill_random(junk, n, 9);
  guarded_upload(&r->gy, junk);
  guarded_upload(&r->gmask, junk);
  free(junk);
  ASSERT_OK(rp_tensor_create_mapped(test_ctx(), 1, (int64_t[]){4}, &r->rng));
  r->rng.dtype = RP_U32;
  r->rec = test_recorder();
  ASSERT_OK(rp_dropout_forward(r->rec, &r->gx.view, p, stream, &r->rng,
                               in_place ? &r->gx.view : &r->gy.view, &r->gmask.view));
  ASSERT_OK(rp_rec_end(r->rec));
}

/* Sets seed and step, runs the recording, and reads y and the mask back. */
static void rig_run(dropout_rig *r, uint64_t seed, uint32_t step, bool in_place, float *y,
                    float *mask) {
  uint32_t *rng = r->rng.buffer.mapped;
  rng[0] = (uint32_t)seed, rng[1] = (uint32_t)(seed >> 32), rng[2] = step, rng[3] = 0;
  ASSERT_OK(rp_rec_run(r->rec));
  guarded_download(in_place ? &r->gx : &r->gy, y);
  guarded_download(&r->gmask, mask);
}

static void rig_destroy(dropout_rig *r) {
  guarded_destroy(&r->gx), guarded_destroy(&r->gy), guarded_destroy(&r->gmask);
  rp_tensor_destroy(test_ctx(), &r->rng);
}

/* mask bit for bit as the C Philox draws it, y = x * mask exactly (one correctly rounded
 * product), every mask value 0 or 1 / (1 - p) */
static void check_dropout(int64_t n, float p, uint64_t seed, uint32_t step, uint32_t stream,
                          bool in_place) {
  float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
  float *mask = malloc((size_t)n * sizeof *mask), *want = malloc((size_t)n * sizeof *want);
  fill_random(x, n, 40 + (uint32_t)n);
  dropout_rig r;
  rig_record(&r, n, x, p, stream, in_place);
  rig_run(&r, seed, step, in_place, y, mask);
  ref_dropout_mask(n, p, seed, step, 0, stream, want);
  float scale = p >= 1.0f ? 0.0f : 1.0f / (1.0f - p);
  for (int64_t i = 0; i < n; i++) {
    cr_assert(bits_of(mask[i]) == bits_of(want[i]),
              "dropout n %lld p %g seed %llx step %u stream %u: mask[%lld] = %.9g, want %.9g",
              (long long)n, (double)p, (unsigned long long)seed, step, stream, (long long)i,
              mask[i], want[i]);
    cr_assert(mask[i] == 0.0f || mask[i] == scale, "mask[%lld] = %.9g", (long long)i, mask[i]);
    cr_assert(bits_of(y[i]) == bits_of(x[i] * want[i]),
              "dropout n %lld p %g: y[%lld] = %.9g, want %.9g * %.9g", (long long)n, (double)p,
              (long long)i, y[i], x[i], want[i]);
  }
  rig_destroy(&r);
  free(x), free(y), free(mask), free(want);
}

Test(activation, dropout_matches_c_philox) {
  static const float ps[] = {0.5f, 0.1f, 0.9f, 1.0f / 3.0f};
  for (size_t i = 0; i < NSIZES; i++)
    check_dropout(sizes[i], ps[i % 4], 0x0123456789abcdefull * (i + 1), (uint32_t)(i * 7919),
                  (uint32_t)i, false);
  check_dropout(4099, 0.25f, 42, 3, 5, true); /* y = x in place */
}

/* A word equal to the threshold keeps its element (u >= p, not u > p): p is set to r / 2^32
 * for a word r of the draw that a float holds exactly (r >= 2^31, its low 8 bits zero), which
 * makes ceil(p 2^32) = r. */
Test(activation, dropout_keeps_a_word_at_the_threshold) {
  const uint64_t seed = 0x5eedull;
  const uint32_t step = 9, stream = 2;
  int64_t at = -1;
  uint32_t word = 0;
  for (uint32_t j = 0; j < 4096 && at < 0; j++) {
    uint32_t ctr[4] = {j, stream, step, 0}, key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t r[4];
    ref_philox4x32_10(ctr, key, r);
    for (int k = 0; k < 4 && at < 0; k++)
      if (r[k] >= 0x80000000u && (r[k] & 0xffu) == 0) at = 4 * (int64_t)j + k, word = r[k];
  }
  cr_assert_geq(at, 0, "no word to test in 16384");
  float p = (float)((double)word / 4294967296.0);
  cr_assert_eq((double)p * 4294967296.0, (double)word, "p = %.9g is not the word %u", p, word);
  int64_t n = at + 5;
  float *mask = malloc((size_t)n * sizeof *mask);
  ref_dropout_mask(n, p, seed, step, 0, stream, mask);
  cr_assert_neq(mask[at], 0.0f, "the reference drops element %lld (word %u, p %.9g)", (long long)at,
                word, p);
  free(mask);
  check_dropout(n, p, seed, step, stream, false); /* element `at` kept there too */
}

/* p = 0: the mask is all ones and y is x, bit for bit; p = 1: everything dropped. */
Test(activation, dropout_p0_identity_p1_zero) {
  int64_t n = 4099;
  float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
  float *mask = malloc((size_t)n * sizeof *mask);
  fill_random(x, n, 3);
  for (int pass = 0; pass < 2; pass++) {
    dropout_rig r;
    rig_record(&r, n, x, pass ? 1.0f : 0.0f, 1, false);
    rig_run(&r, 99, 1, false, y, mask);
    for (int64_t i = 0; i < n; i++) {
      if (pass == 0)
        cr_assert(mask[i] == 1.0f && bits_of(y[i]) == bits_of(x[i]),
                  "p = 0: [%lld] mask %g, y %g, x %g", (long long)i, mask[i], y[i], x[i]);
      else
        cr_assert(mask[i] == 0.0f && y[i] == 0.0f, "p = 1: [%lld] mask %g, y %g", (long long)i,
                  mask[i], y[i]);
    }
    rig_destroy(&r);
  }
  free(x), free(y), free(mask);
}

static int64_t count_differences(const float *a, const float *b, int64_t n) {
  int64_t d = 0;
  for (int64_t i = 0; i < n; i++) d += bits_of(a[i]) != bits_of(b[i]);
  return d;
}

/* One recording, submitted with different steps and seeds written through the mapped rng:
 * a new step or seed draws a new mask, the same (seed, step) the same one; and another stream
 * draws another mask. For p = 1/2 two independent masks differ in half the elements: the
 * bound of 0.4 n is more than 60 standard deviations (sqrt(n) / 2 = 64) away. */
Test(activation, dropout_fresh_mask_each_step) {
  int64_t n = 65537;
  float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
  float *m[4], *want = malloc((size_t)n * sizeof *want);
  for (int i = 0; i < 4; i++) m[i] = malloc((size_t)n * sizeof *m[i]);
  fill_random(x, n, 4);
  dropout_rig r;
  rig_record(&r, n, x, 0.5f, 7, false);
  rig_run(&r, 1234, 1, false, y, m[0]);
  rig_run(&r, 1234, 2, false, y, m[1]);
  rig_run(&r, 1234, 1, false, y, m[2]);
  rig_run(&r, 1234ull | (5ull << 32), 1, false, y, m[3]); /* only the seed's high word changed */
  int64_t bound = n * 4 / 10;
  cr_assert(count_differences(m[0], m[1], n) > bound, "step 1 and 2 draw nearly the same mask");
  cr_assert_eq(count_differences(m[0], m[2], n), 0, "step 1 twice draws different masks");
  cr_assert(count_differences(m[0], m[3], n) > bound, "the seed's high word is ignored");
  ref_dropout_mask(n, 0.5f, 1234, 2, 0, 7, want);
  cr_assert_eq(count_differences(m[1], want, n), 0, "step 2 does not match the C Philox");
  rig_destroy(&r);

  rig_record(&r, n, x, 0.5f, 8, false); /* the next layer */
  rig_run(&r, 1234, 1, false, y, m[3]);
  cr_assert(count_differences(m[0], m[3], n) > bound, "streams 7 and 8 draw the same mask");
  rig_destroy(&r);
  for (int i = 0; i < 4; i++) free(m[i]);
  free(x), free(y), free(want);
}

/* The kept fraction is Binomial(n, 1 - p) / n: within 5 of its standard deviations,
 * sd = sqrt(p (1 - p) / n), of 1 - p overall, and each Philox word's n / 4 draws within 5 of
 * theirs (2 sd, hence 10 sd). A correct generator misses either about once in a million; the
 * seeds are fixed, so the test cannot flake. */
Test(activation, dropout_kept_fraction) {
  static const float ps[] = {0.1f, 0.3f, 0.5f, 0.9f};
  int64_t n = 400000;
  float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
  float *mask = malloc((size_t)n * sizeof *mask);
  fill_random(x, n, 5);
  for (int t = 0; t < 4; t++) {
    dropout_rig r;
    rig_record(&r, n, x, ps[t], (uint32_t)t, false);
    rig_run(&r, 0xfeedfacecafebeefull, 17, false, y, mask);
    int64_t kept[4] = {0};
    for (int64_t i = 0; i < n; i++) kept[i % 4] += mask[i] != 0.0f;
    double q = 1.0 - ps[t];
    double all = (double)(kept[0] + kept[1] + kept[2] + kept[3]) / (double)n;
    double sd = sqrt(q * (1 - q) / (double)n);
    cr_assert(fabs(all - q) <= 5 * sd, "p %g: kept %.5f, want %.5f +- %.5f", (double)ps[t], all, q,
              5 * sd);
    for (int k = 0; k < 4; k++) {
      double frac = (double)kept[k] / ((double)n / 4.0); /* n is a multiple of 4 */
      cr_assert(fabs(frac - q) <= 10 * sd, "p %g, word %d: kept %.5f, want %.5f +- %.5f",
                (double)ps[t], k, frac, q, 10 * sd);
    }
    rig_destroy(&r);
  }
  free(x), free(y), free(mask);
}

Test(activation, bad_arguments_are_refused) {
  rp_context *ctx = test_ctx();
  rp_tensor a, b, m, rng, small;
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){5}, &a));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){5}, &m));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){6}, &b));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){4}, &rng));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){3}, &small));
  rp_recorder *rec = test_recorder();
  cr_assert_eq(rp_relu_forward(rec, &a, &b), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), "relu_forward: tensors of 5, 5 and 6 elements");
  cr_assert_eq(rp_relu_backward(rec, &a, &b, &a), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_dropout_forward(rec, &a, -0.1f, 0, &rng, &a, &m), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), "dropout_forward: p = -0.1, not in [0, 1]");
  cr_assert_eq(rp_dropout_forward(rec, &a, 1.5f, 0, &rng, &a, &m), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_dropout_forward(rec, &a, NAN, 0, &rng, &a, &m), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_dropout_forward(rec, &a, 0.5f, 0, &rng, &b, &m), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_dropout_forward(rec, &a, 0.5f, 0, &small, &a, &m), RP_ERR_INVALID_ARGUMENT);
  ASSERT_OK(rp_dropout_forward(rec, &a, 0.5f, 0, &rng, &a, &m));
  ASSERT_OK(rp_rec_end(rec));
  rp_tensor_destroy(ctx, &a), rp_tensor_destroy(ctx, &b), rp_tensor_destroy(ctx, &m);
  rp_tensor_destroy(ctx, &rng), rp_tensor_destroy(ctx, &small);
}
