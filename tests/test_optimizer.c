/* rp_sgd_step against a double reference of torch.optim.SGD (tests/ref/optimizer_ref.c) over
 * several steps of one recording submitted again and again, the host changing the gradient
 * and the learning rate (through `hyper`) between submissions.
 *
 * Tolerance: 4 eps (FLT_EPSILON) times the sum over steps of the magnitudes each fp32 step
 * computes from (ref_sgd_step's `scale`); the first momentum buffer is checked exactly (torch
 * clones the gradient; momentum * 0 + g is g). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/optimizer.h"
#include "ref/optimizer_ref.h"
#include "support/fixture.h"

TestSuite(optimizer, .fini = test_teardown);

#define EPS FLT_EPSILON
#define STEPS 4
static const float lrs[STEPS] = {0.1f, 0.05f, 0.2f, 0.001f};

typedef struct config {
  float momentum, weight_decay;
  bool nesterov;
  bool null_buf; /* momentum 0: pass no buffer */
} config;

static void check(const config *c, int64_t n) {
  rp_context *ctx = test_ctx();
  float *w0 = malloc((size_t)n * sizeof *w0), *got = malloc((size_t)n * sizeof *got);
  float *buf0 = malloc((size_t)n * sizeof *buf0);
  double *w = malloc((size_t)n * sizeof *w), *buf = calloc((size_t)n, sizeof *buf);
  double *scale = calloc((size_t)n, sizeof *scale), *bscale = calloc((size_t)n, sizeof *bscale);
  bool has_buf = false;
  fill_random(w0, n, 3 + (uint32_t)n);
  for (int64_t i = 0; i < n; i++) w[i] = w0[i] *= 2.0f;
  /* the caller zeroes the buffer; without momentum it must stay as it was */
  const float untouched = 7.25f;
  for (int64_t i = 0; i < n; i++) buf0[i] = c->momentum == 0.0f ? untouched : 0.0f;
  guarded gw = guarded_create(1, &n), gb = guarded_create(1, &n);
  guarded_upload(&gw, w0);
  guarded_upload(&gb, buf0);
  rp_tensor grad, hyper;
  ASSERT_OK(rp_tensor_create_mapped(ctx, 1, &n, &grad));
  ASSERT_OK(rp_tensor_create_mapped(ctx, 1, (int64_t[]){2}, &hyper));

  rp_recorder *rec = test_recorder();
  ASSERT_OK(rp_sgd_step(rec, &gw.view, &grad, c->null_buf ? NULL : &gb.view, &hyper, c->momentum,
                        c->weight_decay, c->nesterov));
  ASSERT_OK(rp_rec_end(rec));

  for (int s = 0; s < STEPS; s++) {
    float *g = grad.buffer.mapped, *h = hyper.buffer.mapped;
    fill_random(g, n, 100 + (uint32_t)s);
    if (s == 2) g[0] = 0.0f;
    h[0] = lrs[s];
    h[1] = 1e30f; /* not a learning rate: only element 0 is */
    ASSERT_OK(rp_rec_run(rec));

    for (int64_t i = 0; i < n; i++) {
      double wd = c->weight_decay * w[i], old = has_buf ? buf[i] : 0;
      bscale[i] +=
          c->momentum * fabs(old) + fabs(g[i]) + fabs(wd) + fabs(c->momentum * old + g[i] + wd);
    }
    ref_sgd_step(w, buf, &has_buf, g, n, lrs[s], c->momentum, c->weight_decay, c->nesterov, scale);

    guarded_download(&gw, got);
    for (int64_t i = 0; i < n; i++)
      cr_assert(fabs(got[i] - w[i]) <= 4 * EPS * scale[i],
                "momentum %g, wd %g, nesterov %d, n %lld, step %d: w[%lld] = %.9g, reference "
                "%.9g (tol %.3g)",
                (double)c->momentum, (double)c->weight_decay, c->nesterov, (long long)n, s,
                (long long)i, got[i], w[i], 4 * EPS * scale[i]);
    guarded_download(&gb, got);
    for (int64_t i = 0; i < n; i++) {
      if (c->momentum == 0.0f) {
        cr_assert(got[i] == untouched, "momentum 0: buffer[%lld] = %g", (long long)i, got[i]);
        continue;
      }
      /* the first buffer is the gradient itself when there is no weight decay */
      double tol = s == 0 && c->weight_decay == 0.0f ? 0.0 : 4 * EPS * bscale[i];
      cr_assert(fabs(got[i] - buf[i]) <= tol,
                "momentum %g, wd %g, n %lld, step %d: buffer[%lld] = %.9g, reference %.9g",
                (double)c->momentum, (double)c->weight_decay, (long long)n, s, (long long)i, got[i],
                buf[i]);
    }
  }
  guarded_destroy(&gw), guarded_destroy(&gb);
  rp_tensor_destroy(ctx, &grad), rp_tensor_destroy(ctx, &hyper);
  free(w0), free(got), free(buf0), free(w), free(buf), free(scale), free(bscale);
}

static const int64_t sizes[] = {1, 257, 4099};

static void check_sizes(const config *c) {
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) check(c, sizes[i]);
}

Test(optimizer, plain) {
  check_sizes(&(config){0.0f, 0.0f, false, false});
  check_sizes(&(config){0.0f, 5e-4f, false, true});
}

Test(optimizer, momentum) {
  check_sizes(&(config){0.9f, 0.0f, false, false});
  check_sizes(&(config){0.9f, 1e-3f, false, false});
}

Test(optimizer, nesterov) {
  check_sizes(&(config){0.9f, 5e-4f, true, false});
  check_sizes(&(config){0.5f, 0.0f, true, false});
}

/* One hand-computed case, independent of the reference: w = 1, grad = 2, wd 0.5, momentum 0.5,
 * lr 0.1 then 0.2. g = 2.5, buf = 2.5, w = 0.75 (nesterov: w = 1 - 0.1 (2.5 + 1.25) = 0.625);
 * then g = 2.375, buf = 1.25 + 2.375 = 3.625, w = 0.75 - 0.2 * 3.625 = 0.025 (nesterov:
 * g = 2.3125, buf = 3.5625, w = 0.625 - 0.2 (2.3125 + 0.5 * 3.5625) = -0.19375). */
Test(optimizer, by_hand) {
  rp_context *ctx = test_ctx();
  int64_t one = 1;
  rp_tensor w, grad, buf, hyper;
  ASSERT_OK(rp_tensor_create(ctx, 1, &one, &w));
  ASSERT_OK(rp_tensor_create(ctx, 1, &one, &grad));
  ASSERT_OK(rp_tensor_create(ctx, 1, &one, &buf));
  ASSERT_OK(rp_tensor_create_mapped(ctx, 1, &one, &hyper));
  for (int nesterov = 0; nesterov < 2; nesterov++) {
    ASSERT_OK(rp_tensor_upload(ctx, &w, (float[]){1.0f}));
    ASSERT_OK(rp_tensor_upload(ctx, &grad, (float[]){2.0f}));
    ASSERT_OK(rp_tensor_upload(ctx, &buf, (float[]){0.0f}));
    rp_recorder *rec = test_recorder();
    ASSERT_OK(rp_sgd_step(rec, &w, &grad, &buf, &hyper, 0.5f, 0.5f, nesterov));
    ASSERT_OK(rp_rec_end(rec));
    float got, want[2][2] = {{0.75f, 0.025f}, {0.625f, 0.625f - 0.2f * (2.3125f + 0.5f * 3.5625f)}};
    for (int s = 0; s < 2; s++) {
      *(float *)hyper.buffer.mapped = s ? 0.2f : 0.1f;
      ASSERT_OK(rp_rec_run(rec));
      ASSERT_OK(rp_tensor_download(ctx, &w, &got));
      cr_assert(fabsf(got - want[nesterov][s]) <= 4 * EPS,
                "nesterov %d, step %d: w = %.9g, "
                "want %.9g",
                nesterov, s, got, want[nesterov][s]);
    }
  }
  rp_tensor_destroy(ctx, &w), rp_tensor_destroy(ctx, &grad), rp_tensor_destroy(ctx, &buf);
  rp_tensor_destroy(ctx, &hyper);
}

Test(optimizer, bad_arguments_are_refused) {
  rp_context *ctx = test_ctx();
  rp_tensor w, g, small, hyper;
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){10}, &w));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){10}, &g));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){9}, &small));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){1}, &hyper));
  rp_recorder *rec = test_recorder();
  cr_assert_eq(rp_sgd_step(rec, &w, &small, &g, &hyper, 0.9f, 0, false), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), "sgd: 10 weights and 9 gradients");
  cr_assert_eq(rp_sgd_step(rec, &w, &g, NULL, &hyper, 0.9f, 0, false), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_sgd_step(rec, &w, &g, &small, &hyper, 0.9f, 0, false), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_sgd_step(rec, &w, &g, &small, &hyper, 0, 0, true), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), "sgd: nesterov needs a momentum above 0");
  cr_assert_eq(rp_sgd_step(rec, &w, &g, &small, &hyper, -0.1f, 0, false), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_sgd_step(rec, &w, &g, &small, &hyper, 0, -1e-4f, false), RP_ERR_INVALID_ARGUMENT);
  ASSERT_OK(rp_sgd_step(rec, &w, &g, NULL, &hyper, 0, 1e-4f, false));
  ASSERT_OK(rp_rec_end(rec));
  rp_tensor_destroy(ctx, &w), rp_tensor_destroy(ctx, &g), rp_tensor_destroy(ctx, &small);
  rp_tensor_destroy(ctx, &hyper);
}
