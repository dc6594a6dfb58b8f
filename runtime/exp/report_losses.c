/* Loss shapes in an experiment's report (exp/report_parts.h): each loss as a function of the
 * target class's probability p, the other n-1 classes sharing 1-p (what a network can move the
 * loss along), and for TaylorGLO losses what meta/taylorglo.h derives: fixed points and the
 * invariants. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp/figures.h"
#include "exp/files.h"
#include "exp/report_parts.h"
#include "meta/taylorglo.h"
#include "train/loss_spec.h"

#define POINTS 199 /* p = 0.005 ... 0.995 */

static double grid_p(int i) { return 0.005 * (i + 1); }

/* The per-sample loss of `loss` at target probability p (one-hot label). */
static double loss_at(const rp_loss *loss, const rp_taylorglo *t, int n, double p) {
  double q = (1 - p) / (n - 1);
  if (loss->kind == RP_LOSS_TAYLORGLO) {
    double value, grad;
    rp_taylorglo_curve_point(t, n, p, &value, &grad);
    return value;
  }
  double alpha = loss->kind == RP_LOSS_LS ? loss->alpha : 0;
  double target = 1 - alpha + alpha / n, other = alpha / n;
  return -(target * log(p) + (n - 1) * other * log(q));
}

/* The code-convention TaylorGLO loss of a canonical "taylorglo:..." text. */
static rp_status parse_taylorglo(const char *text, rp_taylorglo *t) {
  double g[RP_TGLO_GENOME];
  rp_status st = rp_taylorglo_parse_genome(text + strlen("taylorglo:"), g);
  if (!st) *t = rp_taylorglo_from_genome(g, RP_TGLO_CODE);
  return st;
}

static void analysis_row(rp_text *md, const char *label, const rp_taylorglo *t, int n,
                         double lowest) {
  rp_tglo_analysis a;
  if (rp_taylorglo_analyze(t, n, &a)) return;
  rp_text_put(md, "| %s | %.3f | ", label, lowest);
  int stable = 0;
  for (int k = 0; k < a.fixed_count; k++)
    if (a.fixed_stable[k]) rp_text_put(md, "%s%.4f", stable++ ? ", " : "", a.fixed[k]);
  if (a.fixed_degenerate)
    rp_text_put(md, "every p");
  else if (!stable)
    rp_text_put(md, "none in (0, 1)");
  rp_text_put(md, " | %.4g | %s (%.5g %s %.5g) | %s (%.5g %s %.5g) |\n", a.D_end,
              a.code_valid ? "holds" : "violated", a.code_lhs, a.code_valid ? "≥" : "<", a.code_rhs,
              a.softmax_valid ? "holds" : "violated", a.A, a.softmax_valid ? ">" : "≤", a.B);
}

rp_status rp_exp_report_loss_shapes(const char *dir, const char *const *labels,
                                    const char *const *losses, int count, int classes, bool plots,
                                    rp_text *md, bool *figure) {
  *figure = false;
  if (count <= 0) return RP_OK;
  double *xs = calloc(POINTS, sizeof *xs);
  double *ys = calloc((size_t)count * POINTS, sizeof *ys);
  rp_series *series = calloc((size_t)count, sizeof *series);
  if (!xs || !ys || !series) {
    free(xs);
    free(ys);
    free(series);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  }
  rp_status st = RP_OK;
  for (int i = 0; i < POINTS; i++) xs[i] = grid_p(i);
  int lines = 0, tglo = 0;
  for (int k = 0; k < count && !st; k++) {
    rp_loss loss;
    rp_taylorglo t = {0};
    if (rp_loss_parse(losses[k], false, &loss) != RP_OK) continue; /* not drawable: skip */
    if (loss.kind == RP_LOSS_TAYLORGLO && parse_taylorglo(losses[k], &t) != RP_OK) continue;
    double *y = ys + (size_t)lines * POINTS, lo = INFINITY, lowest = NAN;
    for (int i = 0; i < POINTS; i++) {
      y[i] = loss_at(&loss, &t, classes, grid_p(i));
      if (isfinite(y[i]) && y[i] < lo) lo = y[i], lowest = grid_p(i);
    }
    /* Scaled to [0, 1]: TaylorGLO losses span from 1e-2 to 1e5, and the shape (where the
     * minimum is) is what compares. */
    rp_series_scale_to_unit(y, POINTS);
    series[lines++] = (rp_series){labels[k], xs, y, POINTS};
    if (loss.kind != RP_LOSS_TAYLORGLO) continue;
    if (!tglo++)
      rp_text_put(md,
                  "\n## TaylorGLO loss shapes\n\n"
                  "With the target probability p and the other %d classes at (1-p)/%d: where "
                  "the loss is lowest; the stable fixed points p* where the target logit's "
                  "gradient vanishes (training pushes p towards them, below 1: a regularizer); "
                  "D_end = f'(1,1) - f'(0,0); both invariants (taylorglo.md §3) with their two "
                  "sides.\n\n"
                  "| loss | lowest at p | stable p* | D_end | code invariant | softmax "
                  "invariant |\n|---|---|---|---|---|---|\n",
                  classes - 1, classes - 1);
    analysis_row(md, labels[k], &t, classes, lowest);
  }
  if (!st && plots && lines) {
    char path[4096];
    snprintf(path, sizeof path, "%s/figures", dir);
    st = rp_exp_mkdirs(path);
    snprintf(path, sizeof path, "%s/figures/loss_shapes.svg", dir);
    if (!st)
      st = rp_plot_lines(path, "Loss vs target probability (each scaled to [0, 1])",
                         "target-class probability p", "scaled loss", series, lines);
    *figure = !st;
  }
  free(xs);
  free(ys);
  free(series);
  return st;
}
