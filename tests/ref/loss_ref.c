#include "ref/loss_ref.h"

#include <math.h>
#include <stdlib.h>

/* f(x, y) of the code convention, with u = y - theta1 and v = x - theta0, written term by
 * term as in taylorglo.md §1, and df/dy. */
static double taylor_f(const float *t, double x, double y) {
  double u = y - t[7], v = x - t[6];
  return t[0] * u + t[1] * u * u + t[2] * u * u * u + t[3] * v * u + t[4] * v * u * u +
         t[5] * v * v * u;
}

static double taylor_df(const float *t, double x, double y) {
  double u = y - t[7], v = x - t[6];
  return t[0] + 2 * t[1] * u + 3 * t[2] * u * u + t[3] * v + 2 * t[4] * v * u + t[5] * v * v;
}

/* argmax (first maximum) of z[n] and y = softmax(z); returns log sum exp(z - max), the
 * log-sum-exp less the maximum: added back, the maximum would swallow it where it is far from
 * 0 (log(200) beside -3.4e38), and the loss with it. */
static double softmax(const double *z, int n, int *argmax, double *y) {
  double m = z[0];
  int arg = 0;
  for (int j = 1; j < n; j++)
    if (z[j] > m) m = z[j], arg = j;
  double s = 0;
  for (int j = 0; j < n; j++) s += exp(z[j] - m);
  for (int j = 0; j < n; j++) y[j] = exp(z[j] - m) / s;
  *argmax = arg;
  return log(s);
}

double ref_loss_row(const rp_loss *loss, const double *z, int n, uint32_t label, double *correct,
                    double *true_prob, double *grad) {
  double *y = malloc((size_t)n * sizeof *y);
  int arg;
  double log_s = softmax(z, n, &arg, y), l = 0;
  if (correct) *correct = arg == (int)label;
  if (true_prob) *true_prob = y[label];
  if (loss->kind == RP_LOSS_TAYLORGLO) {
    double dot = 0;
    for (int j = 0; j < n; j++) {
      double x = j == (int)label;
      l -= taylor_f(loss->theta, x, y[j]);
      dot += y[j] * taylor_df(loss->theta, x, y[j]);
    }
    /* dL/dz_k = -sum_j f'_j dy_j/dz_k = -y_k (f'_k - sum_j y_j f'_j) */
    for (int k = 0; grad && k < n; k++)
      grad[k] = -y[k] * (taylor_df(loss->theta, k == (int)label, y[k]) - dot);
  } else {
    double alpha = loss->kind == RP_LOSS_LS ? loss->alpha : 0.0;
    for (int j = 0; j < n; j++) {
      double t = (1 - alpha) * (j == (int)label) + alpha / n;
      l -= t * ((z[j] - z[arg]) - log_s); /* -t_j log y_j */
      if (grad) grad[j] = y[j] - t;
    }
  }
  free(y);
  return l;
}

void ref_loss_row_scales(const rp_loss *loss, const double *z, int n, uint32_t label,
                         double *loss_scale, double *grad_scale) {
  double *y = malloc((size_t)n * sizeof *y);
  int arg;
  softmax(z, n, &arg, y);
  double m = z[arg], ls = 1, gs = 1;
  if (loss->kind == RP_LOSS_TAYLORGLO) {
    /* every term of f, and the loss's sensitivity to an error in y of the order of y */
    const float *t = loss->theta;
    double dot = 0, max_df = 0;
    for (int j = 0; j < n; j++) {
      double u = fabs(y[j] - t[7]) + fabs(t[7]), v = fabs((j == (int)label) - t[6]) + fabs(t[6]);
      double df = fabs(t[0]) + 2 * fabs(t[1]) * u + 3 * fabs(t[2]) * u * u + fabs(t[3]) * v +
                  2 * fabs(t[4]) * v * u + fabs(t[5]) * v * v;
      ls += u * (fabs(t[0]) + fabs(t[1]) * u + fabs(t[2]) * u * u + fabs(t[3]) * v +
                 fabs(t[4]) * v * u + fabs(t[5]) * v * v) +
            y[j] * df;
      dot += y[j] * df;
      if (df > max_df) max_df = df;
    }
    gs += max_df + dot;
  } else {
    double alpha = loss->kind == RP_LOSS_LS ? loss->alpha : 0.0;
    ls += (1 - alpha) * (fabs(m) + fabs(z[label]));
    for (int j = 0; alpha > 0 && j < n; j++) ls += alpha / n * (fabs(m) + fabs(z[j]));
  }
  free(y);
  *loss_scale = ls;
  *grad_scale = gs;
}

void ref_softmax_loss(const rp_loss *loss, const float *logits, const uint32_t *labels, int rows,
                      int n, uint32_t valid, double *stats, double *dlogits) {
  double *z = malloc((size_t)n * sizeof *z);
  for (int r = 0; r < rows; r++) {
    double *g = dlogits ? dlogits + (size_t)r * n : NULL;
    double *st = stats + r;
    if (labels[r] >= (uint32_t)n) {
      st[0] = st[rows] = st[(size_t)2 * rows] = 0;
      for (int k = 0; g && k < n; k++) g[k] = 0;
      continue;
    }
    for (int j = 0; j < n; j++) z[j] = logits[(size_t)r * n + j];
    st[0] = ref_loss_row(loss, z, n, labels[r], &st[rows], &st[(size_t)2 * rows], g);
    for (int k = 0; g && k < n; k++) g[k] /= valid;
  }
  free(z);
}

double ref_mean_loss(const rp_loss *loss, const double *logits, const uint32_t *labels, int rows,
                     int n, uint32_t valid) {
  double sum = 0;
  for (int r = 0; r < rows; r++)
    if (labels[r] < (uint32_t)n)
      sum += ref_loss_row(loss, logits + (size_t)r * n, n, labels[r], NULL, NULL, NULL);
  return sum / valid;
}

void ref_taylorglo_paper_to_code(const double paper[8], double code[8]) {
  static const double factor[8] = {1, 2, 6, 1, 2, 2, 1, 1}; /* 1/2! and 1/3! of §1 */
  for (int i = 0; i < 8; i++) code[i] = paper[i] / factor[i];
}
