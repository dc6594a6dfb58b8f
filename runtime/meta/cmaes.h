/* CMA-ES: Hansen's (mu/mu_w, lambda)-CMA-ES, the black-box optimizer of the hyperparameter
 * search.
 *
 * The algorithm and every default are those of N. Hansen, "The CMA Evolution Strategy: A
 * Tutorial" (arXiv:1604.00772, Table 1 and Appendix A; the same as purecmaes.m): positive
 * log-rank weights on the best mu = lambda/2 candidates, cumulative step-size adaptation,
 * rank-one plus rank-mu covariance update, h_sigma stall of the rank-one path, and a lazy
 * eigendecomposition of C (LAPACKE_dsyev) every lambda / (c1 + cmu) / N / 10 evaluations.
 *
 * Ask/tell: the caller samples a generation with rp_cmaes_ask, evaluates the candidates
 * (minimizing), and hands the fitnesses back with rp_cmaes_tell. ask does not change the
 * state: asking twice without a tell yields the same candidates, and tell advances the random
 * generator past them. So a state saved at any point (rp_cmaes_save) and loaded again asks
 * exactly the candidates the uninterrupted run would have asked.
 *
 * Determinism: the random generator (xoshiro256** seeded through splitmix64, polar-method
 * normals) and all the arithmetic here use only IEEE-754 +, -, *, / and sqrt (own log and exp,
 * no libm transcendentals, no fused multiply-add), so the same seed gives the same bits on
 * every machine; the one outside ingredient is LAPACK's dsyev, whose last bits may differ
 * between LAPACK builds (eigenvector signs are normalized, so only rounding can differ). */
#ifndef RP_CMAES_H
#define RP_CMAES_H

#include <stdint.h>

#include "vk/status.h"

#define RP_CMAES_MAX_LAMBDA 1000000 /* candidates per generation, at most */

typedef struct rp_cmaes_options {
  int dim;             /* N >= 1 */
  int lambda;          /* candidates per generation (2..1000000); 0 = 4 + floor(3 ln N) */
  double sigma0;       /* initial step size (> 0), the standard deviation in each coordinate */
  const double *mean0; /* N initial mean; NULL = zeros */
  uint64_t seed;       /* the whole random stream follows from it */
} rp_cmaes_options;

typedef struct rp_cmaes rp_cmaes;

rp_status rp_cmaes_create(const rp_cmaes_options *o, rp_cmaes **out);
void rp_cmaes_destroy(rp_cmaes *c);

/* Samples the generation's lambda candidates into x (lambda * dim doubles, candidate k at
 * x + k * dim). Does not change the state. */
rp_status rp_cmaes_ask(rp_cmaes *c, double *x);
/* Tells the fitness (minimized) of the candidates last asked for (x as asked, or repaired by
 * the caller: the update uses the x given here); updates mean, paths, C, sigma. A NaN fitness
 * ranks as +infinity (the worst), so a diverged evaluation just loses. */
rp_status rp_cmaes_tell(rp_cmaes *c, const double *x, const double *fitness);
/* (A tell that fails on a non-finite x changes nothing; one that fails later, when sigma
 * overflows or C loses positive definiteness, leaves a state only fit to be destroyed.) */

int rp_cmaes_dim(const rp_cmaes *c);
int rp_cmaes_lambda(const rp_cmaes *c);
int rp_cmaes_mu(const rp_cmaes *c);
/* The mu positive recombination weights (sum 1, decreasing) and their mu_eff. */
const double *rp_cmaes_weights(const rp_cmaes *c);
double rp_cmaes_mueff(const rp_cmaes *c);
int rp_cmaes_generation(const rp_cmaes *c);        /* tells so far */
long long rp_cmaes_evaluations(const rp_cmaes *c); /* lambda * generation */
double rp_cmaes_sigma(const rp_cmaes *c);
const double *rp_cmaes_mean(const rp_cmaes *c);
/* The best candidate told so far and its fitness (NULL before the first tell). */
const double *rp_cmaes_best(const rp_cmaes *c, double *fitness);
/* Condition number of C as of the last eigendecomposition (max / min eigenvalue). */
double rp_cmaes_condition(const rp_cmaes *c);

/* Hansen's usual termination tests, for a caller that wants them (the search decides):
 * "tolfun" when the fitness range of the last generation and of the best fitnesses of the
 * last 10 + ceil(30 N / lambda) generations are both below tolfun; "tolx" when sigma times
 * every sqrt(C_ii) and every |p_c,i| is below tolx; "condition" when cond(C) > 1e14.
 * Returns the name of the first that holds, or NULL. A test with tol <= 0 is off. */
const char *rp_cmaes_stop(const rp_cmaes *c, double tolfun, double tolx);

/* The whole state (including the random generator) as a JSON string (malloc'd; NULL when out
 * of memory), and back. Doubles are written with 17 significant digits, so they round-trip
 * exactly; the 64-bit generator words as hex strings. */
char *rp_cmaes_save(const rp_cmaes *c);
rp_status rp_cmaes_load(const char *json, rp_cmaes **out);

#endif
