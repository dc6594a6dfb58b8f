/* The searches' part of an experiment's report (exp/report_parts.h): made from
 * DIR/experiment.json (which searches there are, and their settings) and each search's
 * DIR/search/<label>/state.json. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp/figures.h"
#include "exp/files.h"
#include "exp/report_parts.h"
#include "meta/search.h"
#include "train/loss_spec.h"

static double num(const cJSON *o, const char *key) { return rp_exp_json_number(o, key); }

static const char *str(const cJSON *o, const char *key, const char *fallback) {
  return rp_exp_json_string(o, key, fallback);
}

static bool flag(const cJSON *o, const char *key) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* The loss of genome `g` as the tables name the runs that train it (best_LABEL, exp/plan.c),
 * so that searching summary.md for one finds the other. */
static void genome_text(rp_text *md, const double *g) {
  rp_loss loss = {.kind = RP_LOSS_TAYLORGLO};
  for (int k = 0; k < RP_TGLO_GENOME; k++) loss.theta[k] = (float)g[k];
  char text[256];
  rp_loss_format(&loss, text, sizeof text);
  rp_text_put(md, "`%s`", text);
}

/* `normalized`: the experiment's eps_mode is "normalized", the scale of the fitness's ε. */
static void settings_text(rp_text *md, const cJSON *s, const rp_search_result *r, bool normalized) {
  const char *inv = str(s, "invariant", "?");
  bool fgsm = strcmp(str(s, "fitness", ""), "fgsm") == 0;
  /* As rp_exp_search_retries: the rule fires only where candidates reach its epoch. */
  bool retries = !fgsm && num(s, "retries") > 0 && num(s, "retry_epoch") <= num(s, "epochs");
  rp_text_put(md,
              "CMA-ES over the 8 TaylorGLO parameters from the zero vector, σ0 %g, population "
              "%g; %d generation(s) done (the file asks for %g)",
              num(s, "sigma0"), num(s, "population"), r->generation_count, num(s, "generations"));
  if (r->settled) /* the state of a search under way, or interrupted */
    rp_text_put(md, ", and %d candidate(s) of generation %d", r->settled, r->generation_count + 1);
  if (r->stuck_tries)
    rp_text_put(md, " (the next stuck in %d tr%s so far)", r->stuck_tries,
                r->stuck_tries == 1 ? "y" : "ies");
  rp_text_put(md,
              ". Invariant `%s`%s. Fitness: %s after %g epoch(s) of training. Retry rule: %s. "
              "Seed %g.\n\n",
              inv,
              strcmp(inv, "off") == 0 ? " (every candidate trained)"
              : flag(s, "prune")      ? ", pruning (violators not trained, fitness 0)"
                                      : ", record-only (violators trained and counted)",
              fgsm ? "FGSM accuracy on the validation split" : "validation accuracy",
              num(s, "epochs"), retries ? "on" : "off", num(s, "seed"));
  if (fgsm)
    rp_text_put(md, "FGSM ε = %g%s.\n\n", num(s, "fitness_eps"),
                normalized ? " in normalized units (the experiment's eps_mode)" : "");
}

static void generations_table(rp_text *md, const rp_search_result *r) {
  rp_text_put(md, "| generation | σ | best (%%) | mean (%%) | mean of trained (%%) | trained | "
                  "pruned | failed | retries | code violations | softmax violations | "
                  "seconds | best so far (%%) |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
                  "---|\n");
  for (int i = 0; i < r->generation_count; i++) {
    const rp_search_generation *g = &r->generations[i];
    rp_text_put(md, "| %d | %.3g | %.2f | %.2f | ", g->generation + 1, g->sigma, 100 * g->best,
                100 * g->mean);
    if (isfinite(g->mean_trained))
      rp_text_put(md, "%.2f", 100 * g->mean_trained);
    else
      rp_text_put(md, "—");
    rp_text_put(md, " | %d | %d | %d | %d | %d | %d | %.0f | ", g->trained, g->pruned, g->failed,
                g->retries, g->code_violations, g->softmax_violations, g->seconds);
    if (isfinite(g->best_accuracy))
      rp_text_put(md, "%.2f |\n", 100 * g->best_accuracy);
    else
      rp_text_put(md, "— |\n");
  }
}

/* Candidates trained (not pruned) in the search's finished generations, failed ones included. */
static int trained_count(const rp_search_result *r) {
  int trained = 0;
  for (int g = 0; g < r->generation_count; g++) trained += r->generations[g].trained;
  return trained;
}

static void best_text(rp_text *md, const cJSON *s, const rp_search_result *r) {
  if (r->generation_count == 0) {
    rp_text_put(md, "\nNo generation has finished yet.\n");
    return;
  }
  /* Without a best (rp_search_has_best), no candidate trained successfully: every one was
   * pruned, or every one trained failed. A best at 0% is a best, said below as any other. */
  if (!rp_search_has_best(r)) {
    rp_text_put(md, trained_count(r) == 0
                        ? "\nNo candidate trained: every one so far was pruned.\n"
                        : "\nEvery trained candidate failed (diverged): no best loss.\n");
    return;
  }
  const rp_search_candidate *c = &r->generations[r->best_generation].candidates[r->best_index];
  rp_text_put(md, "\nBest: **%.2f%%** (generation %d, candidate %d), ", 100 * r->accuracy,
              r->best_generation + 1, r->best_index + 1);
  genome_text(md, r->genome);
  rp_text_put(md, ". Invariants: code %s (%.5g %s %.5g), softmax %s (A = %.5g %s B = %.5g).\n",
              c->code_valid ? "holds" : "violated", c->code_lhs, c->code_valid ? "≥" : "<",
              c->code_rhs, c->softmax_valid ? "holds" : "violated", c->A,
              c->softmax_valid ? ">" : "≤", c->B);
  bool finished = r->generation_count >= (int)rp_exp_json_number(s, "generations");
  if (flag(s, "then_train_best") && finished)
    rp_text_put(md,
                "The search has finished: its best loss is trained with the full schedule and "
                "every seed as `best_%s`, whose finished runs are in the tables above.\n",
                str(s, "label", "?"));
  else if (flag(s, "then_train_best"))
    rp_text_put(md,
                "Once the search has finished, its best loss is trained with the full schedule "
                "and every seed as `best_%s`.\n",
                str(s, "label", "?"));
}

/* The state file as JSON, less CMA-ES's internal state (a string of its own format). */
static cJSON *state_json(const char *path) {
  cJSON *j = NULL;
  if (rp_exp_read_json(path, &j)) return NULL;
  cJSON_DeleteItemFromObjectCaseSensitive(j, "cmaes");
  return j;
}

/* count >= 1 */
static rp_status progress_figure(const char *dir, const rp_search_result *results,
                                 const cJSON *const *blocks, int count) {
  int max_gen = 0, lines = 0;
  for (int i = 0; i < count; i++)
    if (results[i].generation_count > max_gen) max_gen = results[i].generation_count;
  size_t lines_max = 2 * (size_t)count, points = max_gen ? (size_t)max_gen : 1;
  double *xs = calloc(points, sizeof *xs);
  double *ys = calloc(lines_max * points, sizeof *ys);
  rp_series *series = calloc(lines_max, sizeof *series);
  char(*names)[96] = calloc(lines_max, sizeof *names);
  if (!xs || !ys || !series || !names) {
    free(xs);
    free(ys);
    free(series);
    free(names);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  }
  for (int g = 0; g < max_gen; g++) xs[g] = g + 1;
  for (int i = 0; i < count; i++) {
    const rp_search_result *r = &results[i];
    if (!r->generation_count) continue;
    double *best = ys + 2 * (size_t)i * points, *mean = best + points;
    for (int g = 0; g < r->generation_count; g++) {
      best[g] = 100 * r->generations[g].best_accuracy;
      mean[g] = 100 * r->generations[g].mean;
    }
    const char *label = str(blocks[i], "label", "?");
    snprintf(names[lines], sizeof names[lines], "%s: best so far", label);
    series[lines] = (rp_series){names[lines], xs, best, r->generation_count};
    lines++;
    snprintf(names[lines], sizeof names[lines], "%s: generation mean", label);
    series[lines] = (rp_series){names[lines], xs, mean, r->generation_count};
    lines++;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/figures", dir);
  rp_status st = rp_exp_mkdirs(path);
  snprintf(path, sizeof path, "%s/figures/search_progress.svg", dir);
  if (!st)
    st = rp_plot_lines(path, "Loss-function search: fitness per generation", "generation",
                       "fitness accuracy (%)", series, lines);
  free(xs);
  free(ys);
  free(series);
  free(names);
  return st;
}

/* One row per search: what each spent and found, side by side. */
static void comparison_table(rp_text *md, const rp_search_result *results,
                             const cJSON *const *blocks, int count) {
  rp_text_put(md, "\n## Searches compared\n\n"
                  "Over all finished generations: candidates trained (failed among them), "
                  "pruned, training seconds, and the best fitness found.\n\n"
                  "| search | invariant | generations | trained | failed | pruned | seconds | "
                  "best fitness (%%) |\n|---|---|---|---|---|---|---|---|\n");
  for (int i = 0; i < count; i++) {
    const rp_search_result *r = &results[i];
    const cJSON *s = blocks[i];
    int trained = 0, failed = 0, pruned = 0;
    double seconds = 0;
    for (int g = 0; g < r->generation_count; g++) {
      trained += r->generations[g].trained;
      failed += r->generations[g].failed;
      pruned += r->generations[g].pruned;
      seconds += r->generations[g].seconds;
    }
    const char *inv = str(s, "invariant", "?");
    rp_text_put(md, "| %s | %s%s | %d | %d | %d | %d | %.0f | ", str(s, "label", "?"), inv,
                strcmp(inv, "off") == 0 ? "" : (flag(s, "prune") ? ", pruning" : ", record-only"),
                r->generation_count, trained, failed, pruned, seconds);
    if (rp_search_has_best(r))
      rp_text_put(md, "%.2f |\n", 100 * r->accuracy);
    else
      rp_text_put(md, "— |\n");
  }
}

rp_status rp_exp_report_searches(const char *dir, const cJSON *experiment, bool plots, rp_text *md,
                                 cJSON **json, bool *figure) {
  *json = cJSON_CreateArray();
  *figure = false;
  const cJSON *search = cJSON_GetObjectItemCaseSensitive(experiment, "search");
  int count = cJSON_IsArray(search) ? cJSON_GetArraySize(search) : cJSON_IsObject(search);
  if (!*json) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  if (!count) return RP_OK;
  const cJSON **blocks = calloc((size_t)count, sizeof(const cJSON *));
  rp_search_result *results = calloc((size_t)count, sizeof *results);
  if (!blocks || !results) {
    free(blocks);
    free(results);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  }
  rp_status st = RP_OK;
  int with_state = 0;
  const cJSON *evaluation = cJSON_GetObjectItemCaseSensitive(experiment, "evaluation");
  bool normalized = strcmp(str(evaluation, "eps_mode", ""), "normalized") == 0;
  rp_text sections = {0}; /* after the comparison, which needs every state first */
  for (int i = 0; i < count && !st; i++) {
    const cJSON *s = cJSON_IsArray(search) ? cJSON_GetArrayItem(search, i) : search;
    blocks[i] = s;
    const char *label = str(s, "label", "search");
    char path[4096];
    snprintf(path, sizeof path, "%s/search/%s/state.json", dir, label);
    rp_text_put(&sections, "\n## Search `%s`\n\n", label);
    if (!rp_exp_exists(path)) {
      settings_text(&sections, s, &(rp_search_result){0}, normalized);
      rp_text_put(&sections, "Not started yet.\n");
      continue;
    }
    if ((st = rp_search_read_state(path, &results[i]))) break;
    with_state++;
    settings_text(&sections, s, &results[i], normalized);
    generations_table(&sections, &results[i]);
    best_text(&sections, s, &results[i]);
    cJSON *state = state_json(path);
    if (state) {
      cJSON_AddStringToObject(state, "label", label);
      cJSON_AddItemToArray(*json, state);
    }
  }
  if (!st && count > 1) comparison_table(md, results, blocks, count);
  if (sections.s) rp_text_put(md, "%s", sections.s);
  md->failed |= sections.failed;
  free(sections.s);
  if (!st && plots && with_state) {
    st = progress_figure(dir, results, blocks, count);
    *figure = !st;
  }
  for (int i = 0; i < count; i++) rp_search_result_free(&results[i]);
  free(results);
  free(blocks);
  return st;
}
