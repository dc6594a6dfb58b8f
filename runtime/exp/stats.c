#include "exp/stats.h"

#include <gsl/gsl_cdf.h>
#include <math.h>

double rp_mean(const double *x, int n) {
  if (n < 1) return NAN;
  double s = 0;
  for (int i = 0; i < n; i++) s += x[i];
  return s / n;
}

double rp_sample_std(const double *x, int n) {
  if (n < 2) return NAN;
  double m = rp_mean(x, n), s = 0;
  for (int i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
  return sqrt(s / (n - 1));
}

rp_welch rp_welch_test(const double *a, int na, const double *b, int nb) {
  rp_welch w = {NAN, NAN, NAN};
  if (na < 2 || nb < 2) return w;
  double va = rp_sample_std(a, na), vb = rp_sample_std(b, nb);
  va = va * va / na, vb = vb * vb / nb; /* squared standard errors */
  double se2 = va + vb;
  if (!(se2 > 0)) return w;
  w.t = (rp_mean(a, na) - rp_mean(b, nb)) / sqrt(se2);
  w.df = se2 * se2 / (va * va / (na - 1) + vb * vb / (nb - 1));
  /* Two-sided: twice the upper tail of |t|. The upper tail (Q) keeps precision for tiny p,
   * where 1 - P would round to 0. */
  w.p = 2 * gsl_cdf_tdist_Q(fabs(w.t), w.df);
  if (w.p > 1) w.p = 1;
  return w;
}
