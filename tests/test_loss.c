/* rp_softmax_loss against the double reference (tests/ref/loss_ref.c) and against central
 * finite differences of that reference's batch loss; TaylorGLO checked also against closed
 * forms that do not go through the reference's polynomial.
 *
 * Tolerances (eps = FLT_EPSILON), from ref_loss_row_scales (the magnitudes each fp32 result is
 * computed from): loss 8 eps * loss_scale; gradient 8 eps * grad_scale / valid; true-class
 * probability 16 eps absolute; correct and padding rows exact. The reference's own gradient
 * agrees with its finite differences (h = 1e-5, double) to 1e-6 * grad_scale / valid plus the
 * rounding of the differenced losses. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/loss.h"
#include "ref/loss_ref.h"
#include "support/fixture.h"

TestSuite(loss, .fini = test_teardown);

#define EPS FLT_EPSILON

/* The GPU's stats [3, rows] and, when dlogits is not NULL, gradient [rows, n]. */
static void gpu_loss(const rp_loss *loss, const float *logits, const uint32_t *labels, int rows,
                     int n, uint32_t valid, float *stats, float *dlogits) {
  guarded gz = guarded_create(2, (int64_t[]){rows, n});
  guarded gl = guarded_create(1, (int64_t[]){rows});
  guarded gs = guarded_create(2, (int64_t[]){RP_LOSS_STATS, rows});
  guarded gd = guarded_create(2, (int64_t[]){rows, n});
  gl.view.dtype = RP_U32;
  float *label_bits = malloc((size_t)rows * sizeof *label_bits);
  memcpy(label_bits, labels, (size_t)rows * sizeof *labels);
  guarded_upload(&gz, logits);
  guarded_upload(&gl, label_bits);
  /* junk, as big as either output: every element must be overwritten */
  size_t junk_n = (size_t)rows * (size_t)(n > RP_LOSS_STATS ? n : RP_LOSS_STATS);
  float *junk = malloc(junk_n * sizeof *junk);
  for (size_t i = 0; i < junk_n; i++) junk[i] = NAN;
  guarded_upload(&gs, junk);
  guarded_upload(&gd, junk);
  free(junk);
  rp_recorder *rec = test_recorder();
  ASSERT_OK(
      rp_softmax_loss(rec, loss, &gz.view, &gl.view, valid, &gs.view, dlogits ? &gd.view : NULL));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  guarded_download(&gs, stats);
  if (dlogits) guarded_download(&gd, dlogits);
  guarded_destroy(&gz), guarded_destroy(&gl), guarded_destroy(&gs), guarded_destroy(&gd);
  free(label_bits);
}

typedef struct worst {
  double loss, grad, fd; /* largest error / tolerance seen */
} worst;

static worst worst_seen;

static void note(double *w, double err, double tol) {
  if (err / tol > *w) *w = err / tol;
}

/* Labels of `rows - valid` padding rows (at the end when `tail`, else spread out) and real
 * labels elsewhere; padding labels vary (n, beyond n, UINT32_MAX). */
static void make_labels(uint32_t *labels, int rows, int n, uint32_t valid, bool tail,
                        uint32_t seed) {
  float *r = malloc((size_t)rows * sizeof *r);
  fill_random(r, rows, seed);
  for (int i = 0; i < rows; i++) labels[i] = (uint32_t)((r[i] + 1.0f) * 0.5f * (float)n) % n;
  static const uint32_t pad[] = {0, 3, UINT32_MAX}; /* added to n */
  int padding = rows - (int)valid;
  for (int k = 0; k < padding; k++) {
    int i = tail ? rows - 1 - k : (int)(((int64_t)k * rows) / padding + 1) % rows;
    labels[i] = pad[k % 3] == UINT32_MAX ? UINT32_MAX : (uint32_t)n + pad[k % 3];
  }
  free(r);
}

/* One batch against the reference (every element) and finite differences (`fd` elements,
 * spread over the batch). */
static void check_batch(const rp_loss *loss, int rows, int n, uint32_t valid, bool tail,
                        float scale, uint32_t seed, int fd) {
  size_t total = (size_t)rows * n;
  float *z = malloc(total * sizeof *z), *stats = malloc(3 * (size_t)rows * sizeof *stats);
  float *grad = malloc(total * sizeof *grad);
  uint32_t *labels = malloc((size_t)rows * sizeof *labels);
  double *rstats = malloc(3 * (size_t)rows * sizeof *rstats);
  double *rgrad = malloc(total * sizeof *rgrad), *zd = malloc(total * sizeof *zd);
  fill_random(z, (int64_t)total, seed);
  for (size_t i = 0; i < total; i++) z[i] *= scale, zd[i] = z[i];
  make_labels(labels, rows, n, valid, tail, seed + 1);
  gpu_loss(loss, z, labels, rows, n, valid, stats, grad);
  ref_softmax_loss(loss, z, labels, rows, n, valid, rstats, rgrad);

  double sum_abs_loss = 0;
  for (int r = 0; r < rows; r++) {
#define what "kind %d, %dx%d (valid %u, scale %g), row %d: %s %.9g, reference %.9g"
#define ARGS(name, i) (int)loss->kind, rows, n, valid, (double)scale, r, name, stats[i], rstats[i]
    if (labels[r] >= (uint32_t)n) {
      for (int s = 0; s < 3; s++) cr_assert(stats[s * rows + r] == 0.0f, what, ARGS("pad", r));
      for (int k = 0; k < n; k++)
        cr_assert(grad[(size_t)r * n + k] == 0.0f, "padding row %d: gradient %d is %g", r, k,
                  grad[(size_t)r * n + k]);
      continue;
    }
    double ls, gs;
    ref_loss_row_scales(loss, zd + (size_t)r * n, n, labels[r], &ls, &gs);
    double tol = 8 * EPS * ls;
    sum_abs_loss += fabs(rstats[r]);
    note(&worst_seen.loss, fabs(stats[r] - rstats[r]), tol);
    cr_assert(fabs(stats[r] - rstats[r]) <= tol, what, ARGS("loss", r));
    cr_assert(stats[rows + r] == rstats[rows + r], what, ARGS("correct", rows + r));
    cr_assert(fabs(stats[2 * rows + r] - rstats[2 * rows + r]) <= 16 * EPS, what,
              ARGS("true prob", 2 * rows + r));
#undef ARGS
#undef what
    tol = 8 * EPS * gs / valid;
    for (int k = 0; k < n; k++) {
      size_t i = (size_t)r * n + k;
      note(&worst_seen.grad, fabs(grad[i] - rgrad[i]), tol);
      cr_assert(fabs(grad[i] - rgrad[i]) <= tol,
                "kind %d, %dx%d (valid %u), dz[%d, %d] = %.9g, reference %.9g (tol %.3g)",
                (int)loss->kind, rows, n, valid, r, k, grad[i], rgrad[i], tol);
    }
  }

  /* central differences of the batch loss (mean over the valid rows) */
  const double h = 1e-5;
  size_t stride = total / (size_t)fd > 0 ? total / (size_t)fd : 1;
  for (size_t i = seed % stride; i < total; i += stride) {
    int r = (int)(i / (size_t)n);
    double keep = zd[i];
    zd[i] = keep + h;
    double up = ref_mean_loss(loss, zd, labels, rows, n, valid);
    zd[i] = keep - h;
    double down = ref_mean_loss(loss, zd, labels, rows, n, valid);
    zd[i] = keep;
    double numeric = (up - down) / (2 * h), gs = 1, ls;
    if (labels[r] < (uint32_t)n)
      ref_loss_row_scales(loss, zd + (size_t)r * n, n, labels[r], &ls, &gs);
    double fd_tol = 1e-6 * gs / valid + 1e-15 * (1 + sum_abs_loss / valid) / h;
    note(&worst_seen.fd, fabs(rgrad[i] - numeric), fd_tol);
    cr_assert(fabs(rgrad[i] - numeric) <= fd_tol,
              "kind %d, %dx%d: reference dz[%zu] = %.12g, finite difference %.12g", (int)loss->kind,
              rows, n, i, rgrad[i], numeric);
    double tol = fd_tol + 8 * EPS * gs / valid;
    cr_assert(fabs(grad[i] - numeric) <= tol,
              "kind %d, %dx%d: dz[%zu] = %.9g, finite difference %.9g (tol %.3g)", (int)loss->kind,
              rows, n, i, grad[i], numeric, tol);
  }
  free(z), free(stats), free(grad), free(labels), free(rstats), free(rgrad), free(zd);
}

/* The shapes every loss is run on: B = 1, odd batches with padding at the end and spread out,
 * n = 10 and 100, logits in [-4, 4) and in [-80, 80); and n = 1 (one class: the loss is
 * constant), a prime, and one less and one more than a workgroup's 128 invocations. */
static void check_all_shapes(const rp_loss *loss) {
  worst_seen = (worst){0, 0, 0};
  check_batch(loss, 3, 1, 3, true, 4.0f, 10, 3);
  check_batch(loss, 5, 7, 4, false, 80.0f, 11, 35);
  check_batch(loss, 9, 127, 8, true, 8.0f, 12, 60);
  check_batch(loss, 6, 129, 5, false, 4.0f, 13, 60);
  check_batch(loss, 1, 10, 1, true, 4.0f, 1, 10);
  check_batch(loss, 1, 100, 1, true, 80.0f, 2, 100);
  check_batch(loss, 7, 10, 5, true, 4.0f, 3, 70);
  check_batch(loss, 37, 100, 31, false, 4.0f, 4, 300);
  check_batch(loss, 37, 100, 37, false, 80.0f, 5, 300);
  check_batch(loss, 128, 10, 128, true, 80.0f, 6, 200);
  check_batch(loss, 1024, 10, 1000, true, 4.0f, 7, 40);
  check_batch(loss, 1024, 100, 1017, false, 8.0f, 8, 20);
  cr_log_info("kind %d: worst error / tolerance: loss %.3f, gradient %.3f, reference vs finite "
              "differences %.3f",
              (int)loss->kind, worst_seen.loss, worst_seen.grad, worst_seen.fd);
}

static const float mnist_loss[8] = {8.2896f, 0.2415f, 7.8726f,   8.9666f,
                                    2.0184f, 7.0513f, -10.9408f, 7.5216f};
static const float earlier_loss[8] = {1.5742f,  -1.4446f, 2.3616f, -0.6632f,
                                      -2.8569f, -1.1313f, 0.8439f, 1.4872f};
/* taylorglo.md §3: cross-entropy's order-3 expansion about (0.5, 0.5) */
static const float worked_example[8] = {1.0f, -1.0f, 4.0f / 3.0f, 2.0f, -2.0f, 0.0f, 0.5f, 0.5f};

Test(loss, cross_entropy) { check_all_shapes(&(rp_loss){.kind = RP_LOSS_CE}); }

Test(loss, label_smoothing) {
  check_all_shapes(&(rp_loss){.kind = RP_LOSS_LS, .alpha = 0.1f});
  check_batch(&(rp_loss){.kind = RP_LOSS_LS, .alpha = 0.9f}, 37, 100, 37, false, 80.0f, 9, 100);
}

Test(loss, taylorglo) {
  rp_loss l = {.kind = RP_LOSS_TAYLORGLO};
  memcpy(l.theta, mnist_loss, sizeof l.theta);
  check_all_shapes(&l);
  memcpy(l.theta, earlier_loss, sizeof l.theta);
  check_all_shapes(&l);
  memcpy(l.theta, worked_example, sizeof l.theta);
  check_all_shapes(&l);
}

/* On a device that allows 4 workgroups along x (65,535 on Intel's and Mesa's drivers), a
 * workgroup per row spread over x and y (rp_grid_1d): those past the last row must write
 * nothing, or a phantom row's loss lands in the statistics. */
Test(loss, few_workgroups_along_x) {
  test_limit_workgroups(4, 0);
  check_all_shapes(&(rp_loss){.kind = RP_LOSS_CE});
}

/* Closed forms that do not go through the reference's polynomial. */
Test(loss, taylorglo_closed_forms) {
  const int rows = 6, n = 10;
  float z[60], stats[18], grad[60];
  uint32_t labels[6] = {0, 3, 9, 5, 5, 1};
  fill_random(z, (int64_t)rows * n, 21);
  for (int i = 0; i < rows * n; i++) z[i] *= 3.0f;

  /* f = x y (a4 = 1): L = -y_t, dL/dz_k = -y_t (x_k - y_k) */
  rp_loss l = {.kind = RP_LOSS_TAYLORGLO, .theta = {0, 0, 0, 1, 0, 0, 0, 0}};
  gpu_loss(&l, z, labels, rows, n, rows, stats, grad);
  for (int r = 0; r < rows; r++) {
    double m = -INFINITY, s = 0, y[10];
    for (int j = 0; j < n; j++) m = fmax(m, z[r * n + j]);
    for (int j = 0; j < n; j++) s += y[j] = exp(z[r * n + j] - m);
    for (int j = 0; j < n; j++) y[j] /= s;
    double yt = y[labels[r]];
    cr_assert(fabs(stats[r] + yt) <= 8 * EPS, "row %d: loss %.9g, want %.9g", r, stats[r], -yt);
    for (int k = 0; k < n; k++) {
      double want = -yt * ((k == (int)labels[r]) - y[k]) / rows;
      cr_assert(fabs(grad[r * n + k] - want) <= 8 * EPS / rows, "row %d: dz %d = %.9g, want %.9g",
                r, k, grad[r * n + k], want);
    }
  }

  /* f = y (a1 = 1): L = -sum y = -1 whatever the logits, so the gradient is 0 */
  l = (rp_loss){.kind = RP_LOSS_TAYLORGLO, .theta = {1, 0, 0, 0, 0, 0, 0, 0}};
  gpu_loss(&l, z, labels, rows, n, rows, stats, grad);
  for (int r = 0; r < rows; r++) cr_assert(fabs(stats[r] + 1) <= 16 * EPS, "row %d", r);
  for (int i = 0; i < rows * n; i++) cr_assert(fabs(grad[i]) <= 8 * EPS, "dz %d = %g", i, grad[i]);

  /* §3 worked example at the null epoch (all y = 1/10): f'(1, 1/n) = A = 4.24 and
   * f'(0, 1/n) = B = 0.64, so dz_t = -0.1 * 0.9 * (A - B) and dz_other = 0.1 * 0.1 * (A - B),
   * each over the 3 valid rows. */
  memcpy(l.theta, worked_example, sizeof l.theta);
  memset(z, 0, sizeof z);
  uint32_t null_labels[6] = {2, 10, 7, 10, 0, 10};
  gpu_loss(&l, z, null_labels, rows, n, 3, stats, grad);
  for (int r = 0; r < rows; r++)
    for (int k = 0; null_labels[r] < 10 && k < n; k++) {
      double want = (k == (int)null_labels[r] ? -0.09 * 3.6 : 0.01 * 3.6) / 3;
      cr_assert(fabs(grad[r * n + k] - want) <= 68 * EPS, "row %d: dz %d = %.9g, want %.9g", r, k,
                grad[r * n + k], want);
    }

  /* Near y = 1/2 the worked example is cross-entropy to third order, so with n = 2 and
   * logits of +-1e-3 its gradient is cross-entropy's, y - x, to O(1e-6). */
  float z2[12];
  uint32_t labels2[6] = {0, 1, 1, 0, 1, 0};
  fill_random(z2, 12, 22);
  for (int i = 0; i < 12; i++) z2[i] *= 1e-3f;
  float g_taylor[12], g_ce[12];
  gpu_loss(&l, z2, labels2, 6, 2, 6, stats, g_taylor);
  gpu_loss(&(rp_loss){.kind = RP_LOSS_CE}, z2, labels2, 6, 2, 6, stats, g_ce);
  for (int i = 0; i < 12; i++)
    cr_assert(fabs(g_taylor[i] - g_ce[i]) <= 1e-5 / 6, "dz %d: TaylorGLO %.9g, CE %.9g", i,
              g_taylor[i], g_ce[i]);
}

Test(loss, label_smoothing_alpha_0_is_cross_entropy) {
  const int rows = 37, n = 100;
  const size_t total = (size_t)rows * n;
  float *z = malloc(total * sizeof *z), *g_ce = malloc(total * sizeof *g_ce);
  float *g_ls = malloc(total * sizeof *g_ls), s_ce[3 * 37], s_ls[3 * 37];
  uint32_t labels[37];
  fill_random(z, (int64_t)total, 31);
  for (int i = 0; i < rows * n; i++) z[i] *= 20.0f;
  make_labels(labels, rows, n, 33, false, 32);
  gpu_loss(&(rp_loss){.kind = RP_LOSS_CE}, z, labels, rows, n, 33, s_ce, g_ce);
  gpu_loss(&(rp_loss){.kind = RP_LOSS_LS, .alpha = 0.0f}, z, labels, rows, n, 33, s_ls, g_ls);
  for (int i = 0; i < 3 * rows; i++)
    cr_assert(fabsf(s_ce[i] - s_ls[i]) <= 2 * EPS * fabsf(s_ce[i]), "stat %d: %.9g vs %.9g", i,
              s_ce[i], s_ls[i]);
  for (int i = 0; i < rows * n; i++)
    cr_assert(fabsf(g_ce[i] - g_ls[i]) <= 2 * EPS, "dz %d: %.9g vs %.9g", i, g_ce[i], g_ls[i]);
  free(z), free(g_ce), free(g_ls);
}

/* Extreme logits: the true class 160 below the rest (its probability underflows in fp32, the
 * loss must not), ties, and rows whose argmax is tied with the label's. */
Test(loss, stability_and_ties) {
  const int rows = 5, n = 10;
  float z[50], stats[15], grad[50];
  double rstats[15], rgrad[50];
  uint32_t labels[5] = {0, 4, 0, 7, 3};
  for (int j = 0; j < n; j++) {
    z[0 * n + j] = j == 0 ? -80.0f : 80.0f;         /* label at the bottom */
    z[1 * n + j] = j == 4 ? 80.0f : -80.0f;         /* label alone at the top */
    z[2 * n + j] = 1.5f;                            /* all tied: argmax 0, the label */
    z[3 * n + j] = j == 3 || j == 7 ? 2.0f : -1.0f; /* tie between 3 and 7: argmax 3, label 7 */
    z[4 * n + j] = j == 3 || j == 7 ? 2.0f : -1.0f; /* same, label 3 */
  }
  rp_loss losses[] = {
      {.kind = RP_LOSS_CE}, {.kind = RP_LOSS_LS, .alpha = 0.2f}, {.kind = RP_LOSS_TAYLORGLO}};
  memcpy(losses[2].theta, mnist_loss, sizeof losses[2].theta);
  for (int t = 0; t < 3; t++) {
    gpu_loss(&losses[t], z, labels, rows, n, rows, stats, grad);
    ref_softmax_loss(&losses[t], z, labels, rows, n, rows, rstats, rgrad);
    static const float correct[5] = {0, 1, 1, 0, 1};
    for (int r = 0; r < rows; r++) {
      cr_assert(isfinite(stats[r]), "kind %d row %d: loss %g", t, r, stats[r]);
      cr_assert(stats[rows + r] == correct[r], "kind %d row %d: correct %g", t, r, stats[rows + r]);
      cr_assert(fabs(stats[r] - rstats[r]) <= 8 * EPS * (1 + fabs(rstats[r])),
                "kind %d row %d: loss %.9g, reference %.9g", t, r, stats[r], rstats[r]);
    }
    for (int i = 0; i < rows * n; i++) {
      double zd[10], ls, gs;
      for (int j = 0; j < n; j++) zd[j] = z[i / n * n + j];
      ref_loss_row_scales(&losses[t], zd, n, labels[i / n], &ls, &gs);
      cr_assert(isfinite(grad[i]) && fabs(grad[i] - rgrad[i]) <= 8 * EPS * gs / rows,
                "kind %d: dz %d = %.9g, reference %.9g", t, i, grad[i], rgrad[i]);
    }
  }
  /* CE of row 0: 160 + log(9) (+ e^-160) */
  gpu_loss(&losses[0], z, labels, rows, n, rows, stats, grad);
  cr_assert(fabs(stats[0] - (160.0 + log(9.0))) <= 8 * EPS * 160, "loss %.9g", stats[0]);
}

/* Rows of 200 classes, more than a workgroup's invocations (128), so that one invocation
 * holds several classes and the argmax goes through its tree: a tie within one invocation
 * (classes 0 and 128) and one where the lower class is in the tree's upper half (64 and 128),
 * the first being the argmax; a NaN beside the maximum in one invocation (5 and 133), which
 * does not count as it; logits near -FLT_MAX throughout (argmax 0). The correct-prediction
 * statistic as the reference has it, and the loss where it is finite. */
Test(loss, argmax_over_rows_longer_than_a_workgroup) {
  enum { ROWS = 4, N = 200 };
  static float z[ROWS * N], stats[3 * ROWS], grad[ROWS * N];
  static double rstats[3 * ROWS], rgrad[ROWS * N];
  uint32_t labels[ROWS] = {0, 64, 5, 0};
  for (int j = 0; j < N; j++) {
    z[0 * N + j] = j == 0 || j == 128 ? 2.0f : -1.0f;
    z[1 * N + j] = j == 64 || j == 128 ? 2.0f : -1.0f;
    z[2 * N + j] = j == 5 ? 3.0f : j == 133 ? NAN : -1.0f;
    z[3 * N + j] = -3.4e38f;
  }
  rp_loss ce = {.kind = RP_LOSS_CE};
  gpu_loss(&ce, z, labels, ROWS, N, ROWS, stats, grad);
  ref_softmax_loss(&ce, z, labels, ROWS, N, ROWS, rstats, rgrad);
  static const double correct[ROWS] = {1, 1, 1, 1};
  for (int r = 0; r < ROWS; r++) {
    cr_assert_eq(rstats[ROWS + r], correct[r], "the reference: row %d correct %g", r,
                 rstats[ROWS + r]);
    cr_assert_eq(stats[ROWS + r], correct[r], "row %d: correct %g", r, stats[ROWS + r]);
    if (isfinite(rstats[r]))
      cr_assert(fabs(stats[r] - rstats[r]) <= 8 * EPS * (1 + fabs(rstats[r])),
                "row %d: loss %.9g, reference %.9g", r, stats[r], rstats[r]);
  }
}

Test(loss, stats_without_gradient) {
  const int rows = 19, n = 100;
  const size_t total = (size_t)rows * n;
  float *z = malloc(total * sizeof *z), *grad = malloc(total * sizeof *grad);
  float with[57], without[57];
  uint32_t labels[19];
  fill_random(z, (int64_t)total, 41);
  make_labels(labels, rows, n, 17, true, 42);
  rp_loss l = {.kind = RP_LOSS_TAYLORGLO};
  memcpy(l.theta, earlier_loss, sizeof l.theta);
  gpu_loss(&l, z, labels, rows, n, 17, with, grad);
  gpu_loss(&l, z, labels, rows, n, 17, without, NULL);
  for (int i = 0; i < 3 * rows; i++)
    cr_assert(with[i] == without[i], "stat %d: %.9g with the gradient, %.9g without", i, with[i],
              without[i]);
  free(z), free(grad);
}

Test(loss, paper_to_code) {
  const float paper[8] = {1.5f, -3.0f, 12.0f, 0.25f, 5.0f, -7.0f, 0.75f, -0.5f};
  const float want[8] = {1.5f, -1.5f, 2.0f, 0.25f, 2.5f, -3.5f, 0.75f, -0.5f};
  float code[8], in_place[8];
  double pd[8], cd[8];
  rp_taylorglo_paper_to_code(paper, code);
  memcpy(in_place, paper, sizeof in_place);
  rp_taylorglo_paper_to_code(in_place, in_place);
  for (int i = 0; i < 8; i++) pd[i] = paper[i];
  ref_taylorglo_paper_to_code(pd, cd);
  for (int i = 0; i < 8; i++) {
    cr_assert(code[i] == want[i] && in_place[i] == want[i] && cd[i] == want[i],
              "parameter %d: %g (in place %g, reference %g), want %g", i, code[i], in_place[i],
              cd[i], want[i]);
  }
  /* The paper's f (with 1/2! and 1/3!) at the converted parameters is the code's f: compare
   * the loss of a row computed from the paper's formula with the reference's. */
  const int n = 10;
  double z[10], y[10], s = 0, paper_loss = 0;
  float zf[10];
  fill_random(zf, n, 51);
  for (int j = 0; j < n; j++) s += exp(z[j] = 2.0 * zf[j]);
  for (int j = 0; j < n; j++) y[j] = exp(z[j]) / s;
  for (int j = 0; j < n; j++) {
    double u = y[j] - pd[7], v = (j == 4) - pd[6];
    paper_loss -= pd[0] * u + pd[1] / 2 * u * u + pd[2] / 6 * u * u * u + pd[3] * v * u +
                  pd[4] / 2 * v * u * u + pd[5] / 2 * v * v * u;
  }
  rp_loss l = {.kind = RP_LOSS_TAYLORGLO};
  memcpy(l.theta, code, sizeof l.theta);
  double code_loss = ref_loss_row(&l, z, n, 4, NULL, NULL, NULL);
  cr_assert(fabs(code_loss - paper_loss) <= 1e-12 * (1 + fabs(paper_loss)), "%.15g vs %.15g",
            code_loss, paper_loss);
}

Test(loss, bad_arguments_are_refused) {
  rp_context *ctx = test_ctx();
  rp_tensor z, labels, stats, wrong;
  ASSERT_OK(rp_tensor_create(ctx, 2, (int64_t[]){4, 10}, &z));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){4}, &labels));
  ASSERT_OK(rp_tensor_create(ctx, 2, (int64_t[]){3, 4}, &stats));
  ASSERT_OK(rp_tensor_create(ctx, 2, (int64_t[]){4, 9}, &wrong));
  rp_recorder *rec = test_recorder();
  rp_loss ce = {.kind = RP_LOSS_CE};
  cr_assert_eq(rp_softmax_loss(rec, &ce, &z, &labels, 4, &stats, NULL), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(),
                   "softmax_loss: labels of shape [4] (F32) for logits [4, 10], want U32 [4]");
  labels.dtype = RP_U32;
  cr_assert_eq(rp_softmax_loss(rec, &ce, &z, &labels, 5, &stats, NULL), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(),
                   "softmax_loss: 5 valid rows in a batch of 4 (want 1 to the batch size)");
  cr_assert_eq(rp_softmax_loss(rec, &ce, &z, &labels, 0, &stats, NULL), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_softmax_loss(rec, &ce, &z, &labels, 4, &stats, &wrong), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_softmax_loss(rec, &ce, &z, &labels, 4, &wrong, NULL), RP_ERR_INVALID_ARGUMENT);
  rp_loss ls = {.kind = RP_LOSS_LS, .alpha = 1.5f};
  cr_assert_eq(rp_softmax_loss(rec, &ls, &z, &labels, 4, &stats, NULL), RP_ERR_INVALID_ARGUMENT);
  rp_loss tg = {.kind = RP_LOSS_TAYLORGLO, .theta = {NAN}};
  cr_assert_eq(rp_softmax_loss(rec, &tg, &z, &labels, 4, &stats, NULL), RP_ERR_INVALID_ARGUMENT);
  ASSERT_OK(rp_softmax_loss(rec, &ce, &z, &labels, 4, &stats, NULL));
  ASSERT_OK(rp_rec_end(rec));
  rp_tensor_destroy(ctx, &z), rp_tensor_destroy(ctx, &labels), rp_tensor_destroy(ctx, &stats);
  rp_tensor_destroy(ctx, &wrong);
}
