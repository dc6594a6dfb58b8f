/* TaylorGLO losses (Gonzalez & Miikkulainen) analysed without training: the learning-rule
 * decomposition of a 3rd-order TaylorGLO loss, where training starts and ends, its fixed points,
 * the invariant used to prune candidates, label smoothing as a map inside the family, and
 * loss-shape curves, following the project's reference notes (docs/taylorglo.md,
 * §1-§4).
 *
 * Per class j, x_j = one-hot label component, y_j = softmax output:
 *   f(x, y) = a1 (y-θ1) + a2 (y-θ1)^2 + a3 (y-θ1)^3
 *           + a4 (x-θ0)(y-θ1) + a5 (x-θ0)(y-θ1)^2 + a6 (x-θ0)^2 (y-θ1)
 *   per-sample loss L_s = -Σ_j f(x_j, y_j)
 * in the *code* convention (the official implementation's: no 1/k! factors, no 1/n). The paper
 * convention prints ½a2, ⅙a3, ½a5, ½a6 (and -1/n Σ, a learning-rate rescale left out here).
 * Everything here works in the code convention; convert at the edges.
 *
 * Pure double-precision host code: no Vulkan, no state. */
#ifndef RP_TAYLORGLO_H
#define RP_TAYLORGLO_H

#include <stdbool.h>

#include "vk/status.h"

/* Genome order of the official CMA-ES vector: g = [a1, a2, a3, a4, a5, a6, θ0, θ1]. */
#define RP_TGLO_GENOME 8

typedef struct rp_taylorglo {
  double a[6]; /* a[0] = a1 ... a[5] = a6, code convention */
  double theta0, theta1;
} rp_taylorglo;

typedef enum rp_tglo_convention { RP_TGLO_CODE = 0, RP_TGLO_PAPER = 1 } rp_tglo_convention;

/* A genome in either convention -> the code-convention loss, and back. */
rp_taylorglo rp_taylorglo_from_genome(const double g[RP_TGLO_GENOME], rp_tglo_convention conv);
void rp_taylorglo_to_genome(const rp_taylorglo *t, rp_tglo_convention conv,
                            double g[RP_TGLO_GENOME]);

/* Parses "a1,a2,a3,a4,a5,a6,t0,t1" (8 finite numbers, spaces allowed around commas). On failure
 * a one-line message naming the offending value and its position. */
rp_status rp_taylorglo_parse_genome(const char *text, double g[RP_TGLO_GENOME]);

/* Parses "code" or "paper". */
rp_status rp_taylorglo_parse_convention(const char *text, rp_tglo_convention *out);

/* f(x, y) of one class. */
double rp_taylorglo_f(const rp_taylorglo *t, double x, double y);

/* Per-sample loss -Σ_j f(x_j, y_j) for label vector x (one-hot or smoothed) and probability
 * vector y of n classes. */
double rp_taylorglo_sample_loss(const rp_taylorglo *t, int n, const double *x, const double *y);

/* Gradient of the per-sample loss with respect to the logits z (y = softmax(z)):
 *   dL/dz_k = -y_k (f'_k - Σ_j y_j f'_j),   f'_j = ∂f/∂y at (x_j, y_j). */
void rp_taylorglo_logit_grad(const rp_taylorglo *t, int n, const double *x, const double *y,
                             double *grad);

/* f'(x, y) = ∂f/∂y = c1 + c_h y + c_hh y^2 + c_hy x y + c_y x + c_yy x^2. */
typedef struct rp_tglo_coeffs {
  double c1, c_h, c_hh, c_hy, c_y, c_yy;
} rp_tglo_coeffs;

rp_tglo_coeffs rp_taylorglo_coeffs(const rp_taylorglo *t);
double rp_taylorglo_dfdy(const rp_tglo_coeffs *c, double x, double y);

/* The invariants a candidate must pass before training (n classes):
 *   code     (the official implementation's test):
 *            c_y + c_yy + c_hy/n  >=  (n-2) (c1 + c_h/n + c_hh/n^2)
 *            i.e. f'(1,1/n) >= (n-1) f'(0,1/n)
 *   softmax  (the exact null-epoch derivation): A = f'(1,1/n) > B = f'(0,1/n) */
typedef enum rp_tglo_invariant { RP_TGLO_INV_CODE = 0, RP_TGLO_INV_SOFTMAX = 1 } rp_tglo_invariant;
rp_status rp_taylorglo_parse_invariant(const char *text, rp_tglo_invariant *out);
const char *rp_taylorglo_invariant_name(rp_tglo_invariant inv);

#define RP_TGLO_MAX_FIXED 2 /* the fixed-point equation is a quadratic in p */

typedef struct rp_tglo_analysis {
  int classes;
  rp_tglo_coeffs c;
  double A, B;  /* f'(1, 1/n), f'(0, 1/n): the null epoch; learning starts right iff A > B */
  double D_end; /* f'(1,1) - f'(0,0): negative = pushed away from full confidence */
  /* Fixed points p* in (0,1) of f'(1,p) = f'(0,(1-p)/(n-1)), ascending; stable ones attract
   * (the target logit is pushed up below p* and down above it). */
  int fixed_count;
  double fixed[RP_TGLO_MAX_FIXED];
  bool fixed_stable[RP_TGLO_MAX_FIXED];
  bool fixed_degenerate; /* the equation holds for every p: no isolated fixed point */
  /* Fixed-point equation g(p) = f'(1,p) - f'(0,q) = q2 p^2 + q1 p + q0. */
  double q2, q1, q0;
  double code_lhs, code_rhs; /* c_y + c_yy + c_hy/n, (n-2)(c1 + c_h/n + c_hh/n^2) */
  bool code_valid;           /* code_lhs >= code_rhs */
  bool softmax_valid;        /* A > B (its two sides) */
} rp_tglo_analysis;

/* Everything above for n >= 2 classes. */
rp_status rp_taylorglo_analyze(const rp_taylorglo *t, int classes, rp_tglo_analysis *out);
bool rp_taylorglo_valid(const rp_tglo_analysis *a, rp_tglo_invariant inv);

/* Label smoothing by alpha (x' = (1-alpha) x + alpha/n) as a map inside the family:
 * f_θ(x', y) = f_θ'(x, y) for all x, y, with θ0' = (θ0 - alpha/n)/(1-alpha), a4' = (1-alpha) a4,
 * a5' = (1-alpha) a5, a6' = (1-alpha)^2 a6, the rest unchanged. alpha in [0, 1). */
rp_status rp_taylorglo_smooth(const rp_taylorglo *t, double alpha, int classes, rp_taylorglo *out);

/* The loss shape with target probability p and the others (1-p)/(n-1) (one-hot label):
 * the per-sample loss and dL/dz_target = -p (1-p) (f'(1,p) - f'(0,(1-p)/(n-1))). */
void rp_taylorglo_curve_point(const rp_taylorglo *t, int classes, double p, double *loss,
                              double *grad_target_logit);

/* A CSV of `points` >= 2 grid values p = 0 .. 1: "p", then "<label>_loss,<label>_grad" for each
 * of the `count` losses, then cross-entropy's "ce_loss,ce_grad" (-ln p, p - 1) for comparison. */
rp_status rp_taylorglo_write_curves(const char *path, int classes, const rp_taylorglo *losses,
                                    const char *const *labels, int count, int points);

#endif
