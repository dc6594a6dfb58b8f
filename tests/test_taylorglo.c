/* TaylorGLO analysis against hand-derived values and against plain formulas written out here
 * independently of the library (the direct y-derivative of f, fixed points by bisection on a
 * grid, finite differences through a softmax). No Vulkan. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meta/taylorglo.h"

#define ASSERT_OK(expr)                                                                            \
  do {                                                                                             \
    rp_status st_ = (expr);                                                                        \
    cr_assert_eq(st_, RP_OK, "%s failed: %s", #expr, rp_error_message());                          \
  } while (0)

#define ASSERT_NEAR(got, want, tol, ...) cr_assert(fabs((got) - (want)) <= (tol), __VA_ARGS__)

TestSuite(taylorglo);

/* ---- independent formulas ---- */

/* ∂f/∂y written straight from f (code convention), g = [a1..a6, t0, t1]. */
static double dfdy_direct(const double *g, double x, double y) {
  double u = x - g[6], v = y - g[7];
  return g[0] + 2 * g[1] * v + 3 * g[2] * v * v + g[3] * u + 2 * g[4] * u * v + g[5] * u * u;
}

static double f_direct(const double *g, double x, double y) {
  double u = x - g[6], v = y - g[7];
  return g[0] * v + g[1] * v * v + g[2] * v * v * v + g[3] * u * v + g[4] * u * v * v +
         g[5] * u * u * v;
}

/* f'(1,p) - f'(0,(1-p)/(n-1)) */
static double gap_direct(const double *g, int n, double p) {
  return dfdy_direct(g, 1, p) - dfdy_direct(g, 0, (1 - p) / (n - 1));
}

/* Roots of gap_direct in (0,1) by sign changes on a uniform grid, refined by bisection. */
static int grid_roots(const double *g, int n, double *roots, int max) {
  const int N = 20000;
  int count = 0;
  double lo = 1e-9, prev = gap_direct(g, n, lo);
  for (int i = 1; i <= N; i++) {
    double p = 1e-9 + (1 - 2e-9) * i / N, cur = gap_direct(g, n, p);
    if ((prev < 0) != (cur < 0) && count < max) {
      double a = lo, b = p;
      for (int k = 0; k < 100; k++) {
        double m = 0.5 * (a + b);
        if ((gap_direct(g, n, a) < 0) != (gap_direct(g, n, m) < 0))
          b = m;
        else
          a = m;
      }
      roots[count++] = 0.5 * (a + b);
    }
    lo = p, prev = cur;
  }
  return count;
}

/* The six coefficients identified from f' alone: f'(x,y) is a polynomial with exactly those
 * monomials, so a few evaluations pin them down. */
static rp_tglo_coeffs coeffs_identified(const double *g) {
  rp_tglo_coeffs c;
  double f00 = dfdy_direct(g, 0, 0);
  c.c1 = f00;
  c.c_h = 0.5 * (dfdy_direct(g, 0, 1) - dfdy_direct(g, 0, -1));
  c.c_hh = 0.5 * (dfdy_direct(g, 0, 1) + dfdy_direct(g, 0, -1)) - f00;
  double plus = dfdy_direct(g, 1, 0) - f00, minus = f00 - dfdy_direct(g, -1, 0);
  c.c_y = 0.5 * (plus + minus);
  c.c_yy = 0.5 * (plus - minus);
  c.c_hy = dfdy_direct(g, 1, 1) - f00 - c.c_h - c.c_hh - c.c_y - c.c_yy;
  return c;
}

static void assert_coeffs(const rp_tglo_coeffs *got, const rp_tglo_coeffs *want, double tol) {
  ASSERT_NEAR(got->c1, want->c1, tol, "c1 %.12g, want %.12g", got->c1, want->c1);
  ASSERT_NEAR(got->c_h, want->c_h, tol, "c_h %.12g, want %.12g", got->c_h, want->c_h);
  ASSERT_NEAR(got->c_hh, want->c_hh, tol, "c_hh %.12g, want %.12g", got->c_hh, want->c_hh);
  ASSERT_NEAR(got->c_hy, want->c_hy, tol, "c_hy %.12g, want %.12g", got->c_hy, want->c_hy);
  ASSERT_NEAR(got->c_y, want->c_y, tol, "c_y %.12g, want %.12g", got->c_y, want->c_y);
  ASSERT_NEAR(got->c_yy, want->c_yy, tol, "c_yy %.12g, want %.12g", got->c_yy, want->c_yy);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform(double lo, double hi) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return lo + (hi - lo) * (double)(rng_state >> 11) / 9007199254740992.0;
}

static void random_genome(double *g) {
  for (int i = 0; i < 6; i++) g[i] = uniform(-3, 3);
  g[6] = uniform(-1.5, 1.5);
  g[7] = uniform(-1.5, 1.5);
}

/* ---- §3 worked example: the order-3 expansion of cross-entropy about (0.5, 0.5) ---- */

static const double ce_expansion[8] = {1, -1, 4.0 / 3.0, 2, -2, 0, 0.5, 0.5};

Test(taylorglo, worked_example) {
  rp_taylorglo t = rp_taylorglo_from_genome(ce_expansion, RP_TGLO_CODE);
  rp_tglo_analysis a;
  ASSERT_OK(rp_taylorglo_analyze(&t, 10, &a));
  rp_tglo_coeffs want = {.c1 = 1, .c_h = -4, .c_hh = 4, .c_hy = -4, .c_y = 4, .c_yy = 0};
  assert_coeffs(&a.c, &want, 1e-12);
  ASSERT_NEAR(a.code_lhs, 3.6, 1e-12, "code left side %.12g, want 3.6", a.code_lhs);
  ASSERT_NEAR(a.code_rhs, 5.12, 1e-12, "code right side %.12g, want 5.12", a.code_rhs);
  cr_assert(!a.code_valid, "the code invariant must call the CE expansion violated");
  ASSERT_NEAR(a.A, 4.24, 1e-12, "A %.12g, want 4.24", a.A);
  ASSERT_NEAR(a.B, 0.64, 1e-12, "B %.12g, want 0.64", a.B);
  cr_assert(a.softmax_valid, "the softmax invariant must call the CE expansion valid");
  cr_assert(!rp_taylorglo_valid(&a, RP_TGLO_INV_CODE) &&
            rp_taylorglo_valid(&a, RP_TGLO_INV_SOFTMAX));
  /* equivalent form of the code test: f'(1,1/n) >= (n-1) f'(0,1/n) */
  cr_assert((a.A >= 9 * a.B) == a.code_valid);
  /* f'(1,1) = 4 - 8 + 5 = 1 = f'(0,0): no push at full confidence */
  ASSERT_NEAR(a.D_end, 0, 1e-12, "D_end %.12g, want 0", a.D_end);
}

/* Fixed-point sanity on the CE expansion: like cross-entropy itself (f'(1,p) - f'(0,q) = 1/p > 0)
 * it has no interior fixed point and pushes the target up everywhere in (0,1); its one root at
 * p = 1 exactly (D_end = 0) is an end, not a fixed point. And it is cross-entropy's expansion:
 * f' agrees with ∂(x ln y)/∂y = x/y to third order about (0.5, 0.5). */
Test(taylorglo, ce_expansion_fixed_points) {
  rp_taylorglo t = rp_taylorglo_from_genome(ce_expansion, RP_TGLO_CODE);
  rp_tglo_analysis a;
  for (int n = 2; n <= 1000; n = n < 10 ? n + 1 : n * 10) {
    ASSERT_OK(rp_taylorglo_analyze(&t, n, &a));
    cr_assert_eq(a.fixed_count, 0, "n %d: %d fixed points, first %.17g", n, a.fixed_count,
                 a.fixed[0]);
    cr_assert(!a.fixed_degenerate);
    for (int i = 1; i < 1000; i++)
      cr_assert(gap_direct(ce_expansion, n, i / 1000.0) > 0, "n %d: gap <= 0 at p %g", n,
                i / 1000.0);
  }
  double err_prev = 0;
  for (int k = 0; k < 4; k++) {
    double r = 0.02 / (1 << k), x = 0.5 + 0.6 * r, y = 0.5 - 0.8 * r;
    double err = fabs(dfdy_direct(ce_expansion, x, y) - x / y);
    if (k > 0) /* third order: halving the distance divides the error by ~8 */
      cr_assert(err_prev / err > 6.5 && err_prev / err < 9.5, "error ratio %g", err_prev / err);
    err_prev = err;
  }
}

/* ---- §8 vectors: against independent values (direct formula; roots by bisection) ---- */

Test(taylorglo, section8_vectors) {
  static const double vectors[2][8] = {
      {8.2896, 0.2415, 7.8726, 8.9666, 2.0184, 7.0513, -10.9408, 7.5216},
      {1.5742, -1.4446, 2.3616, -0.6632, -2.8569, -1.1313, 0.8439, 1.4872}};
  /* Computed once with an independent Python script (same direct formula, bisection on a grid
   * of 200000), to anchor the values: c1, c_h, c_hh, c_hy, c_y, c_yy, A, B, D_end, p*. */
  static const double expect[2][10] = {
      {1950.7736374056963, -310.6384675199997, 23.6178, 4.0368, 132.8971312, 7.0513,
       2060.2980798536964, 1919.9459686536966, -143.03543632, 0.5307650932259569},
      {14.123828689455003, -19.1403533, 7.0848, -5.7138, 9.7437715, -1.1313, 20.321732859455,
       12.280641359455004, -9.1568818, 0.45029279354423635}};
  for (int v = 0; v < 2; v++) {
    const double *g = vectors[v], *e = expect[v];
    rp_taylorglo t = rp_taylorglo_from_genome(g, RP_TGLO_CODE);
    rp_tglo_analysis a;
    ASSERT_OK(rp_taylorglo_analyze(&t, 10, &a));
    rp_tglo_coeffs id = coeffs_identified(g), fixed = {e[0], e[1], e[2], e[3], e[4], e[5]};
    assert_coeffs(&a.c, &id, 1e-9 * (1 + fabs(id.c1)));
    assert_coeffs(&a.c, &fixed, 1e-9 * (1 + fabs(id.c1)));
    double A = dfdy_direct(g, 1, 0.1), B = dfdy_direct(g, 0, 0.1);
    double D = dfdy_direct(g, 1, 1) - dfdy_direct(g, 0, 0);
    ASSERT_NEAR(a.A, A, 1e-9 * fabs(A), "vector %d: A %.15g, want %.15g", v, a.A, A);
    ASSERT_NEAR(a.B, B, 1e-9 * fabs(B), "vector %d: B %.15g, want %.15g", v, a.B, B);
    ASSERT_NEAR(a.D_end, D, 1e-9 * fabs(D), "vector %d: D_end %.15g, want %.15g", v, a.D_end, D);
    ASSERT_NEAR(a.A, e[6], 1e-9 * fabs(A), "vector %d: A", v);
    ASSERT_NEAR(a.B, e[7], 1e-9 * fabs(B), "vector %d: B", v);
    ASSERT_NEAR(a.D_end, e[8], 1e-9 * fabs(D), "vector %d: D_end", v);
    cr_assert(a.D_end < 0, "vector %d: evolved losses push away from full confidence", v);
    double roots[4];
    int count = grid_roots(g, 10, roots, 4);
    cr_assert_eq(count, 1);
    cr_assert_eq(a.fixed_count, 1, "vector %d: %d fixed points", v, a.fixed_count);
    ASSERT_NEAR(a.fixed[0], roots[0], 1e-10, "vector %d: p* %.15g, bisection %.15g", v, a.fixed[0],
                roots[0]);
    ASSERT_NEAR(a.fixed[0], e[9], 1e-10, "vector %d: p* %.15g", v, a.fixed[0]);
    cr_assert(a.fixed_stable[0], "vector %d: p* should attract", v);
    /* invariants from their definitions */
    double lhs = id.c_y + id.c_yy + id.c_hy / 10, rhs = 8 * (id.c1 + id.c_h / 10 + id.c_hh / 100);
    ASSERT_NEAR(a.code_lhs, lhs, 1e-9 * fabs(rhs), "vector %d: code lhs", v);
    ASSERT_NEAR(a.code_rhs, rhs, 1e-9 * fabs(rhs), "vector %d: code rhs", v);
    /* Both evolved losses fail the code test (A < 9B) and pass the softmax one (A > B). */
    cr_assert(!a.code_valid && a.softmax_valid, "vector %d: code %d softmax %d", v, a.code_valid,
              a.softmax_valid);
  }
}

/* Random genomes and class counts: the library's roots are exactly the grid's sign changes, and
 * the stability flag matches the sign of the gap on either side. */
Test(taylorglo, fixed_points_random) {
  const int classes[] = {2, 3, 10, 100};
  int with_roots = 0, with_two = 0;
  for (int trial = 0; trial < 400; trial++) {
    double g[8];
    random_genome(g);
    int n = classes[trial % 4];
    rp_taylorglo t = rp_taylorglo_from_genome(g, RP_TGLO_CODE);
    rp_tglo_analysis a;
    ASSERT_OK(rp_taylorglo_analyze(&t, n, &a));
    double roots[4];
    int count = grid_roots(g, n, roots, 4);
    /* Two roots closer than the grid step would escape the grid: such rare draws are skipped,
     * as the gap itself says (not the library under test). It is a quadratic in p, A p^2 + B p
     * + C, fitted here through p = 0, 1/2, 1; its roots are (-B +- sqrt(B^2 - 4AC)) / 2A, at
     * a distance sqrt(|B^2 - 4AC|) / |A| apart, or as near as that to being a double root. */
    double g0 = gap_direct(g, n, 0), g_half = gap_direct(g, n, 0.5), g1 = gap_direct(g, n, 1);
    double qa = 2 * (g1 - 2 * g_half + g0), qb = g1 - g0 - qa, vertex = -qb / (2 * qa);
    double quarter = gap_direct(g, n, 0.25);
    ASSERT_NEAR(qa / 16 + qb / 4 + g0, quarter, 1e-9 * (fabs(qa) + fabs(qb) + fabs(g0)),
                "trial %d: the gap is no quadratic in p", trial);
    if (vertex > 0 && vertex < 1 && fabs(qb * qb - 4 * qa * g0) < 1e-6 * qa * qa) continue;
    cr_assert_eq(a.fixed_count, count, "trial %d n %d: %d fixed points, grid finds %d", trial, n,
                 a.fixed_count, count);
    for (int i = 0; i < count; i++) {
      ASSERT_NEAR(a.fixed[i], roots[i], 1e-8, "trial %d: p* %.15g, grid %.15g", trial, a.fixed[i],
                  roots[i]);
      double h = 1e-6, below = gap_direct(g, n, a.fixed[i] - h),
             above = gap_direct(g, n, a.fixed[i] + h);
      cr_assert_eq(a.fixed_stable[i], below > 0 && above < 0, "trial %d: stability", trial);
    }
    with_roots += count > 0;
    with_two += count == 2;
  }
  cr_assert(with_roots > 40 && with_two > 0, "too few draws with roots (%d, %d two)", with_roots,
            with_two);
}

/* Two fixed points placed by construction (θ = 0, so c1 = a1, c_h = 2a2, c_hh = 3a3,
 * c_hy = 2a5, c_y = a4, c_yy = a6): g(p) = k (p - r1)(p - r2), solved for c_hh, c_hy and c_y. */
Test(taylorglo, fixed_points_two_roots) {
  const int classes[] = {3, 10, 100};
  for (int trial = 0; trial < 100; trial++) {
    int n = classes[trial % 3];
    double s = 1.0 / (n - 1), r1 = uniform(0.02, 0.98), r2 = uniform(0.02, 0.98);
    if (fabs(r1 - r2) < 1e-3) continue;
    double k = uniform(0.5, 5) * (trial % 2 ? 1 : -1), c_h = uniform(-3, 3), c_yy = uniform(-3, 3);
    double c_hh = k / (1 - s * s);
    double c_hy = -k * (r1 + r2) - c_h * (1 + s) - 2 * c_hh * s * s;
    double c_y = k * r1 * r2 - c_yy + c_h * s + c_hh * s * s;
    double g[8] = {uniform(-3, 3), c_h / 2, c_hh / 3, c_y, c_hy / 2, c_yy, 0, 0};
    rp_taylorglo t = rp_taylorglo_from_genome(g, RP_TGLO_CODE);
    rp_tglo_analysis a;
    ASSERT_OK(rp_taylorglo_analyze(&t, n, &a));
    double roots[4];
    int count = grid_roots(g, n, roots, 4);
    cr_assert_eq(count, 2, "trial %d: grid finds %d roots", trial, count);
    cr_assert_eq(a.fixed_count, 2, "trial %d: %d fixed points", trial, a.fixed_count);
    double lo = fmin(r1, r2), hi = fmax(r1, r2);
    ASSERT_NEAR(a.fixed[0], lo, 1e-10, "trial %d: p*0 %.15g, want %.15g", trial, a.fixed[0], lo);
    ASSERT_NEAR(a.fixed[1], hi, 1e-10, "trial %d: p*1 %.15g, want %.15g", trial, a.fixed[1], hi);
    ASSERT_NEAR(a.fixed[0], roots[0], 1e-8, "trial %d: grid", trial);
    /* g = k (p - r1)(p - r2): with k > 0, g falls through zero at the lower root (it attracts) */
    cr_assert(a.fixed_stable[0] == (k > 0) && a.fixed_stable[1] == (k < 0), "trial %d: stability",
              trial);
  }
}

Test(taylorglo, fixed_points_degenerate) {
  double zero[8] = {0};
  rp_taylorglo t = rp_taylorglo_from_genome(zero, RP_TGLO_CODE);
  rp_tglo_analysis a;
  ASSERT_OK(rp_taylorglo_analyze(&t, 10, &a));
  cr_assert(a.fixed_degenerate && a.fixed_count == 0);
  cr_assert(!a.softmax_valid && a.code_valid); /* 0 >= 0 but not 0 > 0 */
  /* n = 2 makes the equation linear (q = 1 - p cancels the p^2 terms). Here c1 = 0.3, c_h = 1.4,
   * c_hy = 2, c_y = -1, so g(p) = 0.3 + 1.4p + 2p - 1 - (0.3 + 1.4(1-p)) = 4.8p - 2.4: p* = 0.5. */
  double lin[8] = {0.3, 0.7, 0, -1, 1, 0, 0, 0};
  t = rp_taylorglo_from_genome(lin, RP_TGLO_CODE);
  ASSERT_OK(rp_taylorglo_analyze(&t, 2, &a));
  double roots[4];
  int count = grid_roots(lin, 2, roots, 4);
  cr_assert_eq(a.fixed_count, count);
  cr_assert_eq(count, 1);
  ASSERT_NEAR(a.fixed[0], 0.5, 1e-14, "linear root %.17g, want 0.5", a.fixed[0]);
  ASSERT_NEAR(a.fixed[0], roots[0], 1e-10, "linear root %.15g vs %.15g", a.fixed[0], roots[0]);
  cr_assert_neq(rp_taylorglo_analyze(&t, 1, &a), RP_OK);
  cr_assert(strstr(rp_error_message(), "1 classes"), "%s", rp_error_message());
}

/* ---- label smoothing as a map inside the family ---- */

Test(taylorglo, smoothing_map_identity) {
  for (int trial = 0; trial < 200; trial++) {
    double g[8];
    random_genome(g);
    int n = 2 + trial % 20;
    double alpha = uniform(0, 0.9);
    rp_taylorglo t = rp_taylorglo_from_genome(g, RP_TGLO_CODE), s;
    ASSERT_OK(rp_taylorglo_smooth(&t, alpha, n, &s));
    for (int k = 0; k < 10; k++) {
      double x = uniform(-0.5, 1.5), y = uniform(-0.5, 1.5), xs = (1 - alpha) * x + alpha / n;
      double want = f_direct(g, xs, y), got = rp_taylorglo_f(&s, x, y);
      ASSERT_NEAR(got, want, 1e-10 * (1 + fabs(want)), "trial %d: f_θ'(x,y) %.15g, f_θ(x',y) %.15g",
                  trial, got, want);
    }
    /* the same map on the paper-convention genome (all factors are per-entry scalings) */
    double paper[8], paper_s[8];
    rp_taylorglo_to_genome(&t, RP_TGLO_PAPER, paper);
    rp_taylorglo_to_genome(&s, RP_TGLO_PAPER, paper_s);
    rp_taylorglo tp = rp_taylorglo_from_genome(paper, RP_TGLO_CODE), sp;
    ASSERT_OK(rp_taylorglo_smooth(&tp, alpha, n, &sp));
    double direct[8];
    rp_taylorglo_to_genome(&sp, RP_TGLO_CODE, direct);
    for (int i = 0; i < 8; i++)
      ASSERT_NEAR(direct[i], paper_s[i], 1e-12 * (1 + fabs(paper_s[i])), "paper entry %d", i);
  }
  /* alpha = 0 is the identity; bad alpha is refused with the value named */
  rp_taylorglo t = rp_taylorglo_from_genome(ce_expansion, RP_TGLO_CODE), s;
  ASSERT_OK(rp_taylorglo_smooth(&t, 0, 10, &s));
  for (int i = 0; i < 6; i++) cr_assert_eq(s.a[i], t.a[i], "alpha 0 changed a%d", i + 1);
  cr_assert(s.theta0 == t.theta0 && s.theta1 == t.theta1, "alpha 0 changed theta");
  ASSERT_OK(rp_taylorglo_smooth(&t, 0.1, 10, &s));
  ASSERT_NEAR(s.theta0, (0.5 - 0.01) / 0.9, 1e-15, "θ0'");
  ASSERT_NEAR(s.a[3], 1.8, 1e-15, "a4'");
  ASSERT_NEAR(s.a[4], -1.8, 1e-15, "a5'");
  cr_assert_neq(rp_taylorglo_smooth(&t, 1.0, 10, &s), RP_OK);
  cr_assert(strstr(rp_error_message(), "alpha 1 "), "%s", rp_error_message());
  cr_assert_neq(rp_taylorglo_smooth(&t, -0.1, 10, &s), RP_OK);
  cr_assert_neq(rp_taylorglo_smooth(&t, NAN, 10, &s), RP_OK);
}

/* ---- conventions ---- */

Test(taylorglo, paper_code_round_trip) {
  for (int trial = 0; trial < 50; trial++) {
    double g[8], back[8];
    random_genome(g);
    rp_taylorglo t = rp_taylorglo_from_genome(g, RP_TGLO_PAPER);
    ASSERT_NEAR(t.a[0], g[0], 0, "a1");
    ASSERT_NEAR(t.a[1], g[1] / 2, 1e-15, "a2 = a2_paper / 2");
    ASSERT_NEAR(t.a[2], g[2] / 6, 1e-15, "a3 = a3_paper / 6");
    ASSERT_NEAR(t.a[3], g[3], 0, "a4");
    ASSERT_NEAR(t.a[4], g[4] / 2, 1e-15, "a5 = a5_paper / 2");
    ASSERT_NEAR(t.a[5], g[5] / 2, 1e-15, "a6 = a6_paper / 2");
    rp_taylorglo_to_genome(&t, RP_TGLO_PAPER, back);
    for (int i = 0; i < 8; i++) ASSERT_NEAR(back[i], g[i], 1e-14 * fabs(g[i]), "entry %d", i);
    rp_taylorglo c = rp_taylorglo_from_genome(g, RP_TGLO_CODE);
    rp_taylorglo_to_genome(&c, RP_TGLO_CODE, back);
    for (int i = 0; i < 8; i++) cr_assert_eq(back[i], g[i], "code round trip not exact at %d", i);
    /* the paper's printed form, with its factorials, is the same function */
    double x = uniform(0, 1), y = uniform(0, 1), u = x - g[6], v = y - g[7];
    double paper_f = g[0] * v + g[1] / 2 * v * v + g[2] / 6 * v * v * v + g[3] * u * v +
                     g[4] / 2 * u * v * v + g[5] / 2 * u * u * v;
    ASSERT_NEAR(rp_taylorglo_f(&t, x, y), paper_f, 1e-12, "paper f");
  }
  rp_tglo_convention conv;
  ASSERT_OK(rp_taylorglo_parse_convention("paper", &conv));
  cr_assert_eq(conv, RP_TGLO_PAPER);
  cr_assert_neq(rp_taylorglo_parse_convention("Paper", &conv), RP_OK);
  cr_assert(strstr(rp_error_message(), "'Paper'"), "%s", rp_error_message());
  rp_tglo_invariant inv;
  ASSERT_OK(rp_taylorglo_parse_invariant("softmax", &inv));
  cr_assert_eq(inv, RP_TGLO_INV_SOFTMAX);
  cr_assert_str_eq(rp_taylorglo_invariant_name(RP_TGLO_INV_CODE), "code");
}

/* ---- loss value, per-sample loss and its logit gradient ---- */

static void softmax(const double *z, int n, double *y) {
  double m = z[0], sum = 0;
  for (int i = 1; i < n; i++) m = fmax(m, z[i]);
  for (int i = 0; i < n; i++) sum += (y[i] = exp(z[i] - m));
  for (int i = 0; i < n; i++) y[i] /= sum;
}

Test(taylorglo, loss_and_logit_gradient) {
  enum { N = 7 };
  for (int trial = 0; trial < 30; trial++) {
    double g[8], z[N], x[N] = {0}, y[N], grad[N];
    random_genome(g);
    rp_taylorglo t = rp_taylorglo_from_genome(g, RP_TGLO_CODE);
    for (int i = 0; i < N; i++) z[i] = uniform(-2, 2);
    x[trial % N] = 1;
    softmax(z, N, y);
    double want = 0;
    for (int j = 0; j < N; j++) want -= f_direct(g, x[j], y[j]);
    ASSERT_NEAR(rp_taylorglo_sample_loss(&t, N, x, y), want, 1e-12 * (1 + fabs(want)), "loss");
    rp_taylorglo_logit_grad(&t, N, x, y, grad);
    for (int k = 0; k < N; k++) { /* central differences through the softmax, in double */
      double zp[N], zm[N], yp[N], ym[N], h = 1e-5;
      memcpy(zp, z, sizeof z), memcpy(zm, z, sizeof z);
      zp[k] += h, zm[k] -= h;
      softmax(zp, N, yp), softmax(zm, N, ym);
      double fd =
          (rp_taylorglo_sample_loss(&t, N, x, yp) - rp_taylorglo_sample_loss(&t, N, x, ym)) /
          (2 * h);
      ASSERT_NEAR(grad[k], fd, 1e-7 * (1 + fabs(fd)), "trial %d: dL/dz_%d %.12g, FD %.12g", trial,
                  k, grad[k], fd);
    }
    /* the curve point is the same loss with the others uniform */
    double p = y[0], q = (1 - p) / (N - 1), yu[N], xu[N] = {1}, gu[N], loss, gt;
    yu[0] = p;
    for (int j = 1; j < N; j++) yu[j] = q, xu[j] = 0;
    rp_taylorglo_curve_point(&t, N, p, &loss, &gt);
    rp_taylorglo_logit_grad(&t, N, xu, yu, gu);
    ASSERT_NEAR(loss, rp_taylorglo_sample_loss(&t, N, xu, yu), 1e-12 * (1 + fabs(loss)), "curve");
    ASSERT_NEAR(gt, gu[0], 1e-12 * (1 + fabs(gt)), "curve grad %.15g vs %.15g", gt, gu[0]);
    ASSERT_NEAR(gt, -p * (1 - p) * gap_direct(g, N, p), 1e-12 * (1 + fabs(gt)), "p(1-p) gap");
  }
}

Test(taylorglo, curves_csv) {
  char path[] = "/tmp/rp_taylorglo_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  rp_taylorglo losses[2] = {rp_taylorglo_from_genome(ce_expansion, RP_TGLO_CODE)};
  ASSERT_OK(rp_taylorglo_smooth(&losses[0], 0.1, 10, &losses[1]));
  const char *labels[] = {"tglo", "tglo_ls"};
  ASSERT_OK(rp_taylorglo_write_curves(path, 10, losses, labels, 2, 11));
  FILE *f = fopen(path, "r");
  char line[512];
  cr_assert(fgets(line, sizeof line, f));
  cr_assert_str_eq(line, "p,tglo_loss,tglo_grad,tglo_ls_loss,tglo_ls_grad,ce_loss,ce_grad\n");
  int rows = 0;
  while (fgets(line, sizeof line, f)) {
    double p, l0, g0, l1, g1, cl, cg;
    if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf", &p, &l0, &g0, &l1, &g1, &cl, &cg) == 7 &&
        rows == 5) {
      ASSERT_NEAR(p, 0.5, 1e-12, "row 5 p");
      double want_l, want_g;
      rp_taylorglo_curve_point(&losses[0], 10, 0.5, &want_l, &want_g);
      ASSERT_NEAR(l0, want_l, 1e-8, "loss");
      ASSERT_NEAR(g0, want_g, 1e-8, "grad");
      ASSERT_NEAR(cl, log(2.0), 1e-9, "ce loss");
      ASSERT_NEAR(cg, -0.5, 1e-12, "ce grad");
    }
    rows++;
  }
  fclose(f);
  unlink(path);
  cr_assert_eq(rows, 11);
  cr_assert_neq(rp_taylorglo_write_curves("/nonexistent-dir/c.csv", 10, losses, labels, 2, 11),
                RP_OK);
  cr_assert(strstr(rp_error_message(), "/nonexistent-dir/c.csv"), "%s", rp_error_message());
}

/* ---- parsing --theta ---- */

static void expect_bad_genome(const char *text, const char *needle) {
  double g[8];
  cr_assert_neq(rp_taylorglo_parse_genome(text, g), RP_OK, "'%s' accepted", text);
  const char *msg = rp_error_message();
  cr_assert(strstr(msg, needle), "'%s': message lacks \"%s\": %s", text, needle, msg);
  cr_assert_null(strchr(msg, '\n'), "message is more than one line: %s", msg);
}

Test(taylorglo, parse_genome) {
  double g[8];
  ASSERT_OK(
      rp_taylorglo_parse_genome("8.2896, 0.2415,7.8726,8.9666,2.0184,7.0513,-10.9408,7.5216", g));
  cr_assert(g[0] == 8.2896 && g[1] == 0.2415 && g[6] == -10.9408 && g[7] == 7.5216);
  ASSERT_OK(rp_taylorglo_parse_genome("1,-1,1.3333333333333333,2,-2,0,.5,5e-1", g));
  cr_assert(g[7] == 0.5);
  expect_bad_genome("1,2,abc,4,5,6,7,8", "value 3 (a3) 'abc'");
  expect_bad_genome("1,2,3,4,5,6,7,8x", "value 8 (t1) '8x'");
  expect_bad_genome("1,2,3,4,5,,7,8", "value 6 (a6) ''");
  expect_bad_genome("1,2,3,4,5,6,nan,8", "value 7 (t0) 'nan' is not a number");
  expect_bad_genome("1,2,3,4,5,6,7, inf ", "value 8 (t1) 'inf' is not a number");
  expect_bad_genome("0x1p3,2,3,4,5,6,7,8", "value 1 (a1) '0x1p3' is not a number");
  expect_bad_genome("1,2,3,4,5,6,7,1e999", "value 8 (t1) '1e999' is beyond the range of a float");
  expect_bad_genome("1e308,2,3,4,5,6,7,8", "value 1 (a1) '1e308' is beyond the range of a float");
  expect_bad_genome("1,-3.5e38,3,4,5,6,7,8", "'-3.5e38' is beyond the range of a float");
  expect_bad_genome("1,2,1e-320,4,5,6,7,8", "value 3 (a3) '1e-320' is too close to 0");
  expect_bad_genome("1,2,3,1e-50,5,6,7,8", "value 4 (a4) '1e-50' is too close to 0"); /* float 0 */
  ASSERT_OK(rp_taylorglo_parse_genome("3.4e38,-3.4e38,1e-30,0,-0,1e-45,0,0", g));
  cr_assert(g[0] == 3.4e38 && g[2] == 1e-30);
  expect_bad_genome("1,2,3,4,5,6,7", "7 comma-separated values, expected 8");
  expect_bad_genome("1,2,3,4,5,6,7,8,9", "9 comma-separated values");
  expect_bad_genome("", "1 comma-separated values");
}
