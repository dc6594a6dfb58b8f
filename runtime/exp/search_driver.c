/* The searches of an experiment (exp/driver.h): each search block becomes an rp_search_config
 * whose state lives in DIR/search/<label>/, its candidates trained through the backend; then the
 * best loss of each search joins the experiment's losses and is trained like a listed one.
 *
 * The order of rp_exp_run_all (listed runs, searches, found losses) only decides which results
 * come first: every training's seed follows from its identity (exp/plan.c, meta/search.h). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp/driver.h"
#include "exp/files.h"
#include "io/file.h"
#include "io/json.h"
#include "train/trainer.h"

void rp_exp_search_dir(const char *out_dir, const rp_exp_search *s, char *out, size_t size) {
  snprintf(out, size, "%s/search/%s", out_dir, s->label);
}

/* DIR/search/<label>/<name>. */
static void search_file(const char *out_dir, const rp_exp_search *s, const char *name, char *out,
                        size_t size) {
  snprintf(out, size, "%s/search/%s/%s", out_dir, s->label, name);
}

cJSON *rp_exp_search_training_json(const rp_experiment *e, const rp_exp_search *s) {
  rp_exp_loss candidate = {0};
  snprintf(candidate.canonical, sizeof candidate.canonical, "taylorglo (each candidate's)");
  cJSON *j = rp_exp_config_json(e, &candidate, 0);
  cJSON_ReplaceItemInObjectCaseSensitive(j, "epochs", cJSON_CreateNumber(s->epochs));
  cJSON_DeleteItemFromObjectCaseSensitive(j, "seed"); /* each candidate has its own */
  cJSON_AddItemToObject(j, "search", rp_exp_search_json(s));
  return j;
}

/* What decides a finished generation's records: the training configuration and the search
 * block, less the number of generations (a finished search may be extended),
 * then_train_best, and test_images (candidates are never tested). */
static cJSON *comparable(const cJSON *training) {
  cJSON *c = cJSON_Duplicate(training, true);
  cJSON_DeleteItemFromObjectCaseSensitive(c, "test_images");
  cJSON *s = cJSON_GetObjectItemCaseSensitive(c, "search");
  cJSON_DeleteItemFromObjectCaseSensitive(s, "generations");
  cJSON_DeleteItemFromObjectCaseSensitive(s, "then_train_best");
  return c;
}

char *rp_exp_candidate_fingerprint(const rp_experiment *e, const rp_exp_search *s,
                                   const rp_search_trial *trial, const char *device) {
  char seed[24], genome[RP_TGLO_GENOME * 26];
  snprintf(seed, sizeof seed, "%016llx", (unsigned long long)trial->seed);
  size_t n = 0;
  for (int i = 0; i < RP_TGLO_GENOME; i++) /* 17 digits: read back exactly */
    n += (size_t)snprintf(genome + n, sizeof genome - n, "%s%.17g", i ? "," : "", trial->genome[i]);
  cJSON *t = cJSON_CreateObject();
  cJSON_AddNumberToObject(t, "generation", trial->generation);
  cJSON_AddNumberToObject(t, "candidate", trial->candidate);
  cJSON_AddNumberToObject(t, "attempt", trial->attempt);
  cJSON_AddStringToObject(t, "seed", seed);
  cJSON_AddStringToObject(t, "genome", genome);
  cJSON_AddStringToObject(t, "device", device ? device : "");
  cJSON *training = rp_exp_search_training_json(e, s);
  cJSON_AddItemToObject(t, "training", comparable(training));
  cJSON_Delete(training);
  char *text = rp_json_print(t, false);
  cJSON_Delete(t);
  return text;
}

/* The rp_search_config of search `s` of `e`, its state at `state_path`; no train function or
 * callbacks yet. */
static void search_config(const rp_experiment *e, const rp_exp_search *s, const char *state_path,
                          rp_search_config *c) {
  static const rp_search_invariant invariants[] = {RP_SEARCH_INV_OFF, RP_SEARCH_INV_CODE,
                                                   RP_SEARCH_INV_SOFTMAX};
  rp_search_config_defaults(c);
  c->experiment = e->name;
  c->seed = (uint64_t)s->seed;
  c->generations = s->generations;
  c->lambda = s->population;
  c->sigma0 = s->sigma0;
  c->classes = rp_exp_dataset_classes(e->dataset);
  c->invariant = invariants[s->invariant];
  c->prune = s->prune;
  c->fitness = s->fitness == RP_EXP_FITNESS_FGSM ? RP_SEARCH_FIT_FGSM : RP_SEARCH_FIT_ACCURACY;
  c->attack_eps = s->fitness_eps;
  c->attack_normalized = e->eval.normalized;
  c->retry_epoch = s->retry_epoch;
  c->retry_below = s->retry_below;
  c->retries = s->retries;
  c->state_path = state_path;
}

/* Whether candidate.state's fingerprint `f` is of the trial the search trains next at candidate
 * k (>= the settled ones: those between were pruned, which are not saved) and try `attempt`: the
 * try after the stuck ones for the first candidate not settled, the first for a later one; the
 * seed of that trial; the candidates' training of now. Otherwise the state is an earlier trial's,
 * which the search discards. */
static bool next_trial(const rp_experiment *e, const rp_exp_search *s, const cJSON *f,
                       const rp_search_position *at) {
  double g = rp_exp_json_number(f, "generation"), k = rp_exp_json_number(f, "candidate");
  double attempt = rp_exp_json_number(f, "attempt");
  if (!(g == at->generations && k >= at->settled && k < s->population &&
        attempt == (k == at->settled ? at->stuck_tries : 0)))
    return false;
  char seed[24];
  snprintf(seed, sizeof seed, "%016llx",
           (unsigned long long)rp_search_trial_seed(e->name, (uint64_t)s->seed, (int)g, (int)k,
                                                    (int)attempt));
  cJSON *training = rp_exp_search_training_json(e, s), *now = comparable(training);
  bool same = strcmp(rp_exp_json_string(f, "seed", ""), seed) == 0 &&
              cJSON_Compare(cJSON_GetObjectItemCaseSensitive(f, "training"), now, true);
  cJSON_Delete(training);
  cJSON_Delete(now);
  return same;
}

/* The candidate whose training candidate.state holds, into p where it is the next trial's (the
 * search takes it up, on the device named there). A state that cannot be read, or holds more
 * epochs than a candidate trains, is an error: the search would stop on it. */
static rp_status candidate_state(const rp_experiment *e, const rp_exp_search *s, const char *path,
                                 rp_exp_search_progress *p) {
  p->candidate = p->attempt = -1;
  p->epochs_done = 0;
  p->device[0] = '\0';
  if (!rp_exp_exists(path)) return RP_OK;
  char *fingerprint = NULL;
  int epochs = 0;
  rp_status st = rp_trainer_state_read(path, &fingerprint, &epochs);
  if (!st && epochs > s->epochs)
    st =
        rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %d epochs done, but the search's candidates train %d",
                path, epochs, s->epochs);
  if (st) {
    free(fingerprint);
    if (st == RP_ERR_OUT_OF_MEMORY) return st;
    /* (a file that is no state is bad input, as a damaged record is) */
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: remove it to train the search's candidate in progress from the start",
                   rp_error_message());
  }
  cJSON *f = cJSON_Parse(fingerprint);
  free(fingerprint);
  if (next_trial(e, s, f, &p->at)) {
    p->candidate = (int)rp_exp_json_number(f, "candidate");
    p->attempt = (int)rp_exp_json_number(f, "attempt");
    p->epochs_done = epochs;
    snprintf(p->device, sizeof p->device, "%s", rp_exp_json_string(f, "device", "?"));
  }
  cJSON_Delete(f);
  return RP_OK;
}

rp_status rp_exp_search_done(const rp_experiment *e, int index, const char *out_dir,
                             rp_exp_search_progress *progress) {
  const rp_exp_search *s = &e->searches[index];
  *progress = (rp_exp_search_progress){.candidate = -1, .attempt = -1};

  char dir[4096], path[4200];
  rp_exp_search_dir(out_dir, s, dir, sizeof dir);
  search_file(out_dir, s, "training.json", path, sizeof path);
  char state[4200];
  search_file(out_dir, s, "state.json", state, sizeof state);
  if (rp_exp_exists(path)) {
    cJSON *old;
    rp_status st = rp_exp_read_json(path, &old);
    if (st) return st;
    cJSON *now = rp_exp_search_training_json(e, s);
    cJSON *a = comparable(old), *b = comparable(now);
    char where[512], was[96], is[96];
    bool changed = rp_exp_json_difference(a, b, "$", where, sizeof where, was, is, sizeof was);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(old);
    cJSON_Delete(now);
    if (changed)
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "%s was made with another configuration than search \"%s\" of the "
                     "experiment's now (%s: %s in the file, %s now): move %s away or choose "
                     "another output directory",
                     path, s->label, where, was, is, dir);
  }
  /* The state's own settings (CMA-ES's population, the invariant, the seed...) are checked
   * too. They do not cover how candidates were trained (learning rate, epochs, data): without
   * training.json a changed recipe would go unnoticed, and the generations to come would be
   * trained otherwise than those done. */
  rp_search_config c;
  search_config(e, s, state, &c);
  rp_status st = rp_search_check_state(&c, &progress->at);
  if (!st && !rp_exp_exists(path) && rp_exp_exists(state))
    st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s has no training.json beside it, which says how its candidates were "
                 "trained: restore it, or move %s away to start search \"%s\" again",
                 state, dir, s->label);
  char candidate[4200];
  search_file(out_dir, s, "candidate.state", candidate, sizeof candidate);
  if (!st) st = candidate_state(e, s, candidate, progress);
  return st;
}

void rp_exp_search_standing(const rp_exp_search *s, const rp_exp_search_progress *p, char *out,
                            size_t size) {
  const rp_search_position *at = &p->at;
  int n = snprintf(out, size, "%d of %d generations done", at->generations, s->generations);
  if (at->settled && n >= 0 && (size_t)n < size)
    n += snprintf(out + n, size - (size_t)n, "; %d of %d candidates of generation %d settled",
                  at->settled, s->population, at->generations + 1);
  if (at->stuck_tries && n >= 0 && (size_t)n < size)
    n += snprintf(out + n, size - (size_t)n, "; candidate %d stuck in %d tr%s so far",
                  at->settled + 1, at->stuck_tries, at->stuck_tries == 1 ? "y" : "ies");
  if (p->candidate >= 0 && n >= 0 && (size_t)n < size)
    snprintf(out + n, size - (size_t)n, "; candidate %d (try %d) saved after epoch %d of %d on %s",
             p->candidate + 1, p->attempt + 1, p->epochs_done, s->epochs, p->device);
}

/* ---- the search's callbacks, relayed to the backend */

typedef struct relay {
  const rp_experiment *e;
  const rp_exp_search *s;
  const rp_exp_backend *b;
  const char *candidate_state; /* DIR/search/<label>/candidate.state */
} relay;

static void emit(const relay *r, rp_exp_search_event ev) {
  ev.search = r->s;
  if (r->b->search_event) r->b->search_event(r->b->user, &ev);
}

static rp_status train_trial(const rp_search_trial *trial, void *user, rp_search_outcome *out) {
  const relay *r = user;
  return r->b->train_candidate(r->b->user, r->e, r->s, trial, r->candidate_state, out);
}

static void on_trial(const rp_search_trial *trial, void *user) {
  emit(user, (rp_exp_search_event){.kind = RP_EXP_SEARCH_TRIAL,
                                   .generation = trial->generation,
                                   .index = trial->candidate,
                                   .trial = trial});
}

static void on_candidate(int generation, int index, const rp_search_candidate *c, void *user) {
  /* Settled and saved in the search's state: the training kept for resuming it is done with.
   * (One left by a stop just before this is discarded by the next candidate's training.) */
  const relay *r = user;
  (void)remove(r->candidate_state);
  emit(user, (rp_exp_search_event){.kind = RP_EXP_SEARCH_CANDIDATE,
                                   .generation = generation,
                                   .index = index,
                                   .candidate = c});
}

static int on_generation(const rp_search_generation *g, void *user) {
  emit(user, (rp_exp_search_event){.kind = RP_EXP_SEARCH_GENERATION,
                                   .generation = g->generation,
                                   .generation_record = g});
  return 0;
}

rp_status rp_exp_run_search(const rp_experiment *e, int index, const char *out_dir,
                            const rp_exp_backend *b, rp_search_result *out) {
  memset(out, 0, sizeof *out);
  const rp_exp_search *s = &e->searches[index];
  if (!b->train_candidate)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: search \"%s\": this backend cannot train "
                   "search candidates",
                   e->name, s->label);
  rp_exp_search_progress progress;
  rp_status st = rp_exp_search_done(e, index, out_dir, &progress);
  char dir[4096], state[4200], training[4200], candidate_state[4200];
  rp_exp_search_dir(out_dir, s, dir, sizeof dir);
  search_file(out_dir, s, "state.json", state, sizeof state);
  search_file(out_dir, s, "training.json", training, sizeof training);
  search_file(out_dir, s, "candidate.state", candidate_state, sizeof candidate_state);
  if (!st) st = rp_exp_mkdirs(dir);
  if (!st) rp_file_remove_stale_temporaries(dir); /* of a search killed while saving */
  if (!st) {
    /* Written (again) before any training: what the state's candidates were trained with. */
    cJSON *j = rp_exp_search_training_json(e, s);
    st = rp_json_write_file(training, j);
    cJSON_Delete(j);
  }
  if (st) return st;

  relay r = {e, s, b, candidate_state};
  rp_search_config c;
  search_config(e, s, state, &c);
  c.train = train_trial;
  c.train_user = &r;
  c.on_trial = on_trial;
  c.on_candidate = on_candidate;
  c.on_generation = on_generation;
  c.user = &r;
  emit(&r, (rp_exp_search_event){.kind = RP_EXP_SEARCH_START, .progress = &progress});
  st = rp_search_run(&c, out);
  /* (a stop just after the last candidate settled, before its training state was removed,
   * leaves one that no later candidate would discard) */
  if (!st) (void)remove(candidate_state);
  if (!st) emit(&r, (rp_exp_search_event){.kind = RP_EXP_SEARCH_DONE, .result = out});
  return st;
}

rp_status rp_exp_add_found_losses(rp_experiment *e, const char *out_dir) {
  /* A state that cannot be read does not keep the other searches' losses out: the dry run's
   * plan lists them all beside the error. The first failure is the one returned. */
  rp_status first = RP_OK;
  char first_message[1024] = "";
  for (int i = 0; i < e->search_count; i++) {
    const rp_exp_search *s = &e->searches[i];
    if (!s->then_train_best || rp_exp_found_loss(e, i) >= 0) continue;
    char state[4200];
    search_file(out_dir, s, "state.json", state, sizeof state);
    if (!rp_exp_exists(state)) continue;
    rp_search_result r;
    rp_status st = rp_search_read_state(state, &r);
    /* A search whose every trained candidate failed (or that pruned them all) has no best;
     * one that trained, at accuracy 0 too, is a loss that trains, and the search's best. */
    bool finished = !st && r.generation_count >= s->generations && rp_search_has_best(&r);
    if (finished) st = rp_exp_add_found_loss(e, i, r.genome);
    rp_search_result_free(&r);
    if (st && !first) {
      first = st;
      snprintf(first_message, sizeof first_message, "%s", rp_error_message());
    }
  }
  /* Said again: a later failure has replaced the first one's message. */
  return first ? rp_fail(first, "%s", first_message) : RP_OK;
}

/* The first record of search `s`'s best loss in DIR/runs, or the state of one interrupted while
 * it trained, into `path`; false when there is none. */
static bool best_record(const rp_experiment *e, const rp_exp_search *s, const char *out_dir,
                        char *path, size_t size) {
  static const char *const kinds[] = {"json", "state"};
  for (int i = 0; i < e->seed_count; i++) {
    for (int k = 0; k < 2; k++) {
      snprintf(path, size, "%s/runs/best_%s-s%d.%s", out_dir, s->label, e->seeds[i], kinds[k]);
      if (rp_exp_exists(path)) return true;
    }
  }
  return false;
}

rp_status rp_exp_search_check_best(const rp_experiment *e, int index, const char *out_dir) {
  const rp_exp_search *s = &e->searches[index];
  if (!s->then_train_best || rp_exp_found_loss(e, index) >= 0) return RP_OK; /* finished */
  char path[4200], state[4200];
  if (!best_record(e, s, out_dir, path, sizeof path)) return RP_OK;
  /* Without its state the search starts again, and nothing says the records are of the loss it
   * will find (nothing was extended either: the state that would say is gone). */
  search_file(out_dir, s, "state.json", state, sizeof state);
  if (!rp_exp_exists(state))
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s trained the best loss of search \"%s\", whose state %s is missing: "
                   "restore it, or move %s/runs/best_%s-s*.* away to start the search again",
                   path, s->label, state, out_dir, s->label);
  return rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s trained the best loss of search \"%s\" before it was extended to %d "
                 "generations, and the extension may find another: move "
                 "%s/runs/best_%s-s*.* away first",
                 path, s->label, s->generations, out_dir, s->label);
}

/* Each search's training.json and state, and the records of best losses of unfinished searches:
 * the part of rp_exp_check_resume that rp_exp_execute does not check itself. */
static rp_status check_searches(const rp_experiment *e, const char *out_dir) {
  rp_status st = RP_OK;
  for (int i = 0; i < e->search_count && !st; i++) {
    rp_exp_search_progress progress;
    st = rp_exp_search_done(e, i, out_dir, &progress);
    if (!st) st = rp_exp_search_check_best(e, i, out_dir);
  }
  return st;
}

rp_status rp_exp_check_resume(const rp_experiment *e, const rp_exp_plan *plan,
                              const char *out_dir) {
  rp_status st = check_searches(e, out_dir);
  /* Then the run records, as rp_exp_execute checks them before it trains. */
  if (!st) st = rp_exp_check_runs(e, plan, out_dir);
  for (int i = 0; i < plan->run_count && !st; i++) {
    bool done;
    int epochs_done;
    st = rp_exp_run_done(e, &plan->runs[i], out_dir, &done, &epochs_done);
  }
  return st;
}

rp_status rp_exp_run_all(rp_experiment *e, const char *out_dir, const rp_exp_backend *b,
                         const char *git_commit) {
  /* Losses of searches finished earlier join now, so that their records are checked too. */
  rp_status st = rp_exp_add_found_losses(e, out_dir);
  if (!st && e->search_count && !b->train_candidate)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: has searches, and this backend cannot run them",
                 e->name);
  rp_exp_plan plan = {0};
  if (!st) st = rp_exp_make_plan(e, &plan);
  /* Everything in the way, before anything trains (rp_exp_check_resume, what `repro run
   * --dry-run` checks): the searches' files here, the run records in rp_exp_execute, before its
   * first training, so that they are read once. */
  if (!st) st = check_searches(e, out_dir);
  if (!st) st = rp_exp_execute(e, &plan, out_dir, b, git_commit);
  rp_exp_plan_free(&plan);
  int listed = e->loss_count;
  for (int i = 0; i < e->search_count && !st; i++) {
    rp_search_result r;
    st = rp_exp_run_search(e, i, out_dir, b, &r);
    rp_search_result_free(&r);
    if (!st) (void)rp_exp_report(out_dir); /* as after a run: made again at the end */
  }
  if (!st) st = rp_exp_add_found_losses(e, out_dir);
  if (!st && e->loss_count > listed) {
    if (!(st = rp_exp_make_plan(e, &plan))) st = rp_exp_execute(e, &plan, out_dir, b, git_commit);
    rp_exp_plan_free(&plan);
  }
  /* The last report, whose error is the command's: also when everything was done already. */
  if (!st) st = rp_exp_report(out_dir);
  return st;
}
