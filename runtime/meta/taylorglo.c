/* TaylorGLO loss analysis: plain formulas from the reference (§1-§4), in double precision. */
#include "meta/taylorglo.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/number.h"

/* Roots this close to 0 or 1 are the ends of the interval, not interior fixed points: the
 * order-3 expansion of cross-entropy, for one, has an exact root at p = 1 that rounding may place
 * a few ulps inside. */
#define EDGE 1e-12

/* Paper -> code factors per genome entry: the paper prints ½a2, ⅙a3, ½a5, ½a6. */
static const double paper_factor[RP_TGLO_GENOME] = {1, 0.5, 1.0 / 6.0, 1, 0.5, 0.5, 1, 1};

rp_taylorglo rp_taylorglo_from_genome(const double g[RP_TGLO_GENOME], rp_tglo_convention conv) {
  rp_taylorglo t;
  for (int i = 0; i < 6; i++) t.a[i] = conv == RP_TGLO_PAPER ? g[i] * paper_factor[i] : g[i];
  t.theta0 = g[6];
  t.theta1 = g[7];
  return t;
}

void rp_taylorglo_to_genome(const rp_taylorglo *t, rp_tglo_convention conv,
                            double g[RP_TGLO_GENOME]) {
  for (int i = 0; i < 6; i++) g[i] = conv == RP_TGLO_PAPER ? t->a[i] / paper_factor[i] : t->a[i];
  g[6] = t->theta0;
  g[7] = t->theta1;
}

rp_status rp_taylorglo_parse_genome(const char *text, double g[RP_TGLO_GENOME]) {
  static const char *names[RP_TGLO_GENOME] = {"a1", "a2", "a3", "a4", "a5", "a6", "t0", "t1"};
  if (!text) return rp_fail(RP_ERR_INVALID_ARGUMENT, "TaylorGLO genome: none given");
  int count = 1;
  for (const char *p = text; *p; p++) count += *p == ',';
  if (count != RP_TGLO_GENOME)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "TaylorGLO genome '%s': %d comma-separated values, expected 8 "
                   "(a1,a2,a3,a4,a5,a6,t0,t1)",
                   text, count);
  const char *p = text;
  for (int i = 0; i < RP_TGLO_GENOME; i++) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char token[64];
    if (len >= sizeof token)
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "TaylorGLO genome: value %d (%s) is too long: '%.20s...'", i + 1, names[i], p);
    memcpy(token, p, len);
    token[len] = '\0';
    /* Spaces around a value are allowed ("1.5, -0.2, ..." as pasted from a table). */
    const char *first = token;
    while (isspace((unsigned char)*first)) first++;
    for (char *last = token + strlen(token); last > first && isspace((unsigned char)last[-1]);)
      *--last = '\0';
    double v;
    rp_number_error e = rp_parse_fp32(first, &v);
    if (e)
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "TaylorGLO genome: value %d (%s) '%s' %s", i + 1,
                     names[i], first, rp_number_error_text(e, true));
    g[i] = v;
    p = comma ? comma + 1 : p + len;
  }
  return RP_OK;
}

rp_status rp_taylorglo_parse_convention(const char *text, rp_tglo_convention *out) {
  if (text && strcmp(text, "code") == 0) {
    *out = RP_TGLO_CODE;
    return RP_OK;
  }
  if (text && strcmp(text, "paper") == 0) {
    *out = RP_TGLO_PAPER;
    return RP_OK;
  }
  return rp_fail(RP_ERR_INVALID_ARGUMENT, "TaylorGLO convention '%s': expected code or paper",
                 text ? text : "");
}

rp_status rp_taylorglo_parse_invariant(const char *text, rp_tglo_invariant *out) {
  if (text && strcmp(text, "code") == 0) {
    *out = RP_TGLO_INV_CODE;
    return RP_OK;
  }
  if (text && strcmp(text, "softmax") == 0) {
    *out = RP_TGLO_INV_SOFTMAX;
    return RP_OK;
  }
  return rp_fail(RP_ERR_INVALID_ARGUMENT, "TaylorGLO invariant '%s': expected code or softmax",
                 text ? text : "");
}

const char *rp_taylorglo_invariant_name(rp_tglo_invariant inv) {
  return inv == RP_TGLO_INV_SOFTMAX ? "softmax" : "code";
}

double rp_taylorglo_f(const rp_taylorglo *t, double x, double y) {
  const double *a = t->a;
  double u = x - t->theta0, v = y - t->theta1;
  return a[0] * v + a[1] * v * v + a[2] * v * v * v + a[3] * u * v + a[4] * u * v * v +
         a[5] * u * u * v;
}

double rp_taylorglo_sample_loss(const rp_taylorglo *t, int n, const double *x, const double *y) {
  double sum = 0;
  for (int j = 0; j < n; j++) sum += rp_taylorglo_f(t, x[j], y[j]);
  return -sum;
}

rp_tglo_coeffs rp_taylorglo_coeffs(const rp_taylorglo *t) {
  const double a1 = t->a[0], a2 = t->a[1], a3 = t->a[2], a4 = t->a[3], a5 = t->a[4], a6 = t->a[5];
  const double t0 = t->theta0, t1 = t->theta1;
  rp_tglo_coeffs c;
  c.c1 = a1 - 2 * a2 * t1 + 3 * a3 * t1 * t1 - a4 * t0 + 2 * a5 * t0 * t1 + a6 * t0 * t0;
  c.c_h = 2 * a2 - 6 * a3 * t1 - 2 * a5 * t0;
  c.c_hh = 3 * a3;
  c.c_hy = 2 * a5;
  c.c_y = a4 - 2 * a5 * t1 - 2 * a6 * t0;
  c.c_yy = a6;
  return c;
}

double rp_taylorglo_dfdy(const rp_tglo_coeffs *c, double x, double y) {
  return c->c1 + c->c_h * y + c->c_hh * y * y + c->c_hy * x * y + c->c_y * x + c->c_yy * x * x;
}

void rp_taylorglo_logit_grad(const rp_taylorglo *t, int n, const double *x, const double *y,
                             double *grad) {
  rp_tglo_coeffs c = rp_taylorglo_coeffs(t);
  double mean = 0; /* Σ_j y_j f'_j */
  for (int j = 0; j < n; j++) mean += y[j] * rp_taylorglo_dfdy(&c, x[j], y[j]);
  for (int k = 0; k < n; k++) grad[k] = -y[k] * (rp_taylorglo_dfdy(&c, x[k], y[k]) - mean);
}

/* g(p) = f'(1,p) - f'(0,(1-p)/(n-1)) as q2 p^2 + q1 p + q0, with s = 1/(n-1):
 *   q2 = c_hh (1 - s^2),  q1 = c_h (1 + s) + c_hy + 2 c_hh s^2,  q0 = c_y + c_yy - c_h s - c_hh s^2
 */
static void fixed_point_poly(const rp_tglo_coeffs *c, int n, double *q2, double *q1, double *q0) {
  double s = 1.0 / (n - 1);
  *q2 = c->c_hh * (1 - s * s);
  *q1 = c->c_h * (1 + s) + c->c_hy + 2 * c->c_hh * s * s;
  *q0 = c->c_y + c->c_yy - c->c_h * s - c->c_hh * s * s;
}

/* Real roots of q2 p^2 + q1 p + q0 (at most 2), by the cancellation-free form of the quadratic
 * formula, each polished by Newton steps. Returns the count, or -1 if the polynomial is zero. */
static int real_roots(double q2, double q1, double q0, double *r) {
  double scale = fmax(fabs(q2), fmax(fabs(q1), fabs(q0)));
  if (scale == 0) return -1;
  q2 /= scale, q1 /= scale, q0 /= scale;
  const double tiny = 1e-13;
  int count = 0;
  if (fabs(q2) <= tiny) { /* linear (n = 2 makes q2 exactly 0) */
    if (fabs(q1) <= tiny) return fabs(q0) <= tiny ? -1 : 0;
    r[count++] = -q0 / q1;
  } else {
    double disc = q1 * q1 - 4 * q2 * q0;
    double slack = 1e-14 * (q1 * q1 + fabs(4 * q2 * q0));
    if (disc < -slack) return 0;
    if (disc <= slack) {
      r[count++] = -q1 / (2 * q2); /* a double root */
    } else {
      double qq = -0.5 * (q1 + copysign(sqrt(disc), q1));
      r[count++] = qq / q2;
      r[count++] = q0 / qq;
    }
  }
  for (int i = 0; i < count; i++)
    for (int step = 0; step < 2; step++) {
      double g = (q2 * r[i] + q1) * r[i] + q0, dg = 2 * q2 * r[i] + q1;
      if (dg != 0 && isfinite(g / dg)) r[i] -= g / dg;
    }
  if (count == 2 && r[0] > r[1]) {
    double tmp = r[0];
    r[0] = r[1];
    r[1] = tmp;
  }
  return count;
}

rp_status rp_taylorglo_analyze(const rp_taylorglo *t, int classes, rp_tglo_analysis *out) {
  memset(out, 0, sizeof *out);
  if (classes < 2)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "TaylorGLO analysis: %d classes (need at least 2)",
                   classes);
  for (int i = 0; i < 6; i++)
    if (!isfinite(t->a[i]))
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "TaylorGLO analysis: a%d is not finite", i + 1);
  if (!isfinite(t->theta0) || !isfinite(t->theta1))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "TaylorGLO analysis: theta is not finite");
  const double n = classes;
  rp_tglo_coeffs c = rp_taylorglo_coeffs(t);
  out->classes = classes;
  out->c = c;
  out->A = rp_taylorglo_dfdy(&c, 1, 1 / n);
  out->B = rp_taylorglo_dfdy(&c, 0, 1 / n);
  out->D_end = rp_taylorglo_dfdy(&c, 1, 1) - rp_taylorglo_dfdy(&c, 0, 0);

  fixed_point_poly(&c, classes, &out->q2, &out->q1, &out->q0);
  double r[2];
  int count = real_roots(out->q2, out->q1, out->q0, r);
  out->fixed_degenerate = count < 0;
  for (int i = 0; i < count; i++) {
    if (!(r[i] > EDGE && r[i] < 1 - EDGE)) continue;
    if (out->fixed_count > 0 && fabs(r[i] - out->fixed[out->fixed_count - 1]) < 1e-12) continue;
    out->fixed[out->fixed_count] = r[i];
    /* The target logit moves as p(1-p) g(p): stable where g falls through zero. */
    out->fixed_stable[out->fixed_count] = 2 * out->q2 * r[i] + out->q1 < 0;
    out->fixed_count++;
  }

  out->code_lhs = c.c_y + c.c_yy + c.c_hy / n;
  out->code_rhs = (n - 2) * (c.c1 + c.c_h / n + c.c_hh / (n * n));
  out->code_valid = out->code_lhs >= out->code_rhs;
  out->softmax_valid = out->A > out->B;
  return RP_OK;
}

bool rp_taylorglo_valid(const rp_tglo_analysis *a, rp_tglo_invariant inv) {
  return inv == RP_TGLO_INV_SOFTMAX ? a->softmax_valid : a->code_valid;
}

rp_status rp_taylorglo_smooth(const rp_taylorglo *t, double alpha, int classes, rp_taylorglo *out) {
  if (!(alpha >= 0 && alpha < 1))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "label smoothing alpha %g is outside [0, 1)", alpha);
  if (classes < 2)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "label smoothing over %d classes (need at least 2)",
                   classes);
  const double keep = 1 - alpha;
  *out = *t;
  out->theta0 = (t->theta0 - alpha / classes) / keep;
  out->a[3] = keep * t->a[3];
  out->a[4] = keep * t->a[4];
  out->a[5] = keep * keep * t->a[5];
  return RP_OK;
}

void rp_taylorglo_curve_point(const rp_taylorglo *t, int classes, double p, double *loss,
                              double *grad_target_logit) {
  const double q = (1 - p) / (classes - 1);
  rp_tglo_coeffs c = rp_taylorglo_coeffs(t);
  *loss = -(rp_taylorglo_f(t, 1, p) + (classes - 1) * rp_taylorglo_f(t, 0, q));
  /* + 0.0 turns the -0 at p = 0 and p = 1 into 0 */
  *grad_target_logit =
      -p * (1 - p) * (rp_taylorglo_dfdy(&c, 1, p) - rp_taylorglo_dfdy(&c, 0, q)) + 0.0;
}

rp_status rp_taylorglo_write_curves(const char *path, int classes, const rp_taylorglo *losses,
                                    const char *const *labels, int count, int points) {
  if (classes < 2 || points < 2 || count < 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "TaylorGLO curves %s: %d classes, %d points (need >= 2 of each)", path, classes,
                   points);
  /* Built in memory, then written atomically as every other result. */
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  if (!f) return rp_fail(RP_ERR_OUT_OF_MEMORY, "TaylorGLO curves %s: out of memory", path);
  fputs("p", f);
  for (int k = 0; k < count; k++) fprintf(f, ",%s_loss,%s_grad", labels[k], labels[k]);
  fputs(",ce_loss,ce_grad\n", f);
  for (int i = 0; i < points; i++) {
    double p = (double)i / (points - 1);
    fprintf(f, "%.6f", p);
    for (int k = 0; k < count; k++) {
      double loss, grad;
      rp_taylorglo_curve_point(&losses[k], classes, p, &loss, &grad);
      fprintf(f, ",%.10g,%.10g", loss, grad);
    }
    /* cross-entropy -ln p; dL/dz_target = p - 1 */
    fprintf(f, ",%.10g,%.10g\n", p > 0 ? -log(p) + 0.0 : INFINITY, p - 1);
  }
  bool ok = !ferror(f);
  if (fclose(f) != 0) ok = false;
  rp_status st = ok ? rp_file_write_atomic(path, text, size)
                    : rp_fail(RP_ERR_OUT_OF_MEMORY, "TaylorGLO curves %s: out of memory", path);
  free(text);
  return st;
}
