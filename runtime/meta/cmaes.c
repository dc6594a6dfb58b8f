/* CMA-ES after Hansen's tutorial (arXiv:1604.00772), see cmaes.h. Variable names follow the
 * tutorial and purecmaes.m: m (mean), sigma, C = B diag(D^2) B^T, p_c, p_sigma, w, mu_eff. */
#include "meta/cmaes.h"

#include <cjson/cJSON.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bitwise reproducibility needs every a * b + c rounded twice, never fused: GCC in ISO C mode
 * (-std=c11) does not contract, clang does unless told. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define FORMAT "rp_cmaes 1"
#define MAX_DIM 16384 /* C, B, C^-1/2 and a work copy: 8 GiB at this size already */

/* ---- log and exp from +, -, *, / only, so that weights, normals and sigma do not depend on
 * the libm at hand (glibc's log and exp are not correctly rounded, and differ by version). */

/* ln 2 split as in fdlibm: k * LN2_HI is exact for |k| < 2^20. */
static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;

/* Natural log of a finite x > 0, to about 1 ulp: x = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * ln m = 2 atanh(t), t = (m - 1) / (m + 1), |t| < 0.172, by its odd series to t^25. */
static double det_log(double x) {
  int e;
  double m = frexp(x, &e); /* exact */
  if (m < 0.70710678118654752440) m *= 2, e--;
  double t = (m - 1) / (m + 1), t2 = t * t, sum = 0;
  for (int k = 12; k >= 0; k--) sum = sum * t2 + 1.0 / (2 * k + 1);
  return e * LN2_HI + (2 * t * sum + e * LN2_LO);
}

/* e^x to about 1 ulp: x = k ln 2 + r with |r| <= ln(2)/2, e^r by its Taylor series to r^20. */
static double det_exp(double x) {
  if (x > 709.0) return HUGE_VAL;
  if (x < -745.0) return 0.0;
  double k = floor(x / 0.69314718055994530942 + 0.5);
  double r = (x - k * LN2_HI) - k * LN2_LO, sum = 1;
  for (int i = 20; i >= 1; i--) sum = 1 + sum * r / i;
  return ldexp(sum, (int)k); /* exact scaling */
}

/* ---- random numbers: xoshiro256** (Blackman and Vigna), its state seeded by splitmix64, and
 * normals by Marsaglia's polar method (two per accepted pair; the second kept as the spare). */

typedef struct rng {
  uint64_t s[4];
  int has_spare;
  double spare;
} rng;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
  r->has_spare = 0;
  r->spare = 0;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* Uniform in [-1, 1) on the 2^-52 grid. */
static double rng_symmetric(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-52 - 1.0; }

static double rng_normal(rng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double u, v, s;
  do {
    u = rng_symmetric(r);
    v = rng_symmetric(r);
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  double f = sqrt(-2.0 * det_log(s) / s);
  r->spare = v * f;
  r->has_spare = 1;
  return u * f;
}

/* ---- the optimizer */

struct rp_cmaes {
  /* strategy parameters, fixed by dim and lambda (Table 1 of the tutorial) */
  int n, lambda, mu, hist_cap;
  uint64_t seed;
  double *w; /* mu positive weights, sum 1 */
  double mueff, cc, cs, c1, cmu, damps, chin, eigen_gap;
  /* state */
  int generation;
  long long evals, eigen_evals; /* evaluations so far, and at the last eigendecomposition */
  double sigma, decay;          /* decay = (1 - c_s)^(2 g), for h_sigma */
  double *mean, *pc, *ps;       /* n each */
  double *C, *B, *D, *invsqrt;  /* n x n row-major, except D: n (sqrt of eigenvalues) */
  rng rng;                      /* as it stands before this generation's ask */
  int has_best;
  double best_f, *best_x;
  double last_range; /* worst minus best fitness of the last generation */
  double *hist;      /* best fitness of the last hist_cap generations, a ring */
  int hist_len, hist_pos;
  /* scratch */
  double *y, *yw, *tmp, *work, *keys; /* mu*n, n, n, n*n, lambda */
  int *order;                         /* lambda */
};

static void set_params(rp_cmaes *c) {
  const int lam = c->lambda;
  const double n = c->n;
  c->mu = lam / 2;
  /* w_i proportional to ln((lambda + 1) / 2) - ln i, i = 1..mu, normalized to sum 1 */
  double sum = 0, sum2 = 0, top = det_log((lam + 1) / 2.0);
  for (int i = 0; i < c->mu; i++) sum += c->w[i] = top - det_log(i + 1);
  for (int i = 0; i < c->mu; i++) c->w[i] /= sum, sum2 += c->w[i] * c->w[i];
  const double mueff = c->mueff = 1.0 / sum2;
  c->cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n);
  c->cs = (mueff + 2) / (n + mueff + 5);
  c->c1 = 2 / ((n + 1.3) * (n + 1.3) + mueff);
  c->cmu = fmin(1 - c->c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) * (n + 2) + mueff));
  c->damps = 1 + 2 * fmax(0, sqrt((mueff - 1) / (n + 1)) - 1) + c->cs;
  c->chin = sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n)); /* E||N(0, I)|| */
  /* decompose every lambda / (c1 + cmu) / n / 10 evaluations: O(n^2) per evaluation */
  c->eigen_gap = lam / (c->c1 + c->cmu) / n / 10;
  c->hist_cap = 10 + (30 * c->n + lam - 1) / lam;
}

/* One block for all the doubles; the pointers carve it up. NULL (and the message set) when out
 * of memory. */
static rp_cmaes *alloc(int n, int lambda) {
  rp_cmaes *c = calloc(1, sizeof *c);
  if (!c) {
    rp_fail(RP_ERR_OUT_OF_MEMORY, "cmaes: out of memory");
    return NULL;
  }
  c->n = n;
  c->lambda = lambda;
  c->mu = lambda / 2;
  c->hist_cap = 10 + (30 * n + lambda - 1) / lambda;
  const size_t nn = (size_t)n * (size_t)n, mu = (size_t)c->mu;
  /* w; mean, pc, ps, D, best_x, yw; C, B, invsqrt, work; hist; y; tmp; keys */
  size_t total = mu + 6 * (size_t)n + 4 * nn + (size_t)c->hist_cap + mu * (size_t)n + (size_t)n +
                 (size_t)lambda;
  double *p = calloc(total, sizeof *p);
  c->order = calloc((size_t)lambda, sizeof *c->order);
  if (!p || !c->order) {
    free(p);
    free(c->order);
    free(c);
    rp_fail(RP_ERR_OUT_OF_MEMORY, "cmaes: out of memory for dim %d, lambda %d", n, lambda);
    return NULL;
  }
  c->w = p, p += mu;
  c->mean = p, p += n;
  c->pc = p, p += n;
  c->ps = p, p += n;
  c->D = p, p += n;
  c->best_x = p, p += n;
  c->yw = p, p += n;
  c->C = p, p += nn;
  c->B = p, p += nn;
  c->invsqrt = p, p += nn;
  c->work = p, p += nn;
  c->hist = p, p += c->hist_cap;
  c->y = p, p += mu * (size_t)n;
  c->tmp = p, p += n;
  c->keys = p;
  set_params(c);
  return c;
}

void rp_cmaes_destroy(rp_cmaes *c) {
  if (!c) return;
  free(c->w); /* the block */
  free(c->order);
  free(c);
}

static rp_status check_sizes(int dim, int lambda) {
  if (dim < 1 || dim > MAX_DIM)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "cmaes: dim %d outside [1, %d]", dim, MAX_DIM);
  if (lambda < 2 || lambda > RP_CMAES_MAX_LAMBDA)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "cmaes: lambda %d outside [2, %d]", lambda,
                   RP_CMAES_MAX_LAMBDA);
  return RP_OK;
}

rp_status rp_cmaes_create(const rp_cmaes_options *o, rp_cmaes **out) {
  *out = NULL;
  if (o->dim < 1 || o->dim > MAX_DIM)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "cmaes: dim %d outside [1, %d]", o->dim, MAX_DIM);
  int lambda = o->lambda ? o->lambda : 4 + (int)floor(3 * det_log(o->dim));
  rp_status st = check_sizes(o->dim, lambda);
  if (st) return st;
  if (!(o->sigma0 > 0) || !isfinite(o->sigma0))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "cmaes: sigma0 %g is not a positive number", o->sigma0);
  for (int i = 0; o->mean0 && i < o->dim; i++)
    if (!isfinite(o->mean0[i]))
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "cmaes: mean0[%d] = %g is not finite", i,
                     o->mean0[i]);
  rp_cmaes *c = alloc(o->dim, lambda);
  if (!c) return RP_ERR_OUT_OF_MEMORY;
  const int n = c->n;
  c->seed = o->seed;
  rng_seed(&c->rng, o->seed);
  c->sigma = o->sigma0;
  c->decay = 1;
  for (int i = 0; i < n; i++) {
    c->mean[i] = o->mean0 ? o->mean0[i] : 0.0;
    c->D[i] = 1;
    c->C[i * n + i] = c->B[i * n + i] = c->invsqrt[i * n + i] = 1;
  }
  *out = c;
  return RP_OK;
}

rp_status rp_cmaes_ask(rp_cmaes *c, double *x) {
  const int n = c->n;
  rng r = c->rng; /* a copy: tell advances the real one */
  for (int k = 0; k < c->lambda; k++) {
    for (int j = 0; j < n; j++) c->tmp[j] = c->D[j] * rng_normal(&r);
    for (int i = 0; i < n; i++) { /* x = m + sigma B D z */
      double yi = 0;
      for (int j = 0; j < n; j++) yi += c->B[i * n + j] * c->tmp[j];
      x[(size_t)k * n + i] = c->mean[i] + c->sigma * yi;
    }
  }
  return RP_OK;
}

/* invsqrt = C^-1/2 = B diag(1/D) B^T, symmetric by construction. */
static void compute_invsqrt(rp_cmaes *c) {
  const int n = c->n;
  for (int i = 0; i < n; i++)
    for (int j = i; j < n; j++) {
      double s = 0;
      for (int k = 0; k < n; k++) s += c->B[i * n + k] * c->B[j * n + k] / c->D[k];
      c->invsqrt[i * n + j] = c->invsqrt[j * n + i] = s;
    }
}

static rp_status decompose(rp_cmaes *c) {
  const int n = c->n;
  /* C is kept exactly symmetric, so row- and column-major are the same matrix. */
  memcpy(c->work, c->C, (size_t)n * n * sizeof *c->work);
  lapack_int info = LAPACKE_dsyev(LAPACK_COL_MAJOR, 'V', 'U', n, c->work, n, c->tmp);
  if (info != 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "cmaes: dsyev failed (info %d) at generation %d",
                   (int)info, c->generation);
  if (!(c->tmp[0] > 0) || !isfinite(c->tmp[n - 1]))
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "cmaes: C lost positive definiteness at generation %d (eigenvalues %g..%g)",
                   c->generation, c->tmp[0], c->tmp[n - 1]);
  for (int j = 0; j < n; j++) {
    /* Eigenvector j is column j. Its sign is arbitrary and LAPACK builds may disagree, so
     * make its largest component positive: the samples then depend on C only. */
    const double *v = c->work + (size_t)j * n;
    int big = 0;
    for (int i = 1; i < n; i++)
      if (fabs(v[i]) > fabs(v[big])) big = i;
    double sign = v[big] < 0 ? -1.0 : 1.0;
    for (int i = 0; i < n; i++) c->B[i * n + j] = sign * v[i];
    c->D[j] = sqrt(c->tmp[j]);
  }
  compute_invsqrt(c);
  return RP_OK;
}

rp_status rp_cmaes_tell(rp_cmaes *c, const double *x, const double *fitness) {
  const int n = c->n, lam = c->lambda, mu = c->mu;
  for (size_t i = 0; i < (size_t)lam * n; i++)
    if (!isfinite(x[i]))
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "cmaes: tell: candidate %zu coordinate %zu is %g (must be finite)", i / n,
                     i % n, x[i]);
  /* Past the normals this generation's ask drew (the polar method's rejections included). */
  for (size_t i = 0; i < (size_t)lam * n; i++) rng_normal(&c->rng);

  /* Rank: stable insertion sort on (fitness, index), NaN as +inf. */
  for (int k = 0; k < lam; k++) {
    c->keys[k] = isnan(fitness[k]) ? HUGE_VAL : fitness[k];
    int pos = k;
    while (pos > 0 && c->keys[c->order[pos - 1]] > c->keys[k]) {
      c->order[pos] = c->order[pos - 1];
      pos--;
    }
    c->order[pos] = k;
  }
  const double fbest = c->keys[c->order[0]], fworst = c->keys[c->order[lam - 1]];
  if (!c->has_best || fbest < c->best_f) {
    c->has_best = 1;
    c->best_f = fbest;
    memcpy(c->best_x, x + (size_t)c->order[0] * n, (size_t)n * sizeof *x);
  }
  c->last_range = isinf(fworst) ? HUGE_VAL : fworst - fbest;
  c->hist[c->hist_pos] = fbest;
  c->hist_pos = (c->hist_pos + 1) % c->hist_cap;
  if (c->hist_len < c->hist_cap) c->hist_len++;

  /* y_i = (x_i:lambda - m) / sigma for the mu best, <y>_w = sum w_i y_i, m += sigma <y>_w */
  for (int i = 0; i < mu; i++)
    for (int j = 0; j < n; j++)
      c->y[i * n + j] = (x[(size_t)c->order[i] * n + j] - c->mean[j]) / c->sigma;
  for (int j = 0; j < n; j++) {
    double s = 0;
    for (int i = 0; i < mu; i++) s += c->w[i] * c->y[i * n + j];
    c->yw[j] = s;
    c->mean[j] += c->sigma * s;
  }

  /* p_sigma = (1 - c_s) p_sigma + sqrt(c_s (2 - c_s) mu_eff) C^-1/2 <y>_w */
  const double csn = sqrt(c->cs * (2 - c->cs) * c->mueff);
  double ps2 = 0;
  for (int i = 0; i < n; i++) {
    double s = 0;
    for (int j = 0; j < n; j++) s += c->invsqrt[i * n + j] * c->yw[j];
    c->ps[i] = (1 - c->cs) * c->ps[i] + csn * s;
    ps2 += c->ps[i] * c->ps[i];
  }
  const double psnorm = sqrt(ps2);
  c->generation++;
  c->evals += lam;

  /* h_sigma stalls p_c while ||p_sigma|| is large (sigma growing fast):
   * ||p_sigma|| / sqrt(1 - (1 - c_s)^(2 (g + 1))) < (1.4 + 2 / (n + 1)) E||N(0, I)|| */
  c->decay *= (1 - c->cs) * (1 - c->cs);
  const int hsig = psnorm / sqrt(1 - c->decay) < (1.4 + 2.0 / (n + 1)) * c->chin;
  const double ccn = sqrt(c->cc * (2 - c->cc) * c->mueff);
  for (int i = 0; i < n; i++) c->pc[i] = (1 - c->cc) * c->pc[i] + (hsig ? ccn * c->yw[i] : 0);

  /* C = (1 - c1 - cmu) C + c1 (p_c p_c^T + delta(h_sigma) C) + cmu sum w_i y_i y_i^T with
   * delta = (1 - h_sigma) c_c (2 - c_c); the upper triangle, mirrored (exact symmetry). */
  const double a = 1 - c->c1 - c->cmu + (hsig ? 0 : c->c1 * c->cc * (2 - c->cc));
  for (int i = 0; i < n; i++)
    for (int j = i; j < n; j++) {
      double r = 0;
      for (int k = 0; k < mu; k++) r += c->w[k] * c->y[k * n + i] * c->y[k * n + j];
      double v = a * c->C[i * n + j] + c->c1 * c->pc[i] * c->pc[j] + c->cmu * r;
      c->C[i * n + j] = c->C[j * n + i] = v;
    }

  /* sigma *= exp(c_s / d_sigma (||p_sigma|| / E||N(0, I)|| - 1)) */
  c->sigma *= det_exp(c->cs / c->damps * (psnorm / c->chin - 1));
  if (!(c->sigma > 0) || !isfinite(c->sigma))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "cmaes: sigma became %g at generation %d", c->sigma,
                   c->generation);

  if ((double)(c->evals - c->eigen_evals) > c->eigen_gap) {
    c->eigen_evals = c->evals;
    return decompose(c);
  }
  return RP_OK;
}

int rp_cmaes_dim(const rp_cmaes *c) { return c->n; }
int rp_cmaes_lambda(const rp_cmaes *c) { return c->lambda; }
int rp_cmaes_mu(const rp_cmaes *c) { return c->mu; }
const double *rp_cmaes_weights(const rp_cmaes *c) { return c->w; }
double rp_cmaes_mueff(const rp_cmaes *c) { return c->mueff; }
int rp_cmaes_generation(const rp_cmaes *c) { return c->generation; }
long long rp_cmaes_evaluations(const rp_cmaes *c) { return c->evals; }
double rp_cmaes_sigma(const rp_cmaes *c) { return c->sigma; }
const double *rp_cmaes_mean(const rp_cmaes *c) { return c->mean; }

const double *rp_cmaes_best(const rp_cmaes *c, double *fitness) {
  if (fitness) *fitness = c->has_best ? c->best_f : HUGE_VAL;
  return c->has_best ? c->best_x : NULL;
}

double rp_cmaes_condition(const rp_cmaes *c) {
  double lo = c->D[0], hi = c->D[0];
  for (int i = 1; i < c->n; i++) lo = fmin(lo, c->D[i]), hi = fmax(hi, c->D[i]);
  return (hi / lo) * (hi / lo);
}

const char *rp_cmaes_stop(const rp_cmaes *c, double tolfun, double tolx) {
  if (c->generation == 0) return NULL;
  const int n = c->n;
  if (tolfun > 0 && c->last_range < tolfun && c->hist_len == c->hist_cap) {
    double lo = c->hist[0], hi = c->hist[0];
    for (int i = 1; i < c->hist_len; i++) lo = fmin(lo, c->hist[i]), hi = fmax(hi, c->hist[i]);
    if (hi - lo < tolfun) return "tolfun";
  }
  if (tolx > 0) {
    int small = 1;
    for (int i = 0; i < n && small; i++)
      small = c->sigma * sqrt(c->C[i * n + i]) < tolx && c->sigma * fabs(c->pc[i]) < tolx;
    if (small) return "tolx";
  }
  if (rp_cmaes_condition(c) > 1e14) return "condition";
  return NULL;
}

/* ---- save and load. cJSON prints doubles with 15 digits when they compare equal within
 * DBL_EPSILON, which is not exact; so numbers go in as raw %.17g text (exact round trip
 * through strtod), and the non-finite ones, which JSON lacks, as strings. */

static cJSON *num(double v) {
  char buf[32];
  if (!isfinite(v)) return cJSON_CreateString(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
  snprintf(buf, sizeof buf, "%.17g", v);
  return cJSON_CreateRaw(buf);
}

static int add_num(cJSON *o, const char *name, double v) {
  cJSON *item = num(v);
  return item && cJSON_AddItemToObject(o, name, item);
}

static int add_array(cJSON *o, const char *name, const double *v, size_t len) {
  cJSON *a = cJSON_AddArrayToObject(o, name);
  for (size_t i = 0; a && i < len; i++) {
    cJSON *item = num(v[i]);
    if (!item || !cJSON_AddItemToArray(a, item)) return 0;
  }
  return a != NULL;
}

static cJSON *hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  return cJSON_CreateString(buf);
}

static int add_hex(cJSON *array, uint64_t v) {
  cJSON *item = hex(v);
  return item && cJSON_AddItemToArray(array, item);
}

char *rp_cmaes_save(const rp_cmaes *c) {
  const size_t n = (size_t)c->n, nn = n * n;
  cJSON *o = cJSON_CreateObject();
  int ok = o && cJSON_AddStringToObject(o, "format", FORMAT) &&
           cJSON_AddNumberToObject(o, "dim", c->n) &&
           cJSON_AddNumberToObject(o, "lambda", c->lambda) &&
           cJSON_AddNumberToObject(o, "generation", c->generation) &&
           cJSON_AddNumberToObject(o, "evaluations", (double)c->evals) &&
           cJSON_AddNumberToObject(o, "eigen_evaluations", (double)c->eigen_evals) &&
           add_num(o, "sigma", c->sigma) && add_num(o, "decay", c->decay) &&
           add_array(o, "mean", c->mean, n) && add_array(o, "pc", c->pc, n) &&
           add_array(o, "ps", c->ps, n) && add_array(o, "C", c->C, nn) &&
           add_array(o, "B", c->B, nn) && add_array(o, "D", c->D, n);
  cJSON *r = ok ? cJSON_AddArrayToObject(o, "rng") : NULL;
  ok = r != NULL;
  for (int i = 0; ok && i < 4; i++) ok = add_hex(r, c->rng.s[i]);
  ok = ok && cJSON_AddBoolToObject(o, "rng_has_spare", c->rng.has_spare) &&
       add_num(o, "rng_spare", c->rng.spare);
  cJSON *seed = ok ? hex(c->seed) : NULL; /* for the record only */
  ok = seed && cJSON_AddItemToObject(o, "seed", seed);
  ok = ok && cJSON_AddBoolToObject(o, "has_best", c->has_best) &&
       add_num(o, "best_f", c->has_best ? c->best_f : HUGE_VAL) &&
       add_array(o, "best_x", c->best_x, n) && add_num(o, "last_range", c->last_range);
  /* The fitness history, oldest first. */
  cJSON *h = ok ? cJSON_AddArrayToObject(o, "history") : NULL;
  ok = h != NULL;
  for (int i = 0; ok && i < c->hist_len; i++) {
    cJSON *item = num(c->hist[(c->hist_pos - c->hist_len + i + c->hist_cap) % c->hist_cap]);
    ok = item && cJSON_AddItemToArray(h, item);
  }
  char *text = ok ? cJSON_Print(o) : NULL;
  cJSON_Delete(o);
  return text;
}

static int get_num(const cJSON *item, double *v) {
  if (cJSON_IsNumber(item)) {
    *v = item->valuedouble;
    return 1;
  }
  if (!cJSON_IsString(item)) return 0;
  const char *s = item->valuestring;
  if (strcmp(s, "inf") != 0 && strcmp(s, "-inf") != 0 && strcmp(s, "nan") != 0) return 0;
  *v = strtod(s, NULL);
  return 1;
}

static int get_field(const cJSON *o, const char *name, double *v) {
  return get_num(cJSON_GetObjectItemCaseSensitive(o, name), v);
}

static int get_int(const cJSON *o, const char *name, long long lo, long long hi, long long *v) {
  double d;
  if (!get_field(o, name, &d) || !(d >= (double)lo && d <= (double)hi) || d != floor(d)) return 0;
  *v = (long long)d;
  return 1;
}

static int get_array(const cJSON *o, const char *name, double *v, size_t len) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, name);
  if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != len) return 0;
  size_t i = 0;
  const cJSON *item;
  cJSON_ArrayForEach(item, a) if (!get_num(item, &v[i++])) return 0;
  return 1;
}

static int get_hex(const cJSON *item, uint64_t *v) {
  if (!cJSON_IsString(item) || strlen(item->valuestring) != 16) return 0;
  char *end;
  *v = (uint64_t)strtoull(item->valuestring, &end, 16);
  return *end == 0;
}

static int all_finite(const double *v, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!isfinite(v[i])) return 0;
  return 1;
}

/* Fills c's state from o; returns the name of the first field at fault, or NULL. */
static const char *load_state(rp_cmaes *c, const cJSON *o) {
  const size_t n = (size_t)c->n, nn = n * n;
  long long v;
  if (!get_int(o, "generation", 0, 1000000000, &v)) return "generation";
  c->generation = (int)v;
  if (!get_int(o, "evaluations", 0, 1ll << 52, &c->evals)) return "evaluations";
  if (!get_int(o, "eigen_evaluations", 0, c->evals, &c->eigen_evals)) return "eigen_evaluations";
  if (!get_field(o, "sigma", &c->sigma) || !(c->sigma > 0) || !isfinite(c->sigma)) return "sigma";
  if (!get_field(o, "decay", &c->decay) || !(c->decay >= 0 && c->decay <= 1)) return "decay";
  /* (finite: get_num takes "nan" and "inf", which only best_f, the history and the spare
   * normal may hold; a NaN mean would sample NaN candidates for ever) */
  if (!get_array(o, "mean", c->mean, n) || !all_finite(c->mean, n)) return "mean";
  if (!get_array(o, "pc", c->pc, n) || !all_finite(c->pc, n)) return "pc";
  if (!get_array(o, "ps", c->ps, n) || !all_finite(c->ps, n)) return "ps";
  if (!get_array(o, "C", c->C, nn) || !all_finite(c->C, nn)) return "C";
  if (!get_array(o, "B", c->B, nn) || !all_finite(c->B, nn)) return "B";
  if (!get_array(o, "D", c->D, n)) return "D";
  for (size_t i = 0; i < n; i++)
    if (!(c->D[i] > 0) || !isfinite(c->D[i])) return "D";
  const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "rng");
  if (!cJSON_IsArray(r) || cJSON_GetArraySize(r) != 4) return "rng";
  for (int i = 0; i < 4; i++)
    if (!get_hex(cJSON_GetArrayItem(r, i), &c->rng.s[i])) return "rng";
  const cJSON *spare = cJSON_GetObjectItemCaseSensitive(o, "rng_has_spare");
  if (!cJSON_IsBool(spare)) return "rng_has_spare";
  c->rng.has_spare = cJSON_IsTrue(spare);
  if (!get_field(o, "rng_spare", &c->rng.spare)) return "rng_spare";
  if (!get_hex(cJSON_GetObjectItemCaseSensitive(o, "seed"), &c->seed)) return "seed";
  const cJSON *has_best = cJSON_GetObjectItemCaseSensitive(o, "has_best");
  if (!cJSON_IsBool(has_best)) return "has_best";
  c->has_best = cJSON_IsTrue(has_best);
  if (!get_field(o, "best_f", &c->best_f)) return "best_f";
  if (!get_array(o, "best_x", c->best_x, n)) return "best_x";
  if (!get_field(o, "last_range", &c->last_range)) return "last_range";
  const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "history");
  int len = cJSON_GetArraySize(h);
  if (!cJSON_IsArray(h) || len > c->hist_cap || !get_array(o, "history", c->hist, (size_t)len))
    return "history";
  c->hist_len = len;
  c->hist_pos = len % c->hist_cap;
  compute_invsqrt(c);
  return NULL;
}

rp_status rp_cmaes_load(const char *json, rp_cmaes **out) {
  *out = NULL;
  cJSON *o = cJSON_Parse(json);
  if (!o) return rp_fail(RP_ERR_INVALID_ARGUMENT, "cmaes: load: the state is not JSON");
  const cJSON *format = cJSON_GetObjectItemCaseSensitive(o, "format");
  long long dim = 0, lambda = 0;
  rp_cmaes *c = NULL;
  rp_status st = RP_OK;
  const char *bad;
  if (!cJSON_IsString(format) || strcmp(format->valuestring, FORMAT) != 0)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "cmaes: load: format is not \"%s\"", FORMAT);
  else if (!get_int(o, "dim", 1, MAX_DIM, &dim) ||
           !get_int(o, "lambda", 2, RP_CMAES_MAX_LAMBDA, &lambda))
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "cmaes: load: dim or lambda missing or out of range");
  else if (!(c = alloc((int)dim, (int)lambda)))
    st = rp_fail(RP_ERR_OUT_OF_MEMORY, "cmaes: load: out of host memory");
  else if ((bad = load_state(c, o)))
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "cmaes: load: field \"%s\" missing or invalid", bad);
  cJSON_Delete(o);
  if (st) {
    rp_cmaes_destroy(c);
    return st;
  }
  *out = c;
  return RP_OK;
}
