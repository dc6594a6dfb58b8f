/* Summary statistics of an experiment's seeds. */
#ifndef RP_EXP_STATS_H
#define RP_EXP_STATS_H

/* Mean and sample standard deviation (n - 1 in the denominator; NaN for n < 2). NaN for n 0. */
double rp_mean(const double *x, int n);
double rp_sample_std(const double *x, int n);

/* Welch's two-sided t-test of equal means without assuming equal variances: t, the
 * Welch-Satterthwaite degrees of freedom and the p-value 2 Q_t(|t|; df). NaN (all three) when
 * either sample has fewer than 2 values or both have zero variance. */
typedef struct rp_welch {
  double t, df, p;
} rp_welch;
rp_welch rp_welch_test(const double *a, int na, const double *b, int nb);

#endif
