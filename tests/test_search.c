/* The TaylorGLO search (runtime/meta/search.c) with a synthetic training function injected in
 * place of the trainer: rounding, invariant pruning (code / softmax / off, pruning or record
 * only), divergence, the retry rule, seed derivation, per-generation statistics, and resume
 * after a kill.
 *
 * Plain C, no device: the suite needs no Vulkan context, so no fixture teardown either. Every
 * check that "the search told CMA-ES x" replays an independent CMA-ES from the recorded
 * samples and fitnesses and compares its next samples bit for bit with the recorded ones. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta/cmaes.h"
#include "meta/search.h"
#include "support/tmpfiles.h"

TestSuite(search);

#define ASSERT_OK(expr)                                                                            \
  do {                                                                                             \
    rp_status st_ = (expr);                                                                        \
    cr_assert_eq(st_, RP_OK, "%s failed: %s", #expr, rp_error_message());                          \
  } while (0)

#define N RP_TGLO_GENOME

/* ---- the synthetic training function */

typedef struct call {
  int generation, candidate, attempt, check_epoch;
  uint64_t seed;
  double genome[N];
} call;

typedef struct fake {
  int calls;
  call log[4096];
  bool diverge;        /* theta1 > 0.8: RP_ERR_DIVERGED; theta1 < -1.2: diverged flag */
  bool nan_accuracy;   /* a4 > 1.5: returns a NaN accuracy */
  bool stuck;          /* the first stuck_tries() tries report 0.1499 at the check epoch */
  bool coarse;         /* accuracies in steps of 0.1, so that candidates tie */
  int kill_generation; /* >= 0: fail with a device loss at (kill_generation, kill_candidate) */
  int kill_candidate;
  int kill_attempt; /* ...at this try or a later one */
  bool zero;        /* every training that does not diverge scores accuracy 0 */
  int fail_first;   /* the first fail_first candidates of every generation diverge */
} fake;

static const double target[N] = {1.0, -0.5, 0.3, 0.8, -0.2, 0.1, 0.4, 0.6};

/* A smooth accuracy in (0.1, 0.9] peaking at `target`, plus a little seed-dependent noise (so
 * every result depends on the seed it was trained with). */
static double smooth_accuracy(const double *g, uint64_t seed) {
  double d2 = 0;
  for (int i = 0; i < N; i++) d2 += (g[i] - target[i]) * (g[i] - target[i]);
  return 0.1 + 0.8 * exp(-d2 / 8.0) + 0.001 * (double)(seed % 1000) / 1000.0;
}

static int stuck_tries(const double *g) { return (int)floor(fabs(g[1]) * 7.0) % 5; }

static rp_status fake_train(const rp_search_trial *t, void *user, rp_search_outcome *out) {
  fake *f = user;
  cr_assert(f->calls < 4096);
  call *c = &f->log[f->calls++];
  c->generation = t->generation;
  c->candidate = t->candidate;
  c->attempt = t->attempt;
  c->check_epoch = t->check_epoch;
  c->seed = t->seed;
  memcpy(c->genome, t->genome, sizeof c->genome);
  cr_assert(isnan(out->accuracy) && isnan(out->check_accuracy), "outcome not initialized");
  if (f->kill_generation >= 0 && t->generation == f->kill_generation &&
      t->candidate == f->kill_candidate && t->attempt >= f->kill_attempt)
    return rp_fail(RP_ERR_DEVICE_LOST, "fake: killed");
  out->seconds = 0.25 + 0.125 * t->attempt; /* exact in binary: sums are exact too */
  out->epochs = 35;
  const double *g = t->genome;
  if (t->candidate < f->fail_first) return rp_fail(RP_ERR_DIVERGED, "fake: diverged");
  if (f->diverge && g[7] > 0.8) {
    out->epochs = 3;
    return rp_fail(RP_ERR_DIVERGED, "fake: diverged");
  }
  if (f->diverge && g[7] < -1.2) {
    out->diverged = true;
    out->accuracy = 0.7; /* must be ignored */
    return RP_OK;
  }
  bool is_stuck = f->stuck && t->attempt < stuck_tries(g);
  /* just below the retry rule's 0.15 when stuck, else at it, which is not below */
  if (t->check_epoch > 0) out->check_accuracy = is_stuck ? 0.1499 : 0.15;
  out->accuracy = is_stuck ? 0.12 : smooth_accuracy(g, t->seed);
  if (f->coarse) out->accuracy = floor(out->accuracy * 10) / 10;
  if (f->nan_accuracy && g[3] > 1.5) out->accuracy = NAN;
  if (f->zero) out->accuracy = 0;
  return RP_OK;
}

static fake *fake_new(void) {
  fake *f = calloc(1, sizeof *f);
  cr_assert(f);
  f->kill_generation = -1;
  return f;
}

static void base_config(rp_search_config *cfg, fake *f) {
  rp_search_config_defaults(cfg);
  cfg->experiment = "test-search";
  cfg->seed = 7;
  cfg->generations = 5;
  cfg->train = fake_train;
  cfg->train_user = f;
}

/* ---- helpers */

static bool same_double(double a, double b) {
  uint64_t u, v;
  memcpy(&u, &a, sizeof u);
  memcpy(&v, &b, sizeof v);
  return u == v || (isnan(a) && isnan(b));
}

static bool same_vec(const double *a, const double *b) {
  for (int i = 0; i < N; i++)
    if (!same_double(a[i], b[i])) return false;
  return true;
}

static bool same_candidate(const rp_search_candidate *a, const rp_search_candidate *b) {
  return same_vec(a->sample, b->sample) && same_vec(a->genome, b->genome) &&
         same_double(a->code_lhs, b->code_lhs) && same_double(a->code_rhs, b->code_rhs) &&
         same_double(a->A, b->A) && same_double(a->B, b->B) && a->code_valid == b->code_valid &&
         a->softmax_valid == b->softmax_valid && a->pruned == b->pruned && a->failed == b->failed &&
         a->tries == b->tries && a->seed == b->seed &&
         same_double(a->check_accuracy, b->check_accuracy) && a->epochs == b->epochs &&
         same_double(a->accuracy, b->accuracy) && same_double(a->seconds, b->seconds);
}

static bool same_generation(const rp_search_generation *a, const rp_search_generation *b) {
  if (a->generation != b->generation || a->lambda != b->lambda ||
      !same_double(a->sigma, b->sigma) || !same_double(a->sigma_next, b->sigma_next) ||
      !same_double(a->best, b->best) || !same_double(a->mean, b->mean) ||
      !same_double(a->min, b->min) || !same_double(a->mean_trained, b->mean_trained) ||
      a->best_candidate != b->best_candidate || a->trained != b->trained ||
      a->pruned != b->pruned || a->failed != b->failed || a->retries != b->retries ||
      a->code_violations != b->code_violations || a->softmax_violations != b->softmax_violations ||
      !same_double(a->seconds, b->seconds) || !same_double(a->total_seconds, b->total_seconds) ||
      !same_vec(a->best_genome, b->best_genome) ||
      !same_double(a->best_accuracy, b->best_accuracy) ||
      a->best_generation != b->best_generation || a->best_index != b->best_index)
    return false;
  for (int k = 0; k < a->lambda; k++)
    if (!same_candidate(&a->candidates[k], &b->candidates[k])) return false;
  return true;
}

static void assert_same_results(const rp_search_result *a, const rp_search_result *b) {
  cr_assert_eq(a->generation_count, b->generation_count);
  for (int i = 0; i < a->generation_count; i++)
    cr_assert(same_generation(&a->generations[i], &b->generations[i]), "generation %d differs", i);
  cr_assert(same_vec(a->genome, b->genome));
  cr_assert(same_double(a->accuracy, b->accuracy));
  cr_assert_eq(a->best_generation, b->best_generation);
  cr_assert_eq(a->best_index, b->best_index);
}

/* Replays CMA-ES from the records: the same seed, told 1 - accuracy of the recorded samples,
 * must ask exactly the recorded samples of the next generation. So every candidate (pruned and
 * failed ones with accuracy 0) entered the update with 1 - its recorded accuracy. */
static void assert_told(const rp_search_config *cfg, const rp_search_result *r) {
  int lambda = r->generations[0].lambda;
  rp_cmaes_options o = {.dim = N,
                        .lambda = lambda,
                        .sigma0 = cfg->sigma0,
                        .seed = rp_search_cmaes_seed(cfg->experiment, cfg->seed)};
  rp_cmaes *c;
  ASSERT_OK(rp_cmaes_create(&o, &c));
  double *x = malloc((size_t)lambda * N * sizeof *x), *f = malloc((size_t)lambda * sizeof *f);
  for (int g = 0; g < r->generation_count; g++) {
    const rp_search_generation *gen = &r->generations[g];
    cr_assert(same_double(gen->sigma, rp_cmaes_sigma(c)), "generation %d sigma", g);
    ASSERT_OK(rp_cmaes_ask(c, x));
    for (int k = 0; k < lambda; k++) {
      cr_assert(same_vec(x + (size_t)k * N, gen->candidates[k].sample),
                "generation %d candidate %d: not the sample CMA-ES asks", g, k);
      f[k] = 1.0 - gen->candidates[k].accuracy;
    }
    ASSERT_OK(rp_cmaes_tell(c, x, f));
    cr_assert(same_double(gen->sigma_next, rp_cmaes_sigma(c)));
  }
  free(x);
  free(f);
  rp_cmaes_destroy(c);
}

/* Recomputes every statistic of every generation from its candidates. */
static void assert_stats(const rp_search_result *r) {
  double total = 0, best_acc = NAN;
  int best_g = -1, best_k = -1;
  for (int g = 0; g < r->generation_count; g++) {
    const rp_search_generation *gen = &r->generations[g];
    cr_assert_eq(gen->generation, g);
    double best = -1, min = 2, sum = 0, sum_ok = 0, seconds = 0;
    int trained = 0, pruned = 0, failed = 0, retries = 0, cv = 0, sv = 0, ok = 0, arg = -1;
    for (int k = 0; k < gen->lambda; k++) {
      const rp_search_candidate *c = &gen->candidates[k];
      if (c->accuracy > best) best = c->accuracy, arg = k;
      if (c->accuracy < min) min = c->accuracy;
      sum += c->accuracy;
      trained += !c->pruned;
      pruned += c->pruned;
      failed += c->failed;
      cr_assert(!(c->pruned && c->failed));
      cr_assert(c->pruned ? c->tries == 0 : c->tries >= 1);
      retries += c->tries > 1 ? c->tries - 1 : 0;
      cv += !c->code_valid;
      sv += !c->softmax_valid;
      seconds += c->seconds;
      if (!c->pruned && !c->failed) sum_ok += c->accuracy, ok++;
      if (!c->pruned && !c->failed && (best_g < 0 || c->accuracy > best_acc))
        best_acc = c->accuracy, best_g = g, best_k = k;
    }
    total += seconds;
    cr_assert_eq(gen->best, best);
    cr_assert_eq(gen->best_candidate, arg);
    cr_assert_eq(gen->min, min);
    cr_assert_float_eq(gen->mean, sum / gen->lambda, 1e-15);
    if (ok)
      cr_assert_float_eq(gen->mean_trained, sum_ok / ok, 1e-15);
    else
      cr_assert(isnan(gen->mean_trained));
    cr_assert_eq(gen->trained, trained);
    cr_assert_eq(gen->pruned, pruned);
    cr_assert_eq(gen->failed, failed);
    cr_assert_eq(gen->retries, retries);
    cr_assert_eq(gen->code_violations, cv);
    cr_assert_eq(gen->softmax_violations, sv);
    cr_assert_eq(gen->seconds, seconds);
    cr_assert_eq(gen->total_seconds, total);
    cr_assert_eq(gen->best_generation, best_g);
    cr_assert_eq(gen->best_index, best_k);
    if (best_g >= 0) {
      cr_assert_eq(gen->best_accuracy, best_acc);
      cr_assert(same_vec(gen->best_genome, r->generations[best_g].candidates[best_k].genome));
    } else {
      cr_assert(isnan(gen->best_accuracy));
    }
    if (g > 0) cr_assert(same_double(gen->sigma, r->generations[g - 1].sigma_next));
  }
  cr_assert_eq(r->best_generation, best_g);
  cr_assert_eq(r->best_index, best_k);
  cr_assert_eq(rp_search_has_best(r), best_g >= 0);
  if (best_g >= 0) cr_assert_eq(r->accuracy, best_acc);
}

/* Writes `json` to `path` (a damaged state, as a hand or a bad disk leaves one) and frees it. */
static void write_and_delete(const char *path, cJSON *json) {
  char *text = cJSON_Print(json);
  FILE *f = fopen(path, "wb");
  cr_assert(f && text, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
  cJSON_free(text);
  cJSON_Delete(json);
}

static char *temp_dir(void) {
  char *d = strdup("/tmp/test_search_XXXXXX");
  cr_assert(mkdtemp(d));
  return d;
}

static char *path_in(const char *dir, const char *name) {
  char *p = malloc(strlen(dir) + strlen(name) + 2);
  sprintf(p, "%s/%s", dir, name);
  return p;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  cr_assert(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  return s;
}

static void copy_file(const char *from, const char *to) {
  char *s = slurp(from);
  FILE *f = fopen(to, "wb");
  cr_assert(f);
  fputs(s, f);
  fclose(f);
  free(s);
}

/* ---- tests */

Test(search, defaults_and_names) {
  rp_search_config cfg;
  rp_search_config_defaults(&cfg);
  cr_assert_eq(rp_search_default_lambda(), 10);
  cr_assert_eq(cfg.sigma0, 1.2);
  cr_assert_eq(cfg.retry_epoch, 10);
  cr_assert_eq(cfg.retry_below, 0.15);
  cr_assert_eq(cfg.retries, 2); /* taylorglo.md §5: "up to 3 tries" */
  cr_assert_eq(cfg.classes, 10);
  rp_search_invariant inv;
  ASSERT_OK(rp_search_parse_invariant("softmax", &inv));
  cr_assert_eq(inv, RP_SEARCH_INV_SOFTMAX);
  ASSERT_OK(rp_search_parse_invariant("off", &inv));
  cr_assert_eq(inv, RP_SEARCH_INV_OFF);
  cr_assert_eq(rp_search_parse_invariant("Code", &inv), RP_ERR_INVALID_ARGUMENT);
  rp_search_fitness fit;
  ASSERT_OK(rp_search_parse_fitness("fgsm", &fit));
  cr_assert_eq(fit, RP_SEARCH_FIT_FGSM);
  cr_assert_str_eq(rp_search_invariant_name(RP_SEARCH_INV_CODE), "code");
  /* No train function: refused. */
  rp_search_result r;
  cr_assert_eq(rp_search_run(&cfg, &r), RP_ERR_INVALID_ARGUMENT);
  rp_search_result_free(&r);
}

Test(search, round4) {
  struct {
    double x, want;
  } cases[] = {
      {1.23456, 1.2346}, {-2.71828, -2.7183}, {0.12345, 0.1235}, /* binary just above the tie */
      {0.00035, 0.0003},                                         /* just below: x*1e4 rounds up */
      {0.00095, 0.0009}, {1.00005, 1.0001},   {0.03125, 0.0312}, /* exact tie: to even */
      {0.09375, 0.0938}, {8.2896, 8.2896},    {-10.9408, -10.9408}, {1234567.123456, 1234567.1235},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    cr_assert(same_double(rp_search_round4(cases[i].x), cases[i].want), "round4(%.17g) = %.17g",
              cases[i].x, rp_search_round4(cases[i].x));
  cr_assert_eq(rp_search_round4(-0.00004), 0.0);
  /* Random values: within half a unit of the 4th decimal, and a fixed point. */
  uint64_t s = 12345;
  for (int i = 0; i < 10000; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    double x = ((double)(s >> 11) * 0x1.0p-53 - 0.5) * 40.0;
    double r = rp_search_round4(x);
    cr_assert_leq(fabs(r - x), 0.00005 * (1 + 1e-9));
    cr_assert(same_double(rp_search_round4(r), r));
    cr_assert_float_eq(r * 1e4, round(r * 1e4), 1e-6);
  }

  /* In a search, every trained genome is the rounded sample. */
  fake *f = fake_new();
  rp_search_config cfg;
  base_config(&cfg, f);
  cfg.generations = 2;
  rp_search_result r;
  ASSERT_OK(rp_search_run(&cfg, &r));
  for (int c = 0; c < f->calls; c++) {
    const rp_search_candidate *cand =
        &r.generations[f->log[c].generation].candidates[f->log[c].candidate];
    for (int i = 0; i < N; i++) {
      cr_assert(same_double(cand->genome[i], rp_search_round4(cand->sample[i])));
      cr_assert(same_double(f->log[c].genome[i], cand->genome[i]));
    }
  }
  cr_assert_eq(f->calls, 20);
  rp_search_result_free(&r);
  free(f);
}

/* Runs a search under one invariant setting and checks the pruning bookkeeping against the
 * verdicts recomputed from the rounded genomes. */
static void check_pruning(rp_search_invariant inv, bool prune, int *pruned_total,
                          int *violations_total) {
  fake *f = fake_new();
  rp_search_config cfg;
  base_config(&cfg, f);
  cfg.invariant = inv;
  cfg.prune = prune;
  cfg.generations = 4;
  cfg.lambda = 12;
  rp_search_result r;
  ASSERT_OK(rp_search_run(&cfg, &r));
  cr_assert_eq(r.generation_count, 4);
  bool trained_flag[4][12] = {{false}};
  for (int c = 0; c < f->calls; c++) trained_flag[f->log[c].generation][f->log[c].candidate] = true;
  *pruned_total = *violations_total = 0;
  for (int g = 0; g < 4; g++) {
    const rp_search_generation *gen = &r.generations[g];
    int pruned = 0, cv = 0, sv = 0;
    for (int k = 0; k < 12; k++) {
      const rp_search_candidate *c = &gen->candidates[k];
      rp_taylorglo t = rp_taylorglo_from_genome(c->genome, RP_TGLO_CODE);
      rp_tglo_analysis a;
      ASSERT_OK(rp_taylorglo_analyze(&t, 10, &a));
      cr_assert_eq(c->code_valid, a.code_valid);
      cr_assert_eq(c->softmax_valid, a.softmax_valid);
      cr_assert(same_double(c->code_lhs, a.code_lhs) && same_double(c->code_rhs, a.code_rhs));
      cr_assert(same_double(c->A, a.A) && same_double(c->B, a.B));
      bool violates = inv == RP_SEARCH_INV_CODE      ? !a.code_valid
                      : inv == RP_SEARCH_INV_SOFTMAX ? !a.softmax_valid
                                                     : false;
      bool want_pruned = prune && violates;
      cr_assert_eq(c->pruned, want_pruned, "gen %d cand %d", g, k);
      cr_assert_eq(trained_flag[g][k], !want_pruned, "gen %d cand %d trained?", g, k);
      if (want_pruned) {
        cr_assert_eq(c->accuracy, 0.0);
        cr_assert_eq(c->tries, 0);
        cr_assert_eq(c->seconds, 0.0);
      } else {
        cr_assert_gt(c->accuracy, 0.0);
      }
      pruned += want_pruned;
      cv += !a.code_valid;
      sv += !a.softmax_valid;
      *violations_total += violates;
    }
    cr_assert_eq(gen->pruned, pruned);
    cr_assert_eq(gen->trained, 12 - pruned);
    cr_assert_eq(gen->code_violations, cv);
    cr_assert_eq(gen->softmax_violations, sv);
    *pruned_total += pruned;
  }
  assert_stats(&r);
  assert_told(&cfg, &r); /* pruned candidates told with fitness 1 */
  rp_search_result_free(&r);
  free(f);
}

Test(search, pruning_modes) {
  int pruned, violations;
  check_pruning(RP_SEARCH_INV_CODE, true, &pruned, &violations);
  cr_assert_gt(pruned, 0, "the code invariant pruned nothing: the test proves nothing");
  cr_assert_eq(pruned, violations);
  int code_pruned = pruned;
  check_pruning(RP_SEARCH_INV_SOFTMAX, true, &pruned, &violations);
  cr_assert_gt(pruned, 0, "the softmax invariant pruned nothing: the test proves nothing");
  cr_assert_eq(pruned, violations);
  /* The code test is the stronger one (on these samples, more candidates fail it). */
  cr_assert_geq(code_pruned, pruned);
  check_pruning(RP_SEARCH_INV_CODE, false, &pruned, &violations); /* record only */
  cr_assert_eq(pruned, 0);
  cr_assert_gt(violations, 0);
  check_pruning(RP_SEARCH_INV_OFF, true, &pruned, &violations);
  cr_assert_eq(pruned, 0);
}

Test(search, divergence_counts_as_failed) {
  fake *f = fake_new();
  f->diverge = true;
  f->nan_accuracy = true;
  f->stuck = true; /* a diverged run is not retried even when it would be stuck */
  rp_search_config cfg;
  base_config(&cfg, f);
  cfg.generations = 4;
  rp_search_result r;
  ASSERT_OK(rp_search_run(&cfg, &r));
  int failed = 0, by_status = 0, by_flag = 0, by_nan = 0;
  for (int g = 0; g < r.generation_count; g++)
    for (int k = 0; k < r.generations[g].lambda; k++) {
      const rp_search_candidate *c = &r.generations[g].candidates[k];
      bool st = c->genome[7] > 0.8, flag = c->genome[7] < -1.2;
      bool nan = !st && !flag && c->genome[3] > 1.5;
      if (st || flag) cr_assert_eq(c->tries, 1, "a diverged run was retried");
      if (st || flag || nan) {
        cr_assert(c->failed, "gen %d cand %d should have failed", g, k);
        cr_assert_eq(c->accuracy, 0.0);
        failed++;
        by_status += st;
        by_flag += flag;
        by_nan += nan;
      }
      if (!c->failed) cr_assert_gt(c->accuracy, 0.0);
    }
  cr_assert(by_status > 0 && by_flag > 0 && by_nan > 0, "status %d flag %d nan %d", by_status,
            by_flag, by_nan);
  int counted = 0;
  for (int g = 0; g < r.generation_count; g++) counted += r.generations[g].failed;
  cr_assert_eq(counted, failed);
  assert_stats(&r);
  assert_told(&cfg, &r); /* failed candidates told with fitness 1 */
  rp_search_result_free(&r);
  free(f);
}

/* The best loss is the best candidate that trained successfully, at accuracy 0 too, and never
 * a failed one: with every candidate at 0 and the first of each generation diverged, it is the
 * second of the first generation (also as the state reads back); with every one diverged there
 * is none. */
Test(search, a_best_at_0_is_a_best_and_a_failed_candidate_never_is) {
  char *dir = temp_dir();
  char *path = path_in(dir, "state.json");
  fake *f = fake_new();
  f->zero = true;
  f->fail_first = 1;
  rp_search_config cfg;
  base_config(&cfg, f);
  cfg.generations = 2;
  cfg.lambda = 4;
  cfg.invariant = RP_SEARCH_INV_OFF; /* every candidate trains */
  cfg.prune = false;
  cfg.state_path = path;
  rp_search_result r;
  ASSERT_OK(rp_search_run(&cfg, &r));
  assert_stats(&r);
  cr_assert(r.generations[0].candidates[0].failed && !r.generations[0].candidates[1].failed);
  cr_assert(rp_search_has_best(&r));
  cr_assert_eq(r.best_generation, 0);
  cr_assert_eq(r.best_index, 1);
  cr_assert_eq(r.accuracy, 0.0);
  rp_search_result_free(&r);
  ASSERT_OK(rp_search_read_state(path, &r));
  cr_assert(rp_search_has_best(&r));
  cr_assert_eq(r.best_index, 1);
  rp_search_result_free(&r);
  cr_assert_eq(remove(path), 0);

  f->fail_first = cfg.lambda;
  ASSERT_OK(rp_search_run(&cfg, &r));
  assert_stats(&r);
  cr_assert_not(rp_search_has_best(&r));
  cr_assert(isnan(r.accuracy));
  rp_search_result_free(&r);
  ASSERT_OK(rp_search_read_state(path, &r));
  cr_assert_not(rp_search_has_best(&r));
  rp_search_result_free(&r);
  cr_assert_eq(remove(path), 0);
  cr_assert_eq(rmdir(dir), 0);
  free(path);
  free(dir);
  free(f);
}

/* Candidates that tie (validation accuracies are multiples of 1 / images, so they do): the
 * first to reach an accuracy stays the best, in a generation and over the search
 * (assert_stats), and a generation's best is its first. */
Test(search, ties_go_to_the_first_candidate) {
  fake *f = fake_new();
  f->coarse = true;
  rp_search_config cfg;
  base_config(&cfg, f);
  rp_search_result r;
  ASSERT_OK(rp_search_run(&cfg, &r));
  assert_stats(&r);
  int ties = 0, later = 0;
  double so_far = -1; /* the best of the generations before */
  for (int g = 0; g < r.generation_count; g++) {
    const rp_search_generation *gen = &r.generations[g];
    for (int k = gen->best_candidate + 1; k < gen->lambda; k++)
      ties += gen->candidates[k].accuracy == gen->best;
    later += gen->best == so_far;
    so_far = fmax(so_far, gen->best);
  }
  cr_assert_gt(ties, 0, "no candidate tied a generation's best: the test proves nothing");
  cr_assert_gt(later, 0, "no generation tied the best before it: the test proves nothing");
  rp_search_result_free(&r);
  free(f);
}

Test(search, retry_rule) {
  fake *f = fake_new();
  f->stuck = true;
  rp_search_config cfg;
  base_config(&cfg, f);
  cfg.generations = 3;
  rp_search_result r;
  ASSERT_OK(rp_search_run(&cfg, &r));
  int per_candidate[3][10] = {{0}}, retried = 0, exhausted = 0;
  for (int c = 0; c < f->calls; c++) {
    const call *l = &f->log[c];
    cr_assert_eq(l->attempt, per_candidate[l->generation][l->candidate]++, "tries out of order");
    cr_assert_eq(l->seed,
                 rp_search_trial_seed("test-search", 7, l->generation, l->candidate, l->attempt));
    /* The check applies while a retry remains; the last allowed try is final. */
    cr_assert_eq(l->check_epoch, l->attempt < 2 ? 10 : 0);
    for (int d = 0; d < c; d++) cr_assert_neq(f->log[d].seed, l->seed, "seed reused");
  }
  for (int g = 0; g < 3; g++) {
    int retries = 0;
    for (int k = 0; k < 10; k++) {
      const rp_search_candidate *cand = &r.generations[g].candidates[k];
      int stuck = stuck_tries(cand->genome);
      /* taylorglo.md §5: "retried (up to 3 tries)": 3 trainings at most, the default */
      int want = stuck < 3 ? stuck + 1 : 3;
      cr_assert_eq(cand->tries, want, "gen %d cand %d: %d tries, stuck %d", g, k, cand->tries,
                   stuck);
      cr_assert_eq(per_candidate[g][k], want);
      cr_assert_eq(cand->seed, rp_search_trial_seed("test-search", 7, g, k, want - 1));
      /* The accuracy is the last try's. */
      double acc = stuck >= 3 ? 0.12 : smooth_accuracy(cand->genome, cand->seed);
      cr_assert(same_double(cand->accuracy, acc));
      cr_assert_eq(cand->seconds, 0.25 * want + 0.125 * want * (want - 1) / 2);
      retries += want - 1;
      retried += want > 1;
      exhausted += stuck >= 3;
    }
    cr_assert_eq(r.generations[g].retries, retries);
  }
  cr_assert_gt(retried, 0, "nothing was retried: the test proves nothing");
  cr_assert_gt(exhausted, 0, "no candidate exhausted its retries: the test proves nothing");
  assert_stats(&r);
  rp_search_result_free(&r);

  /* Adversarial fitness: no retries, no check. */
  f->calls = 0;
  cfg.fitness = RP_SEARCH_FIT_FGSM;
  ASSERT_OK(rp_search_run(&cfg, &r));
  cr_assert_eq(f->calls, 30);
  for (int c = 0; c < f->calls; c++)
    cr_assert(f->log[c].attempt == 0 && f->log[c].check_epoch == 0);
  rp_search_result_free(&r);
  /* retries 1: at most two tries. */
  f->calls = 0;
  cfg.fitness = RP_SEARCH_FIT_ACCURACY;
  cfg.retries = 1;
  ASSERT_OK(rp_search_run(&cfg, &r));
  for (int c = 0; c < f->calls; c++) {
    cr_assert_leq(f->log[c].attempt, 1);
    cr_assert_eq(f->log[c].check_epoch, f->log[c].attempt == 0 ? 10 : 0);
  }
  rp_search_result_free(&r);
  free(f);
}

Test(search, seeds_follow_identity) {
  /* Distinct over a grid of identities, and a function of the identity alone. */
  enum { G = 6, C = 12, A = 4 };
  static uint64_t seeds[G * C * A];
  int n = 0;
  for (int g = 0; g < G; g++)
    for (int c = 0; c < C; c++)
      for (int a = 0; a < A; a++) seeds[n++] = rp_search_trial_seed("exp", 1, g, c, a);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++) cr_assert_neq(seeds[i], seeds[j]);
  n = G * C * A;
  for (int g = G - 1; g >= 0; g--) /* the reverse order gives the same seeds */
    for (int c = C - 1; c >= 0; c--)
      for (int a = A - 1; a >= 0; a--)
        cr_assert_eq(rp_search_trial_seed("exp", 1, g, c, a), seeds[--n]);
  cr_assert_neq(rp_search_trial_seed("exp", 1, 0, 0, 0), rp_search_trial_seed("exp2", 1, 0, 0, 0));
  cr_assert_neq(rp_search_trial_seed("exp", 1, 0, 0, 0), rp_search_trial_seed("exp", 2, 0, 0, 0));
  cr_assert_neq(rp_search_cmaes_seed("exp", 1), rp_search_cmaes_seed("exp2", 1));

  /* In searches: a candidate's seed does not depend on what ran before it. With pruning, the
   * candidates before it trained differently (fewer trainings, other retries), yet the first
   * generation's trained candidates get the same seeds as without pruning. */
  fake *a = fake_new(), *b = fake_new();
  a->stuck = b->stuck = true;
  rp_search_config ca, cb;
  base_config(&ca, a);
  base_config(&cb, b);
  ca.generations = cb.generations = 1;
  cb.invariant = RP_SEARCH_INV_CODE;
  rp_search_result ra, rb;
  ASSERT_OK(rp_search_run(&ca, &ra));
  ASSERT_OK(rp_search_run(&cb, &rb));
  cr_assert_gt(rb.generations[0].pruned, 0);
  for (int k = 0; k < 10; k++) {
    const rp_search_candidate *x = &ra.generations[0].candidates[k],
                              *y = &rb.generations[0].candidates[k];
    cr_assert(same_vec(x->sample, y->sample));
    if (!y->pruned) cr_assert(same_candidate(x, y), "candidate %d differs", k);
    cr_assert_eq(x->seed, rp_search_trial_seed("test-search", 7, 0, k, x->tries - 1));
  }
  rp_search_result_free(&ra);
  rp_search_result_free(&rb);
  free(a);
  free(b);
}

static int candidates_seen;
static void on_cand(int generation, int index, const rp_search_candidate *c, void *user) {
  (void)user;
  cr_assert_eq(generation * 10 + index, candidates_seen, "candidate callback out of order");
  cr_assert(c->pruned || c->tries >= 1);
  candidates_seen++;
}

static int calls_seen;
static int stop_after;
static int on_gen(const rp_search_generation *g, void *user) {
  (void)user;
  cr_assert_eq(g->generation, calls_seen, "callback out of order");
  calls_seen++;
  return stop_after > 0 && calls_seen >= stop_after;
}

Test(search, stats_and_callback) {
  fake *f = fake_new();
  f->stuck = true;
  f->diverge = true;
  rp_search_config cfg;
  base_config(&cfg, f);
  cfg.retries = 3; /* four tries: fewer candidates stuck at 0.12 on this landscape */
  cfg.invariant = RP_SEARCH_INV_SOFTMAX;
  cfg.generations = 8;
  cfg.on_generation = on_gen;
  cfg.on_candidate = on_cand;
  calls_seen = 0;
  stop_after = 0;
  candidates_seen = 0;
  rp_search_result r;
  ASSERT_OK(rp_search_run(&cfg, &r));
  cr_assert_eq(calls_seen, 8);
  cr_assert_eq(candidates_seen, 80);
  cfg.on_candidate = NULL;
  cr_assert_eq(r.generation_count, 8);
  cr_assert_eq(r.resumed_from, 0);
  cr_assert(!r.stopped_by_callback);
  cr_assert(same_double(r.generations[0].sigma, 1.2));
  assert_stats(&r);
  assert_told(&cfg, &r);
  /* On this smooth fitness CMA-ES gets somewhere. */
  cr_assert_gt(r.accuracy, r.generations[0].best);
  rp_search_result_free(&r);

  /* The callback can stop the search. */
  calls_seen = 0;
  stop_after = 3;
  ASSERT_OK(rp_search_run(&cfg, &r));
  cr_assert_eq(r.generation_count, 3);
  cr_assert(r.stopped_by_callback);
  rp_search_result_free(&r);
  free(f);
}

/* A search killed mid-generation and resumed gives the records, the best and the state file of
 * the uninterrupted search, bit for bit, without training again the candidates settled before
 * the kill. */
Test(search, resume_after_kill) {
  char *dir = temp_dir();
  char *full_path = path_in(dir, "full.json"), *kill_path = path_in(dir, "killed.json");
  char *early_path = path_in(dir, "early.json"), *tmp_path = path_in(dir, "killed.json.tmp");
  fake *f = fake_new();
  f->stuck = true;
  f->diverge = true;
  rp_search_config cfg;
  base_config(&cfg, f);
  cfg.invariant = RP_SEARCH_INV_CODE;
  cfg.generations = 6;
  cfg.on_generation = on_gen;
  calls_seen = 0;
  stop_after = 0;

  cfg.state_path = full_path;
  rp_search_result full;
  ASSERT_OK(rp_search_run(&cfg, &full));
  cr_assert_eq(full.generation_count, 6);

  /* Killed (a device loss) in the middle of generation 3: three generations are saved. */
  cfg.state_path = kill_path;
  f->kill_generation = 3;
  f->kill_candidate = 4;
  calls_seen = 0;
  rp_search_result part;
  cr_assert_eq(rp_search_run(&cfg, &part), RP_ERR_DEVICE_LOST);
  cr_assert_eq(part.generation_count, 3);
  rp_search_result_free(&part);
  rp_search_result saved;
  ASSERT_OK(rp_search_read_state(kill_path, &saved));
  cr_assert_eq(saved.generation_count, 3);
  for (int g = 0; g < 3; g++)
    cr_assert(same_generation(&saved.generations[g], &full.generations[g]));
  /* ...and the four candidates of generation 3 settled before the kill. */
  cr_assert_eq(saved.settled, 4);
  for (int k = 0; k < 4; k++)
    cr_assert(same_candidate(&saved.in_progress[k], &full.generations[3].candidates[k]),
              "settled candidate %d differs", k);
  rp_search_result_free(&saved);

  /* A torn temporary file left by a kill during a write is harmless. */
  FILE *t = fopen(tmp_path, "wb");
  fputs("{\"format\": \"repro-tay", t);
  fclose(t);

  /* Resume. */
  f->kill_generation = -1;
  f->calls = 0;
  calls_seen = 3;
  rp_search_result resumed;
  ASSERT_OK(rp_search_run(&cfg, &resumed));
  cr_assert_eq(resumed.resumed_from, 3);
  cr_assert_eq(calls_seen, 6);
  cr_assert_gt(f->calls, 0);
  for (int c = 0; c < f->calls; c++)
    cr_assert(f->log[c].generation > 3 || (f->log[c].generation == 3 && f->log[c].candidate >= 4),
              "generation %d candidate %d was trained again", f->log[c].generation,
              f->log[c].candidate);
  assert_same_results(&full, &resumed);
  char *a = slurp(full_path), *b = slurp(kill_path);
  cr_assert_str_eq(a, b, "the resumed state file differs from the uninterrupted one");
  free(a);
  free(b);

  /* Killed between generations (the callback stops after generation 1), then resumed. */
  copy_file(full_path, early_path); /* also: resuming a finished search runs nothing */
  cfg.state_path = early_path;
  f->calls = 0;
  rp_search_result done;
  ASSERT_OK(rp_search_run(&cfg, &done));
  cr_assert_eq(f->calls, 0);
  assert_same_results(&full, &done);
  rp_search_result_free(&done);
  remove(early_path);
  calls_seen = 0;
  stop_after = 2;
  ASSERT_OK(rp_search_run(&cfg, &done));
  cr_assert_eq(done.generation_count, 2);
  rp_search_result_free(&done);
  stop_after = 0;
  ASSERT_OK(rp_search_run(&cfg, &done));
  assert_same_results(&full, &done);
  rp_search_result_free(&done);

  /* A state made with other settings is refused. */
  cfg.lambda = 12;
  cr_assert_eq(rp_search_run(&cfg, &done), RP_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(rp_error_message(), "other settings"), "%s", rp_error_message());
  rp_search_result_free(&done);
  cfg.lambda = 0;
  cfg.experiment = "another";
  cr_assert_eq(rp_search_run(&cfg, &done), RP_ERR_INVALID_ARGUMENT);
  rp_search_result_free(&done);

  /* Extending a finished search continues it: 6 -> 7 generations equals a fresh 7. */
  cfg.experiment = "test-search";
  cfg.generations = 7;
  cfg.state_path = kill_path;
  calls_seen = 6;
  rp_search_result longer;
  ASSERT_OK(rp_search_run(&cfg, &longer));
  cfg.state_path = NULL;
  calls_seen = 0;
  rp_search_result fresh;
  ASSERT_OK(rp_search_run(&cfg, &fresh));
  assert_same_results(&longer, &fresh);
  rp_search_result_free(&longer);
  rp_search_result_free(&fresh);

  rp_search_result_free(&resumed);
  rp_search_result_free(&full);
  remove(full_path);
  remove(kill_path);
  remove(early_path);
  remove(tmp_path);
  rmdir(dir);
  free(full_path);
  free(kill_path);
  free(early_path);
  free(tmp_path);
  free(dir);
  free(f);
}

Test(search, state_file_edges) {
  char *dir = temp_dir();
  char *path = path_in(dir, "state.json"), *bad = path_in(dir, "missing/state.json");
  fake *f = fake_new();
  rp_search_config cfg;
  base_config(&cfg, f);
  cfg.generations = 2;
  rp_search_result r;

  /* An unwritable state path fails before any training. */
  cfg.state_path = bad;
  cr_assert_eq(rp_search_run(&cfg, &r), RP_ERR_IO);
  cr_assert_eq(f->calls, 0);
  rp_search_result_free(&r);

  /* Killed in generation 0: the state holds no generation and resumes from the start. */
  cfg.state_path = path;
  f->kill_generation = 0;
  f->kill_candidate = 2;
  cr_assert_eq(rp_search_run(&cfg, &r), RP_ERR_DEVICE_LOST);
  rp_search_result_free(&r);
  ASSERT_OK(rp_search_read_state(path, &r));
  cr_assert_eq(r.generation_count, 0);
  cr_assert(isnan(r.accuracy));
  rp_search_result_free(&r);
  f->kill_generation = -1;
  rp_search_result resumed, fresh;
  ASSERT_OK(rp_search_run(&cfg, &resumed));
  cfg.state_path = NULL;
  ASSERT_OK(rp_search_run(&cfg, &fresh));
  assert_same_results(&fresh, &resumed);
  rp_search_result_free(&resumed);
  rp_search_result_free(&fresh);

  /* A damaged state names the member that is wrong by its JSON path: a generation count that
   * disagrees with the records, a best genome of the wrong length, a best that is not a
   * recorded candidate's, another format. */
  char *kept = read_file(path);
  cr_assert_not_null(kept);
  cJSON *intact = cJSON_Parse(kept);
  int held = cJSON_GetArraySize(cJSON_GetObjectItem(intact, "generations"));
  cJSON_Delete(intact);
  char count[16], count_message[120];
  snprintf(count, sizeof count, "%d", held + 3);
  snprintf(count_message, sizeof count_message,
           "$.generations_done is not the %d generations $.generations holds", held);
  char beyond[160], beyond_message[120];
  snprintf(beyond, sizeof beyond,
           "{\"accuracy\": 0.5, \"generation\": %d, \"index\": 0, \"genome\": "
           "[1, 2, 3, 4, 5, 6, 7, 8]}",
           held);
  snprintf(beyond_message, sizeof beyond_message,
           "$.best names generation %d, candidate 0 (accuracy 0.5), which it does not hold", held);
  const char *const damage[][3] = {
      {"generations_done", count, count_message},
      {"best", "{\"accuracy\": 0.5, \"generation\": 0, \"index\": 0, \"genome\": [1]}",
       "$.best.genome is not 8 numbers"},
      /* (an accuracy with no candidate sent the report past the records) */
      {"best",
       "{\"accuracy\": 0.5, \"generation\": -1, \"index\": 0, \"genome\": [1, 2, 3, 4, 5, "
       "6, 7, 8]}",
       "$.best names generation -1, candidate 0 (accuracy 0.5), which it does not hold"},
      {"best", beyond, beyond_message},
      {"format", "\"something else\"", "$.format is not \"repro-taylorglo-search-1\""},
  };
  cfg.state_path = path;
  for (size_t i = 0; i < sizeof damage / sizeof *damage; i++) {
    cJSON *state = cJSON_Parse(kept);
    cJSON_ReplaceItemInObject(state, damage[i][0], cJSON_Parse(damage[i][1]));
    write_and_delete(path, state);
    cr_assert_eq(rp_search_run(&cfg, &r), RP_ERR_INVALID_ARGUMENT, "%s", damage[i][0]);
    char expected[600];
    snprintf(expected, sizeof expected, "search: state %s: %s", path, damage[i][2]);
    cr_assert_str_eq(rp_error_message(), expected);
    rp_search_result_free(&r);
  }
  /* A damaged population is refused before it sizes the records (2e9 of them were allocated). */
  cJSON *state = cJSON_Parse(kept);
  cJSON_ReplaceItemInObject(cJSON_GetObjectItem(state, "config"), "lambda",
                            cJSON_CreateNumber(2e9));
  write_and_delete(path, state);
  cr_assert_eq(rp_search_read_state(path, &r), RP_ERR_INVALID_ARGUMENT);
  char expected[600];
  snprintf(expected, sizeof expected,
           "search: state %s: $.config.lambda is not an integer in 2..1000000", path);
  cr_assert_str_eq(rp_error_message(), expected);
  rp_search_result_free(&r);
  free(kept);

  remove(path);
  rmdir(dir);
  free(path);
  free(bad);
  free(dir);
  free(f);
}

/* The uninterrupted search of `generations` with `f`, its state at `path`: what a resumed one
 * must equal. Leaves *cfg set up for it. */
static void run_full(rp_search_config *cfg, fake *f, int generations, const char *path,
                     rp_search_result *full) {
  base_config(cfg, f);
  cfg->generations = generations;
  cfg->state_path = path;
  ASSERT_OK(rp_search_run(cfg, full));
}

/* Removes and frees the two state files in `dir` and `dir` itself. */
static void remove_pair(char *dir, char *full_path, char *kill_path) {
  remove(full_path);
  remove(kill_path);
  rmdir(dir);
  free(full_path);
  free(kill_path);
  free(dir);
}

/* A resumed search's records and state file (at `resumed_path`) are the uninterrupted one's,
 * bit for bit. */
static void assert_resumed_as_full(const rp_search_result *full, const char *full_path,
                                   const rp_search_result *resumed, const char *resumed_path) {
  assert_same_results(full, resumed);
  char *a = slurp(full_path), *b = slurp(resumed_path);
  cr_assert_str_eq(a, b, "the resumed state file differs from the uninterrupted one");
  free(a);
  free(b);
}

/* The first candidate of the search whose first try was stuck and that was tried again: its
 * generation and index in *g and *k. */
static bool find_retried(const rp_search_result *r, int *g, int *k) {
  for (*g = 0; *g < r->generation_count; (*g)++)
    for (*k = 0; *k < r->generations[*g].lambda; (*k)++)
      if (r->generations[*g].candidates[*k].tries >= 2) return true;
  return false;
}

/* Killed in a candidate's second try, its first stuck under the retry rule: the stuck try is in
 * the state ("retrying"), and the resumed search trains the second try, not the first again,
 * ending as the uninterrupted search does, state file included. A candidate in the generation
 * in progress whose sample is not what CMA-ES asks (a damaged file) is refused. */
Test(search, resume_in_a_retry) {
  char *dir = temp_dir();
  char *full_path = path_in(dir, "full.json"), *kill_path = path_in(dir, "killed.json");
  fake *f = fake_new();
  f->stuck = true;
  rp_search_config cfg;
  rp_search_result full;
  run_full(&cfg, f, 3, full_path, &full);
  int g, k;
  cr_assert(find_retried(&full, &g, &k), "no candidate was retried: the test needs one");

  cfg.state_path = kill_path;
  f->kill_generation = g;
  f->kill_candidate = k;
  f->kill_attempt = 1;
  rp_search_result part;
  cr_assert_eq(rp_search_run(&cfg, &part), RP_ERR_DEVICE_LOST);
  rp_search_result_free(&part);
  rp_search_result saved;
  ASSERT_OK(rp_search_read_state(kill_path, &saved));
  cr_assert_eq(saved.generation_count, g);
  cr_assert_eq(saved.settled, k);
  cr_assert_eq(saved.stuck_tries, 1);
  const rp_search_candidate *c = &saved.in_progress[k];
  cr_assert(same_vec(c->sample, full.generations[g].candidates[k].sample));
  cr_assert_eq(c->tries, 1);
  cr_assert(same_double(c->check_accuracy, 0.1499));
  cr_assert(same_double(c->seconds, 0.25), "the stuck try's time: %g", c->seconds);
  rp_search_result_free(&saved);

  /* Damaged in the generation in progress (edited as text, the rest of the file left exactly
   * as written): refused, naming the member, by the check before anything trains and by the
   * search itself. The sample's last digit off by one; a try beyond the retry rule's. */
  char *kept = slurp(kill_path);
  const struct {
    const char *after, *what, *message;
  } damage[] = {
      {"\"sample\":\t[", "sample", "$.in_progress.retrying.sample is not what CMA-ES asks"},
      {"\"tries\":\t", "tries",
       "$.in_progress.retrying is not a candidate record with 1 to 2 stuck tries"},
  };
  rp_search_result r;
  f->kill_generation = -1;
  for (size_t i = 0; i < sizeof damage / sizeof *damage; i++) {
    char *text = strdup(kept);
    char *at = strstr(strstr(text, "\"retrying\""), damage[i].after) + strlen(damage[i].after);
    if (strcmp(damage[i].what, "sample") == 0) {
      at += strcspn(at, ",") - 1; /* the last digit of the first number */
      *at = *at == '9' ? '8' : (char)(*at + 1);
    } else {
      cr_assert_eq(*at, '1');
      *at = '3';
    }
    FILE *t = fopen(kill_path, "wb");
    fputs(text, t);
    fclose(t);
    free(text);
    rp_search_position pos;
    cr_assert_eq(rp_search_check_state(&cfg, &pos), RP_ERR_INVALID_ARGUMENT, "%s", damage[i].what);
    cr_assert(strstr(rp_error_message(), damage[i].message), "%s", rp_error_message());
    f->calls = 0;
    cr_assert_eq(rp_search_run(&cfg, &r), RP_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(rp_error_message(), damage[i].message), "%s", rp_error_message());
    cr_assert_eq(f->calls, 0);
    rp_search_result_free(&r);
  }

  /* Intact, it resumes in the second try. */
  FILE *t = fopen(kill_path, "wb");
  fputs(kept, t);
  fclose(t);
  free(kept);
  rp_search_position pos;
  ASSERT_OK(rp_search_check_state(&cfg, &pos));
  cr_assert(pos.generations == g && pos.settled == k && pos.stuck_tries == 1);
  f->calls = 0;
  ASSERT_OK(rp_search_run(&cfg, &r));
  cr_assert_gt(f->calls, 0);
  cr_assert_eq(f->log[0].generation, g);
  cr_assert_eq(f->log[0].candidate, k);
  cr_assert_eq(f->log[0].attempt, 1, "the stuck try was trained again");
  assert_resumed_as_full(&full, full_path, &r, kill_path);
  rp_search_result_free(&r);
  rp_search_result_free(&full);
  remove_pair(dir, full_path, kill_path);
  free(f);
}

/* Makes the state file unwritable (a directory where it was) after the last candidate of
 * generation `sabotage_generation` is saved: the generation's own save then fails, as a kill
 * between the two would leave it. */
static const char *sabotage_path;
static int sabotage_generation;
static void sabotage_last(int generation, int index, const rp_search_candidate *c, void *user) {
  (void)c, (void)user;
  if (generation != sabotage_generation || index != rp_search_default_lambda() - 1) return;
  char kept[600];
  snprintf(kept, sizeof kept, "%s.kept", sabotage_path);
  cr_assert_eq(rename(sabotage_path, kept), 0);
  cr_assert_eq(mkdir(sabotage_path, 0700), 0);
}

/* Stopped after every candidate of a generation settled but before CMA-ES was told: resumed,
 * nothing is trained again, and the search ends as the uninterrupted one, state file included. */
Test(search, resume_with_every_candidate_settled) {
  char *dir = temp_dir();
  char *full_path = path_in(dir, "full.json"), *kill_path = path_in(dir, "killed.json");
  char kept[600];
  snprintf(kept, sizeof kept, "%s.kept", kill_path);
  fake *f = fake_new();
  rp_search_config cfg;
  rp_search_result full;
  run_full(&cfg, f, 3, full_path, &full);

  cfg.state_path = kill_path;
  cfg.on_candidate = sabotage_last;
  sabotage_path = kill_path;
  sabotage_generation = 1;
  rp_search_result part;
  cr_assert_eq(rp_search_run(&cfg, &part), RP_ERR_IO);
  rp_search_result_free(&part);
  cr_assert_eq(rmdir(kill_path), 0);
  cr_assert_eq(rename(kept, kill_path), 0);
  rp_search_result saved;
  ASSERT_OK(rp_search_read_state(kill_path, &saved));
  cr_assert_eq(saved.generation_count, 1);
  cr_assert_eq(saved.settled, rp_search_default_lambda());
  rp_search_result_free(&saved);

  cfg.on_candidate = NULL;
  f->calls = 0;
  rp_search_result r;
  ASSERT_OK(rp_search_run(&cfg, &r));
  for (int c = 0; c < f->calls; c++)
    cr_assert_eq(f->log[c].generation, 2, "generation %d was trained again", f->log[c].generation);
  assert_resumed_as_full(&full, full_path, &r, kill_path);
  rp_search_result_free(&r);
  rp_search_result_free(&full);
  remove_pair(dir, full_path, kill_path);
  free(f);
}
