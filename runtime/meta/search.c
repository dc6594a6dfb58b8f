/* The TaylorGLO metalearning search: generation bookkeeping, rounding, invariant pruning, the
 * retry rule, fitness, seeds, and the resumable state file. Training itself is a function the
 * config supplies (search_train.c has the trainer-backed one). */
#include "meta/search.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/file.h"
#include "meta/cmaes.h"
#include "nn/init.h"

#define FORMAT "repro-taylorglo-search-1"
#define N RP_TGLO_GENOME

/* ---- names */

rp_status rp_search_parse_invariant(const char *text, rp_search_invariant *out) {
  static const char *names[] = {"off", "code", "softmax"};
  for (int i = 0; i < 3; i++)
    if (text && strcmp(text, names[i]) == 0) {
      *out = (rp_search_invariant)i;
      return RP_OK;
    }
  return rp_fail(RP_ERR_INVALID_ARGUMENT, "search invariant '%s': expected off, code or softmax",
                 text ? text : "");
}

const char *rp_search_invariant_name(rp_search_invariant inv) {
  return inv == RP_SEARCH_INV_CODE ? "code" : inv == RP_SEARCH_INV_SOFTMAX ? "softmax" : "off";
}

rp_status rp_search_parse_fitness(const char *text, rp_search_fitness *out) {
  if (text && strcmp(text, "accuracy") == 0) {
    *out = RP_SEARCH_FIT_ACCURACY;
    return RP_OK;
  }
  if (text && strcmp(text, "fgsm") == 0) {
    *out = RP_SEARCH_FIT_FGSM;
    return RP_OK;
  }
  return rp_fail(RP_ERR_INVALID_ARGUMENT, "search fitness '%s': expected accuracy or fgsm",
                 text ? text : "");
}

const char *rp_search_fitness_name(rp_search_fitness f) {
  return f == RP_SEARCH_FIT_FGSM ? "fgsm" : "accuracy";
}

/* ---- pure pieces */

double rp_search_round4(double x) {
  /* printf rounds the exact binary value to the nearest 4-decimal string and strtod reads that
   * decimal back to the nearest double: the correctly rounded result, where x * 1e4 would first
   * round the product. */
  if (!isfinite(x)) return x;
  char buf[512];
  snprintf(buf, sizeof buf, "%.4f", x);
  return strtod(buf, NULL);
}

/* FNV-1a: a fixed 64-bit hash of the experiment name. */
static uint64_t name_hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ull;
  }
  return h;
}

enum { STREAM_CMAES = 1, STREAM_TRAIN = 2 };

static uint64_t root_seed(const char *experiment, uint64_t seed) {
  return rp_seed_mix(seed, name_hash(experiment));
}

uint64_t rp_search_cmaes_seed(const char *experiment, uint64_t seed) {
  return rp_seed_mix(root_seed(experiment, seed), STREAM_CMAES);
}

uint64_t rp_search_trial_seed(const char *experiment, uint64_t seed, int generation, int candidate,
                              int attempt) {
  uint64_t s = rp_seed_mix(root_seed(experiment, seed), STREAM_TRAIN);
  s = rp_seed_mix(s, (uint64_t)generation);
  s = rp_seed_mix(s, (uint64_t)candidate);
  return rp_seed_mix(s, (uint64_t)attempt);
}

int rp_search_default_lambda(void) { return 4 + (int)floor(3.0 * log((double)N)); }

void rp_search_config_defaults(rp_search_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->experiment = "";
  cfg->seed = 1;
  cfg->generations = 100;
  cfg->lambda = 0;
  cfg->sigma0 = 1.2;
  cfg->classes = 10;
  cfg->invariant = RP_SEARCH_INV_OFF;
  cfg->prune = true;
  cfg->fitness = RP_SEARCH_FIT_ACCURACY;
  cfg->attack_eps = 0.1;
  cfg->retry_epoch = 10;
  cfg->retry_below = 0.15;
  cfg->retries = 2; /* taylorglo.md §5: "up to 3 tries" in all */
}

static rp_status check_config(const rp_search_config *c) {
  if (!c->train) return rp_fail(RP_ERR_INVALID_ARGUMENT, "search: no train function in the config");
  if (c->generations < 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "search: generations %d < 0", c->generations);
  if (c->lambda != 0 && c->lambda < 2)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "search: lambda %d (need >= 2, or 0 for 10)",
                   c->lambda);
  if (!(c->sigma0 > 0) || !isfinite(c->sigma0))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "search: sigma0 %g (need > 0)", c->sigma0);
  if (c->classes < 2)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "search: classes %d (need >= 2)", c->classes);
  if ((unsigned)c->invariant > RP_SEARCH_INV_SOFTMAX || (unsigned)c->fitness > RP_SEARCH_FIT_FGSM)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "search: invariant %d or fitness %d unknown",
                   (int)c->invariant, (int)c->fitness);
  if (c->retries < 0 || c->retry_epoch < 0 || !isfinite(c->retry_below))
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "search: retry rule (epoch %d, below %g, retries %d) out of range",
                   c->retry_epoch, c->retry_below, c->retries);
  return RP_OK;
}

/* ---- one candidate */

/* The invariants of the rounded genome, both recorded; returns whether it is pruned. */
static bool check_invariants(const rp_search_config *cfg, rp_search_candidate *cand) {
  rp_taylorglo t = rp_taylorglo_from_genome(cand->genome, RP_TGLO_CODE);
  rp_tglo_analysis a;
  if (rp_taylorglo_analyze(&t, cfg->classes, &a) != RP_OK) {
    /* Cannot happen for classes >= 2 and a finite genome; treat as violating both. */
    cand->code_lhs = cand->code_rhs = cand->A = cand->B = NAN;
    cand->code_valid = cand->softmax_valid = false;
  } else {
    cand->code_lhs = a.code_lhs;
    cand->code_rhs = a.code_rhs;
    cand->A = a.A;
    cand->B = a.B;
    cand->code_valid = a.code_valid;
    cand->softmax_valid = a.softmax_valid;
  }
  if (!cfg->prune || cfg->invariant == RP_SEARCH_INV_OFF) return false;
  return cfg->invariant == RP_SEARCH_INV_CODE ? !cand->code_valid : !cand->softmax_valid;
}

/* ---- generation records */

bool rp_search_has_best(const rp_search_result *r) {
  if (r->best_generation < 0 || r->best_generation >= r->generation_count) return false;
  const rp_search_generation *g = &r->generations[r->best_generation];
  if (r->best_index < 0 || r->best_index >= g->lambda) return false;
  const rp_search_candidate *c = &g->candidates[r->best_index];
  return !c->pruned && !c->failed;
}

/* The best loss is the best candidate that trained successfully. A failed one scores 0 as a
 * pruned one does, but its loss diverged: it is never the best, while one that trained and
 * scored 0 is (it is still a loss that trains, and the best the search found). A best that
 * names a failed candidate (a state of an earlier version) gives way to the next that trains. */
static void update_best(rp_search_result *r, const rp_search_generation *g) {
  for (int k = 0; k < g->lambda; k++) {
    const rp_search_candidate *c = &g->candidates[k];
    if (c->pruned || c->failed) continue;
    if (!rp_search_has_best(r) || c->accuracy > r->accuracy) {
      r->accuracy = c->accuracy;
      memcpy(r->genome, c->genome, sizeof r->genome);
      r->best_generation = g->generation;
      r->best_index = k;
    }
  }
}

/* Fills the generation's statistics from its candidates and the best so far. */
static void summarize(rp_search_generation *g, const rp_search_result *r, double total_before) {
  double sum = 0, sum_trained = 0;
  int ok = 0;
  g->best = -INFINITY;
  g->min = INFINITY;
  g->trained = g->pruned = g->failed = g->retries = 0;
  g->code_violations = g->softmax_violations = 0;
  g->seconds = 0;
  g->best_candidate = 0;
  for (int k = 0; k < g->lambda; k++) {
    const rp_search_candidate *c = &g->candidates[k];
    sum += c->accuracy;
    if (c->accuracy > g->best) {
      g->best = c->accuracy;
      g->best_candidate = k;
    }
    if (c->accuracy < g->min) g->min = c->accuracy;
    g->pruned += c->pruned;
    g->trained += !c->pruned;
    g->failed += c->failed;
    g->retries += c->tries > 1 ? c->tries - 1 : 0;
    g->code_violations += !c->code_valid;
    g->softmax_violations += !c->softmax_valid;
    g->seconds += c->seconds;
    if (!c->pruned && !c->failed) {
      sum_trained += c->accuracy;
      ok++;
    }
  }
  g->mean = sum / g->lambda;
  g->mean_trained = ok ? sum_trained / ok : NAN;
  g->total_seconds = total_before + g->seconds;
  bool best = rp_search_has_best(r);
  g->best_accuracy = best ? r->accuracy : NAN;
  g->best_generation = best ? r->best_generation : -1;
  g->best_index = best ? r->best_index : -1;
  if (best)
    memcpy(g->best_genome, r->genome, sizeof g->best_genome);
  else
    for (int i = 0; i < N; i++) g->best_genome[i] = NAN;
}

static void free_generations(rp_search_generation *g, int count) {
  if (!g) return;
  for (int i = 0; i < count; i++) free(g[i].candidates);
  free(g);
}

void rp_search_result_free(rp_search_result *r) {
  if (!r) return;
  free_generations(r->generations, r->generation_count);
  r->generations = NULL;
  r->generation_count = 0;
  free(r->in_progress);
  r->in_progress = NULL;
  r->settled = r->stuck_tries = 0;
}

static void result_init(rp_search_result *r) {
  memset(r, 0, sizeof *r);
  r->accuracy = NAN;
  r->best_generation = r->best_index = -1;
  for (int i = 0; i < N; i++) r->genome[i] = NAN;
}

/* Appends a slot for one more generation; NULL when out of memory. */
static rp_search_generation *append_generation(rp_search_result *r, int lambda) {
  rp_search_generation *g = realloc(r->generations, (size_t)(r->generation_count + 1) * sizeof *g);
  if (!g) return NULL;
  r->generations = g;
  g = &g[r->generation_count];
  memset(g, 0, sizeof *g);
  g->candidates = calloc((size_t)lambda, sizeof *g->candidates);
  if (!g->candidates) return NULL;
  g->lambda = lambda;
  r->generation_count++;
  return g;
}

/* ---- JSON: numbers as raw text that reads back exactly (cJSON prints with 15 digits when they
 * compare equal within DBL_EPSILON, which is not an exact round trip), NaN as null, infinities as
 * strings, 64-bit seeds as hex strings. */

static cJSON *num(double v) {
  char buf[32];
  if (isnan(v)) return cJSON_CreateNull();
  if (!isfinite(v)) return cJSON_CreateString(v > 0 ? "inf" : "-inf");
  /* The shortest of 15, 16, 17 significant digits that reads back exactly: 0.4367, not
   * 0.43669999999999998. */
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (strtod(buf, NULL) == v) break;
  }
  return cJSON_CreateRaw(buf);
}

static bool add(cJSON *o, const char *name, cJSON *item) {
  if (!item) return false;
  if (!cJSON_AddItemToObject(o, name, item)) {
    cJSON_Delete(item);
    return false;
  }
  return true;
}

static bool add_num(cJSON *o, const char *name, double v) { return add(o, name, num(v)); }
static bool add_int(cJSON *o, const char *name, int v) { return add_num(o, name, v); }
static bool add_bool(cJSON *o, const char *name, bool v) {
  return add(o, name, cJSON_CreateBool(v));
}
static bool add_hex(cJSON *o, const char *name, uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  return add(o, name, cJSON_CreateString(buf));
}
static bool add_vec(cJSON *o, const char *name, const double *v) {
  cJSON *a = cJSON_CreateArray();
  if (!a) return false;
  for (int i = 0; i < N; i++)
    if (!cJSON_AddItemToArray(a, num(v[i]))) {
      cJSON_Delete(a);
      return false;
    }
  return add(o, name, a);
}

static bool get_num(const cJSON *o, const char *name, double *v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
  if (cJSON_IsNumber(it))
    *v = it->valuedouble;
  else if (cJSON_IsNull(it))
    *v = NAN;
  else if (cJSON_IsString(it) && strcmp(it->valuestring, "inf") == 0)
    *v = INFINITY;
  else if (cJSON_IsString(it) && strcmp(it->valuestring, "-inf") == 0)
    *v = -INFINITY;
  else
    return false;
  return true;
}
static bool get_int(const cJSON *o, const char *name, int *v) {
  double d;
  if (!get_num(o, name, &d) || !(d >= -2147483648.0 && d <= 2147483647.0) || d != floor(d))
    return false;
  *v = (int)d;
  return true;
}
static bool get_bool(const cJSON *o, const char *name, bool *v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
  if (!cJSON_IsBool(it)) return false;
  *v = cJSON_IsTrue(it);
  return true;
}
static bool get_hex(const cJSON *o, const char *name, uint64_t *v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
  if (!cJSON_IsString(it) || !it->valuestring[0]) return false;
  char *end;
  errno = 0;
  unsigned long long u = strtoull(it->valuestring, &end, 16);
  if (*end || errno) return false;
  *v = (uint64_t)u;
  return true;
}
static bool get_vec(const cJSON *o, const char *name, double *v) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, name);
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != N) return false;
  int i = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, a) {
    if (cJSON_IsNumber(it))
      v[i] = it->valuedouble;
    else if (cJSON_IsNull(it))
      v[i] = NAN;
    else
      return false;
    i++;
  }
  return true;
}

static cJSON *candidate_json(const rp_search_candidate *c) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o && add_vec(o, "sample", c->sample) && add_vec(o, "genome", c->genome) &&
            add_num(o, "code_lhs", c->code_lhs) && add_num(o, "code_rhs", c->code_rhs) &&
            add_num(o, "A", c->A) && add_num(o, "B", c->B) &&
            add_bool(o, "code_valid", c->code_valid) &&
            add_bool(o, "softmax_valid", c->softmax_valid) && add_bool(o, "pruned", c->pruned) &&
            add_bool(o, "failed", c->failed) && add_int(o, "tries", c->tries) &&
            add_hex(o, "seed", c->seed) && add_num(o, "check_accuracy", c->check_accuracy) &&
            add_int(o, "epochs", c->epochs) && add_num(o, "accuracy", c->accuracy) &&
            add_num(o, "seconds", c->seconds);
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

static bool candidate_load(const cJSON *o, rp_search_candidate *c) {
  return get_vec(o, "sample", c->sample) && get_vec(o, "genome", c->genome) &&
         get_num(o, "code_lhs", &c->code_lhs) && get_num(o, "code_rhs", &c->code_rhs) &&
         get_num(o, "A", &c->A) && get_num(o, "B", &c->B) &&
         get_bool(o, "code_valid", &c->code_valid) &&
         get_bool(o, "softmax_valid", &c->softmax_valid) && get_bool(o, "pruned", &c->pruned) &&
         get_bool(o, "failed", &c->failed) && get_int(o, "tries", &c->tries) &&
         get_hex(o, "seed", &c->seed) && get_num(o, "check_accuracy", &c->check_accuracy) &&
         get_int(o, "epochs", &c->epochs) && get_num(o, "accuracy", &c->accuracy) &&
         get_num(o, "seconds", &c->seconds);
}

/* `count` candidate records as o's "candidates". */
static bool add_candidates(cJSON *o, const rp_search_candidate *cands, int count) {
  cJSON *a = cJSON_CreateArray();
  bool ok = a != NULL;
  for (int k = 0; ok && k < count; k++) {
    cJSON *c = candidate_json(&cands[k]);
    ok = c && cJSON_AddItemToArray(a, c);
    if (!ok) cJSON_Delete(c);
  }
  if (ok) return add(o, "candidates", a);
  cJSON_Delete(a);
  return false;
}

static cJSON *generation_json(const rp_search_generation *g) {
  cJSON *o = cJSON_CreateObject();
  bool ok =
      o && add_int(o, "generation", g->generation) && add_int(o, "lambda", g->lambda) &&
      add_num(o, "sigma", g->sigma) && add_num(o, "sigma_next", g->sigma_next) &&
      add_num(o, "best", g->best) && add_num(o, "mean", g->mean) && add_num(o, "min", g->min) &&
      add_num(o, "mean_trained", g->mean_trained) &&
      add_int(o, "best_candidate", g->best_candidate) && add_int(o, "trained", g->trained) &&
      add_int(o, "pruned", g->pruned) && add_int(o, "failed", g->failed) &&
      add_int(o, "retries", g->retries) && add_int(o, "code_violations", g->code_violations) &&
      add_int(o, "softmax_violations", g->softmax_violations) &&
      add_num(o, "seconds", g->seconds) && add_num(o, "total_seconds", g->total_seconds) &&
      add_vec(o, "best_genome", g->best_genome) && add_num(o, "best_accuracy", g->best_accuracy) &&
      add_int(o, "best_generation", g->best_generation) &&
      add_int(o, "best_index", g->best_index) && add_candidates(o, g->candidates, g->lambda);
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

static bool generation_load(const cJSON *o, rp_search_generation *g) {
  int lambda = 0;
  const cJSON *cands = cJSON_GetObjectItemCaseSensitive(o, "candidates");
  if (!get_int(o, "lambda", &lambda) || lambda != g->lambda || !cJSON_IsArray(cands) ||
      cJSON_GetArraySize(cands) != lambda)
    return false;
  bool ok =
      get_int(o, "generation", &g->generation) && get_num(o, "sigma", &g->sigma) &&
      get_num(o, "sigma_next", &g->sigma_next) && get_num(o, "best", &g->best) &&
      get_num(o, "mean", &g->mean) && get_num(o, "min", &g->min) &&
      get_num(o, "mean_trained", &g->mean_trained) &&
      get_int(o, "best_candidate", &g->best_candidate) && get_int(o, "trained", &g->trained) &&
      get_int(o, "pruned", &g->pruned) && get_int(o, "failed", &g->failed) &&
      get_int(o, "retries", &g->retries) && get_int(o, "code_violations", &g->code_violations) &&
      get_int(o, "softmax_violations", &g->softmax_violations) &&
      get_num(o, "seconds", &g->seconds) && get_num(o, "total_seconds", &g->total_seconds) &&
      get_vec(o, "best_genome", g->best_genome) && get_num(o, "best_accuracy", &g->best_accuracy) &&
      get_int(o, "best_generation", &g->best_generation) &&
      get_int(o, "best_index", &g->best_index);
  int k = 0;
  const cJSON *c;
  cJSON_ArrayForEach(c, cands) {
    if (!ok) break;
    ok = candidate_load(c, &g->candidates[k++]);
  }
  return ok;
}

/* The settings a resumed search must share with the one that wrote the state (generations
 * may differ: a finished search can be extended). */
static cJSON *config_json(const rp_search_config *cfg, int lambda) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o && add(o, "experiment", cJSON_CreateString(cfg->experiment ? cfg->experiment : "")) &&
            add_hex(o, "seed", cfg->seed) && add_int(o, "lambda", lambda) &&
            add_num(o, "sigma0", cfg->sigma0) && add_int(o, "classes", cfg->classes) &&
            add(o, "invariant", cJSON_CreateString(rp_search_invariant_name(cfg->invariant))) &&
            add_bool(o, "prune", cfg->prune) &&
            add(o, "fitness", cJSON_CreateString(rp_search_fitness_name(cfg->fitness))) &&
            add_num(o, "attack_eps", cfg->attack_eps) &&
            add_bool(o, "attack_normalized", cfg->attack_normalized) &&
            add_int(o, "retry_epoch", cfg->retry_epoch) &&
            add_num(o, "retry_below", cfg->retry_below) && add_int(o, "retries", cfg->retries);
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

/* The first setting (a key of the flat objects `mine` and `saved`) whose values differ, or that
 * one of them lacks; NULL when they are the same. Numbers are compared exactly (cJSON_Compare
 * allows a DBL_EPSILON difference). */
static const char *settings_difference(const cJSON *mine, const cJSON *saved) {
  const cJSON *x;
  cJSON_ArrayForEach(x, mine) {
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(saved, x->string);
    if (!y || (x->type & 0xff) != (y->type & 0xff) ||
        (cJSON_IsNumber(x) && x->valuedouble != y->valuedouble) ||
        (cJSON_IsString(x) && strcmp(x->valuestring, y->valuestring) != 0))
      return x->string;
  }
  cJSON_ArrayForEach(x, saved) {
    if (!cJSON_GetObjectItemCaseSensitive(mine, x->string)) return x->string;
  }
  return NULL;
}

/* A setting's value as JSON for a message ("nothing" where absent); caller frees. */
static char *setting_text(const cJSON *settings, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(settings, key);
  return v ? cJSON_PrintUnformatted(v) : strdup("nothing");
}

/* The generation in progress: {generation, candidates: [the settled ones], retrying: the
 * candidate after them, as its tries stuck so far left it (absent when none was)}. */
static cJSON *in_progress_json(const rp_search_result *r) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o && add_int(o, "generation", r->generation_count) &&
            add_candidates(o, r->in_progress, r->settled);
  if (ok && r->stuck_tries > 0)
    ok = add(o, "retrying", candidate_json(&r->in_progress[r->settled]));
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

/* The whole state: config, CMA-ES (its own JSON text kept as a string, so its numbers are not
 * reprinted by cJSON), the best so far, every generation and, while one is in progress, its
 * settled candidates (as "in_progress"; absent between generations). */
static char *state_text(const rp_search_config *cfg, int lambda, const rp_cmaes *cmaes,
                        const rp_search_result *r) {
  char *cm = rp_cmaes_save(cmaes);
  cJSON *o = cJSON_CreateObject();
  cJSON *best = cJSON_CreateObject();
  cJSON *gens = cJSON_CreateArray();
  bool ok = cm && o && best && gens && add(o, "format", cJSON_CreateString(FORMAT)) &&
            add(o, "config", config_json(cfg, lambda)) &&
            add_int(o, "generations_done", r->generation_count) &&
            add_num(best, "accuracy", r->accuracy) &&
            add_int(best, "generation", r->best_generation) &&
            add_int(best, "index", r->best_index) && add_vec(best, "genome", r->genome);
  if (ok)
    ok = add(o, "best", best);
  else
    cJSON_Delete(best);
  for (int i = 0; ok && i < r->generation_count; i++) {
    cJSON *g = generation_json(&r->generations[i]);
    ok = g && cJSON_AddItemToArray(gens, g);
    if (!ok) cJSON_Delete(g);
  }
  if (ok)
    ok = add(o, "generations", gens);
  else
    cJSON_Delete(gens);
  if (ok && (r->settled > 0 || r->stuck_tries > 0)) ok = add(o, "in_progress", in_progress_json(r));
  if (ok) ok = add(o, "cmaes", cJSON_CreateString(cm));
  free(cm);
  char *text = ok ? cJSON_Print(o) : NULL;
  cJSON_Delete(o);
  return text;
}

/* The state goes through rp_file_write_atomic: a search killed at any moment leaves either
 * the old state file or the new one. */
static rp_status write_atomic(const char *path, const char *text) {
  size_t n = strlen(text);
  char *line = malloc(n + 1);
  if (!line) return rp_fail(RP_ERR_OUT_OF_MEMORY, "search: out of host memory");
  memcpy(line, text, n); /* NOLINT(bugprone-not-null-terminated-result): a line, not a string */
  line[n] = '\n';
  rp_status st = rp_file_write_atomic(path, line, n + 1);
  free(line);
  return st;
}

/* A state file whose member `why` names is wrong: freed, and the error naming both. */
static rp_status not_a_state(cJSON *o, const char *path, const char *why) {
  cJSON_Delete(o);
  return rp_fail(RP_ERR_INVALID_ARGUMENT, "search: state %s: %s", path, why);
}

/* The state's generation in progress, where it has one, into r->in_progress (lambda slots). */
static rp_status load_in_progress(const cJSON *o, const char *path, const rp_search_config *cfg,
                                  int lambda, rp_search_result *r) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "in_progress");
  if (!p) return RP_OK;
  const cJSON *cands = cJSON_GetObjectItemCaseSensitive(p, "candidates");
  int generation = -1;
  if (!get_int(p, "generation", &generation) || generation != r->generation_count)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "search: state %s: $.in_progress.generation is not %d, the generation after "
                   "those recorded",
                   path, r->generation_count);
  const cJSON *retrying = cJSON_GetObjectItemCaseSensitive(p, "retrying");
  int count = cJSON_IsArray(cands) ? cJSON_GetArraySize(cands) : -1;
  if (count < 0 || count > lambda - (retrying != NULL))
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "search: state %s: $.in_progress.candidates is not a list of 0 to %d "
                   "candidates",
                   path, lambda - (retrying != NULL));
  r->in_progress = calloc((size_t)lambda, sizeof *r->in_progress);
  if (!r->in_progress) return rp_fail(RP_ERR_OUT_OF_MEMORY, "search: out of host memory");
  const cJSON *c;
  cJSON_ArrayForEach(c, cands) {
    if (!candidate_load(c, &r->in_progress[r->settled]))
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "search: state %s: $.in_progress.candidates[%d] is not a candidate record",
                     path, r->settled);
    r->settled++;
  }
  if (retrying) {
    /* Stuck tries leave a next one: fewer than the retry rule allows (any, read for a
     * report). */
    bool rule = cfg && cfg->fitness == RP_SEARCH_FIT_ACCURACY && cfg->retry_epoch > 0;
    int most = !cfg ? INT32_MAX - 1 : rule ? cfg->retries : 0;
    rp_search_candidate *next = &r->in_progress[r->settled];
    if (most < 1)
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "search: state %s: $.in_progress.retrying is there, but this search has no "
                     "retry rule",
                     path);
    if (!candidate_load(retrying, next) || next->pruned || next->tries < 1 || next->tries > most)
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "search: state %s: $.in_progress.retrying is not a candidate record with 1 "
                     "to %d stuck tries",
                     path, most);
    r->stuck_tries = next->tries;
  }
  return RP_OK;
}

/* Parses a state file into its records and best, and (when cmaes_out is not NULL) its CMA-ES
 * state; `lambda_out` the lambda it was made with. When cfg is not NULL, its settings must
 * match those in the file. */
static rp_status load_state(const char *path, const rp_search_config *cfg, int cfg_lambda,
                            rp_search_result *r, rp_cmaes **cmaes_out) {
  char *text;
  size_t size;
  rp_status st = rp_file_read(path, &text, &size);
  if (st) return st;
  cJSON *o = cJSON_Parse(text);
  free(text);
  if (!o) return rp_fail(RP_ERR_INVALID_ARGUMENT, "search: state %s is not JSON", path);
  const cJSON *format = cJSON_GetObjectItemCaseSensitive(o, "format");
  const cJSON *conf = cJSON_GetObjectItemCaseSensitive(o, "config");
  const cJSON *best = cJSON_GetObjectItemCaseSensitive(o, "best");
  const cJSON *gens = cJSON_GetObjectItemCaseSensitive(o, "generations");
  const cJSON *cm = cJSON_GetObjectItemCaseSensitive(o, "cmaes");
  int lambda = 0, done = 0;
  /* The first member that is not as a state of this format has it, named by its JSON path. */
  if (!cJSON_IsString(format) || strcmp(format->valuestring, FORMAT) != 0)
    return not_a_state(o, path, "$.format is not \"" FORMAT "\"");
  if (!cJSON_IsObject(conf)) return not_a_state(o, path, "$.config is not an object");
  if (!cJSON_IsObject(best)) return not_a_state(o, path, "$.best is not an object");
  if (!cJSON_IsArray(gens)) return not_a_state(o, path, "$.generations is not a list");
  if (!cJSON_IsString(cm)) return not_a_state(o, path, "$.cmaes is not a string");
  /* (bounded as CMA-ES bounds it: a damaged count must not size the records) */
  if (!get_int(conf, "lambda", &lambda) || lambda < 2 || lambda > RP_CMAES_MAX_LAMBDA)
    return not_a_state(o, path, "$.config.lambda is not an integer in 2..1000000");
  if (!get_int(o, "generations_done", &done) || done != cJSON_GetArraySize(gens)) {
    char why[120];
    snprintf(why, sizeof why, "$.generations_done is not the %d generations $.generations holds",
             cJSON_GetArraySize(gens));
    return not_a_state(o, path, why);
  }
  if (cfg) {
    const char *key;
    cJSON *mine = config_json(cfg, cfg_lambda);
    char *a = mine ? cJSON_PrintUnformatted(mine) : NULL;
    cJSON *parsed = a ? cJSON_Parse(a) : NULL; /* raw numbers become numbers, as in the file */
    if (!parsed)
      st = rp_fail(RP_ERR_OUT_OF_MEMORY, "search: out of host memory");
    else if ((key = settings_difference(parsed, conf))) {
      char *then = setting_text(conf, key), *now = setting_text(parsed, key);
      st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "search: state %s was made with other settings ($.config.%s: %s in the state, "
                   "%s now): move its directory away or choose another output directory",
                   path, key, then ? then : "?", now ? now : "?");
      free(then), free(now);
    }
    cJSON_Delete(parsed);
    cJSON_Delete(mine);
    free(a);
  }
  const char *bad = !get_num(best, "accuracy", &r->accuracy) ? "accuracy is not a number"
                    : !get_int(best, "generation", &r->best_generation)
                        ? "generation is not an integer"
                    : !get_int(best, "index", &r->best_index) ? "index is not an integer"
                    : !get_vec(best, "genome", r->genome)     ? "genome is not 8 numbers"
                                                              : NULL;
  if (!st && bad) st = rp_fail(RP_ERR_INVALID_ARGUMENT, "search: state %s: $.best.%s", path, bad);
  const cJSON *g;
  cJSON_ArrayForEach(g, gens) {
    if (st) break;
    rp_search_generation *rec = append_generation(r, lambda);
    if (!rec)
      st = rp_fail(RP_ERR_OUT_OF_MEMORY, "search: out of host memory");
    else if (!generation_load(g, rec) || rec->generation != r->generation_count - 1)
      st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "search: state %s: $.generations[%d] is not a generation record", path,
                   r->generation_count - 1);
  }
  if (!st) st = load_in_progress(o, path, cfg, lambda, r);
  /* The best is a trained candidate of a recorded generation, with its accuracy, or none yet
   * (no accuracy, generation and candidate -1): a hand-edited or damaged file must not make
   * readers (the report) index past the records. */
  bool none = !isfinite(r->accuracy) && r->best_generation == -1 && r->best_index == -1;
  bool held = isfinite(r->accuracy) && r->best_generation >= 0 &&
              r->best_generation < r->generation_count && r->best_index >= 0 &&
              r->best_index < lambda;
  if (!st && !none && !held)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "search: state %s: $.best names generation %d, candidate %d (accuracy %g), "
                 "which it does not hold",
                 path, r->best_generation, r->best_index, r->accuracy);
  if (!st && cmaes_out) {
    st = rp_cmaes_load(cm->valuestring, cmaes_out);
    /* rp_cmaes_load's message knows no file: name it, as every other error here does. */
    if (st) st = rp_fail(st, "search: state %s: $.cmaes: %s", path, rp_error_message());
    if (!st && (rp_cmaes_generation(*cmaes_out) != done || rp_cmaes_lambda(*cmaes_out) != lambda ||
                rp_cmaes_dim(*cmaes_out) != N)) {
      rp_cmaes_destroy(*cmaes_out);
      *cmaes_out = NULL;
      st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "search: state %s: CMA-ES state disagrees with %d generations of %d", path, done,
                   lambda);
    }
  }
  r->resumed_from = r->generation_count;
  cJSON_Delete(o);
  return st;
}

rp_status rp_search_read_state(const char *path, rp_search_result *out) {
  result_init(out);
  return load_state(path, NULL, 0, out, NULL);
}

/* Whether two samples are the same bits (a sample read back from the state is exact). */
static bool same_bits(const double *a, const double *b) {
  for (int i = 0; i < N; i++) {
    uint64_t u, v;
    memcpy(&u, &a[i], sizeof u);
    memcpy(&v, &b[i], sizeof v);
    if (u != v) return false;
  }
  return true;
}

/* Candidates the state holds for the generation in progress were asked from its CMA-ES state:
 * their samples must be what CMA-ES asks now (`x`, lambda of them), bit for bit. */
static rp_status check_in_progress(const rp_search_config *cfg, const rp_search_result *r,
                                   const double *x) {
  for (int k = 0; k < r->settled + (r->stuck_tries > 0); k++) {
    if (same_bits(r->in_progress[k].sample, x + (size_t)k * N)) continue;
    char member[64];
    if (k < r->settled)
      snprintf(member, sizeof member, "$.in_progress.candidates[%d]", k);
    else
      snprintf(member, sizeof member, "$.in_progress.retrying");
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "search: state %s: %s.sample is not what CMA-ES asks from the state's "
                   "$.cmaes (the file was edited or damaged): restore it, or move it away to "
                   "start the search again",
                   cfg->state_path ? cfg->state_path : "(none)", member);
  }
  return RP_OK;
}

rp_status rp_search_check_state(const rp_search_config *cfg, rp_search_position *at) {
  *at = (rp_search_position){0};
  if (!cfg->state_path || access(cfg->state_path, F_OK) != 0) return RP_OK;
  rp_search_result r;
  result_init(&r);
  int lambda = cfg->lambda ? cfg->lambda : rp_search_default_lambda();
  /* CMA-ES's state too: a damaged one would otherwise be found only on resuming, after the
   * trainings that come before the search. */
  rp_cmaes *cmaes = NULL;
  rp_status st = load_state(cfg->state_path, cfg, lambda, &r, &cmaes);
  /* ...and the generation in progress against what it asks (asking changes nothing). */
  if (!st && (r.settled || r.stuck_tries)) {
    double *x = malloc((size_t)lambda * N * sizeof *x);
    st = x ? rp_cmaes_ask(cmaes, x) : rp_fail(RP_ERR_OUT_OF_MEMORY, "search: out of host memory");
    if (!st) st = check_in_progress(cfg, &r, x);
    free(x);
  }
  if (!st) *at = (rp_search_position){r.generation_count, r.settled, r.stuck_tries};
  rp_cmaes_destroy(cmaes);
  rp_search_result_free(&r);
  return st;
}

/* ---- the search */

static rp_status save_state(const rp_search_config *cfg, int lambda, const rp_cmaes *cmaes,
                            const rp_search_result *r) {
  if (!cfg->state_path) return RP_OK;
  char *text = state_text(cfg, lambda, cmaes, r);
  if (!text) return rp_fail(RP_ERR_OUT_OF_MEMORY, "search: out of host memory saving the state");
  rp_status st = write_atomic(cfg->state_path, text);
  free(text);
  return st;
}

/* Trains candidate k (r->settled) of the generation in progress under the retry rule. Fills
 * accuracy, tries, seed, failed, seconds. A try stuck below the retry threshold is saved in the
 * state before the next (r->stuck_tries), and a resumed search goes on from the try after it. */
static rp_status train_candidate(const rp_search_config *cfg, const rp_cmaes *cmaes,
                                 rp_search_result *r, int k) {
  int generation = rp_cmaes_generation(cmaes);
  rp_search_candidate *cand = &r->in_progress[k];
  bool retry_rule =
      cfg->fitness == RP_SEARCH_FIT_ACCURACY && cfg->retry_epoch > 0 && cfg->retries > 0;
  rp_search_trial trial = {.cfg = cfg, .generation = generation, .candidate = k};
  memcpy(trial.genome, cand->genome, sizeof trial.genome);
  if (r->stuck_tries == 0) cand->seconds = 0;
  for (int attempt = r->stuck_tries;; attempt++) {
    bool may_retry = retry_rule && attempt < cfg->retries;
    trial.attempt = attempt;
    trial.seed = rp_search_trial_seed(cfg->experiment, cfg->seed, generation, k, attempt);
    trial.check_epoch = may_retry ? cfg->retry_epoch : 0;
    trial.check_below = may_retry ? cfg->retry_below : 0;
    rp_search_outcome out = {.accuracy = NAN, .check_accuracy = NAN};
    if (cfg->on_trial) cfg->on_trial(&trial, cfg->user);
    rp_status st = cfg->train(&trial, cfg->train_user, &out);
    if (st == RP_ERR_DIVERGED) {
      out.diverged = true;
      st = RP_OK;
    }
    if (st) return st;
    cand->tries = attempt + 1;
    cand->seed = trial.seed;
    cand->seconds += isfinite(out.seconds) && out.seconds > 0 ? out.seconds : 0;
    cand->epochs = out.epochs;
    cand->check_accuracy = isfinite(out.check_accuracy) ? out.check_accuracy : NAN;
    if (!out.diverged && may_retry && isfinite(out.check_accuracy) &&
        out.check_accuracy < cfg->retry_below) {
      /* stuck: saved so, then trained again with the next seed */
      r->stuck_tries = attempt + 1;
      st = save_state(cfg, rp_cmaes_lambda(cmaes), cmaes, r);
      if (st) return st;
      continue;
    }
    r->stuck_tries = 0;
    cand->failed = out.diverged || !isfinite(out.accuracy);
    cand->accuracy = cand->failed ? 0.0 : out.accuracy;
    return RP_OK;
  }
}

/* Settles candidate k of the generation in progress from CMA-ES's sample at x: rounds it,
 * checks the invariants, and trains it and saves it in the state unless it is pruned. */
static rp_status settle(const rp_search_config *cfg, const rp_cmaes *cmaes, rp_search_result *r,
                        int k, const double *x) {
  int gen = rp_cmaes_generation(cmaes);
  rp_search_candidate *c = &r->in_progress[k];
  /* Genome and invariants from the sample as asked, also for a candidate taken up in its
   * retries (whose tries so far, seed and seconds come from the state). */
  memcpy(c->sample, x, sizeof c->sample);
  for (int i = 0; i < N; i++) c->genome[i] = rp_search_round4(c->sample[i]);
  if (r->stuck_tries == 0) c->check_accuracy = NAN;
  c->pruned = check_invariants(cfg, c);
  rp_status st = RP_OK;
  if (c->pruned) { /* (never one taken up in its retries: those were trained, so not pruned) */
    r->stuck_tries = 0;
    c->accuracy = 0; /* the worst fitness, still told */
  } else {
    st = train_candidate(cfg, cmaes, r, k);
  }
  /* Saved once trained; a pruned candidate costs nothing to settle again (runs of them would
   * otherwise rewrite the whole state once each). */
  if (!st) r->settled = k + 1;
  if (!st && !c->pruned) st = save_state(cfg, rp_cmaes_lambda(cmaes), cmaes, r);
  if (!st && cfg->on_candidate) cfg->on_candidate(gen, k, c, cfg->user);
  return st;
}

static rp_status run_generation(const rp_search_config *cfg, rp_cmaes *cmaes, rp_search_result *r,
                                double *x, double *fitness) {
  int lambda = rp_cmaes_lambda(cmaes), gen = rp_cmaes_generation(cmaes);
  double total_before =
      r->generation_count ? r->generations[r->generation_count - 1].total_seconds : 0;
  rp_status st = rp_cmaes_ask(cmaes, x);
  if (st) return st;
  if (!r->in_progress) {
    r->settled = r->stuck_tries = 0;
    r->in_progress = calloc((size_t)lambda, sizeof *r->in_progress);
    if (!r->in_progress) return rp_fail(RP_ERR_OUT_OF_MEMORY, "search: out of host memory");
  }
  /* Candidates the state file holds were asked from the same CMA-ES state: taken up, not
   * trained again, once their samples are seen to be what CMA-ES asks now. */
  st = check_in_progress(cfg, r, x);
  if (st) return st;
  for (int k = r->settled; k < lambda && !st; k++) st = settle(cfg, cmaes, r, k, x + (size_t)k * N);
  if (st) return st;
  for (int k = 0; k < lambda; k++) fitness[k] = 1.0 - r->in_progress[k].accuracy;
  /* The update: told the samples as asked (the rounding maps genotype to loss). */
  double sigma = rp_cmaes_sigma(cmaes);
  st = rp_cmaes_tell(cmaes, x, fitness);
  if (st) return st;
  rp_search_generation *g = append_generation(r, lambda);
  if (!g) return rp_fail(RP_ERR_OUT_OF_MEMORY, "search: out of host memory");
  free(g->candidates);
  g->candidates = r->in_progress;
  r->in_progress = NULL;
  r->settled = r->stuck_tries = 0;
  g->generation = gen;
  g->sigma = sigma;
  g->sigma_next = rp_cmaes_sigma(cmaes);
  update_best(r, g);
  summarize(g, r, total_before);
  return RP_OK;
}

rp_status rp_search_run(const rp_search_config *cfg, rp_search_result *out) {
  result_init(out);
  rp_status st = check_config(cfg);
  if (st) return st;
  int lambda = cfg->lambda ? cfg->lambda : rp_search_default_lambda();
  rp_cmaes *cmaes = NULL;
  if (cfg->state_path && access(cfg->state_path, F_OK) == 0) {
    st = load_state(cfg->state_path, cfg, lambda, out, &cmaes);
  } else {
    rp_cmaes_options o = {.dim = N,
                          .lambda = lambda,
                          .sigma0 = cfg->sigma0,
                          .mean0 = NULL, /* the zero vector */
                          .seed = rp_search_cmaes_seed(cfg->experiment, cfg->seed)};
    st = rp_cmaes_create(&o, &cmaes);
  }
  /* A fresh search writes its state before training anything, so a state path that cannot
   * be written fails now rather than after a generation of training. */
  if (!st && out->resumed_from == 0 && out->settled == 0) st = save_state(cfg, lambda, cmaes, out);
  double *x = malloc((size_t)lambda * N * sizeof *x);
  double *fitness = malloc((size_t)lambda * sizeof *fitness);
  if (!st && (!x || !fitness)) st = rp_fail(RP_ERR_OUT_OF_MEMORY, "search: out of host memory");
  while (!st && x && fitness && out->generation_count < cfg->generations) {
    st = run_generation(cfg, cmaes, out, x, fitness);
    if (st) break;
    st = save_state(cfg, lambda, cmaes, out);
    if (st) break;
    if (cfg->on_generation &&
        cfg->on_generation(&out->generations[out->generation_count - 1], cfg->user)) {
      out->stopped_by_callback = true;
      break;
    }
  }
  free(x);
  free(fitness);
  rp_cmaes_destroy(cmaes);
  return st;
}
