/* The plan of an experiment (one run per loss and seed number), the seed of each run, a cost
 * estimate, and the resolved experiment as JSON. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/split.h"
#include "exp/experiment.h"
#include "train/loss_spec.h"

/* FNV-1a over the identity's fields (each followed by a 0 byte, so "ab"+"c" and "a"+"bc"
 * differ), then SplitMix64's finalizer to spread the bits. Changing this function changes
 * every experiment's seeds: tests/test_experiment.c pins its values. */
static uint64_t fnv1a(uint64_t h, const char *s) {
  for (const unsigned char *c = (const unsigned char *)s;; c++) {
    h ^= *c;
    h *= 0x100000001b3ull;
    if (!*c) return h;
  }
}

uint64_t rp_exp_derive_seed(const char *experiment, const char *loss_label, int seed_number) {
  char number[16];
  snprintf(number, sizeof number, "%d", seed_number);
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv1a(h, experiment);
  h = fnv1a(h, loss_label);
  h = fnv1a(h, number);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h & ((1ull << 53) - 1);
}

uint64_t rp_exp_split_seed(const char *experiment) { return rp_exp_derive_seed(experiment, "", 0); }

rp_status rp_exp_make_plan(const rp_experiment *e, rp_exp_plan *out) {
  memset(out, 0, sizeof *out);
  out->run_count = e->loss_count * e->seed_count;
  out->runs = calloc((size_t)out->run_count, sizeof *out->runs);
  if (!out->runs) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory planning %s", e->name);
  /* Loss-major: all seeds of the first loss, then the next; the order only decides which
   * results come first, never a run's seed. */
  for (int l = 0; l < e->loss_count; l++)
    for (int s = 0; s < e->seed_count; s++) {
      rp_exp_run *r = &out->runs[l * e->seed_count + s];
      r->loss_index = l;
      r->seed_number = e->seeds[s];
      r->seed = rp_exp_derive_seed(e->name, e->losses[l].label, e->seeds[s]);
      snprintf(r->id, sizeof r->id, "%s-s%d", e->losses[l].label, e->seeds[s]);
    }
  int64_t train = 0, test = 0;
  out->epochs = (double)e->training.epochs * out->run_count;
  if (rp_exp_dataset_size(e->dataset, &train, &test)) {
    const rp_exp_training *t = &e->training;
    if (e->test_images > 0 && e->test_images < test) test = e->test_images;
    int64_t images = rp_split_keep(train - e->validation, e->fraction);
    int64_t batches = (images + t->batch - 1) / t->batch;
    int64_t steps = batches * t->epochs;
    if (t->max_steps && t->max_steps < steps) steps = t->max_steps;
    int epochs = t->epochs;
    if (t->max_steps && batches > 0) {
      int64_t needed = (t->max_steps + batches - 1) / batches;
      if (needed < epochs) epochs = (int)needed;
    }
    double per_run_eval = (double)epochs * (double)(e->validation + test);
    if (e->eval.clean) per_run_eval += (double)test;
    per_run_eval += (double)e->eval.fgsm_count * (double)test;
    per_run_eval += (double)e->eval.pgd_count * (double)test * e->eval.pgd_steps;
    out->train_images = images;
    out->image_steps = (double)steps * t->batch * out->run_count;
    out->eval_images = per_run_eval * out->run_count;
    out->epochs = (double)epochs * out->run_count; /* those max_steps leaves */
  }
  return RP_OK;
}

rp_status rp_exp_add_found_loss(rp_experiment *e, int index, const double genome[8]) {
  if (index < 0 || index >= e->search_count)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: no search %d", e->name, index);
  rp_exp_loss *grown = realloc(e->losses, (size_t)(e->loss_count + 1) * sizeof *grown);
  if (!grown) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  e->losses = grown;
  rp_exp_loss *l = &e->losses[e->loss_count];
  *l = (rp_exp_loss){.from_search = true, .search_index = index};
  /* The schema keeps search labels short enough for the prefix (at most 58 characters). */
  char label[2 * RP_EXP_NAME_MAX];
  snprintf(label, sizeof label, "best_%s", e->searches[index].label);
  if (strlen(label) >= sizeof l->label)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: search label %s is too long", e->name,
                   e->searches[index].label);
  memcpy(l->label, label, strlen(label) + 1);
  l->loss.kind = RP_LOSS_TAYLORGLO;
  for (int i = 0; i < 8; i++) l->loss.theta[i] = (float)genome[i];
  rp_loss_format(&l->loss, l->canonical, sizeof l->canonical);
  snprintf(l->spec, sizeof l->spec, "%s", l->canonical);
  e->loss_count++;
  return RP_OK;
}

int rp_exp_found_loss(const rp_experiment *e, int index) {
  for (int k = 0; k < e->loss_count; k++)
    if (e->losses[k].from_search && e->losses[k].search_index == index) return k;
  return -1;
}

void rp_exp_plan_free(rp_exp_plan *plan) {
  free(plan->runs);
  plan->runs = NULL;
  plan->run_count = 0;
}

/* ---- JSON: rp_exp_to_json writes a valid experiment file (every default spelled out), so
 * `repro run DIR/experiment.json` repeats an experiment. */

static void add_training(cJSON *j, const rp_exp_training *t) {
  cJSON_AddNumberToObject(j, "epochs", t->epochs);
  cJSON_AddNumberToObject(j, "batch", t->batch);
  cJSON_AddNumberToObject(j, "lr", t->lr);
  cJSON *steps = cJSON_AddArrayToObject(j, "lr_steps");
  for (int i = 0; i < t->lr_step_count; i++)
    cJSON_AddItemToArray(steps, cJSON_CreateNumber(t->lr_steps[i]));
  cJSON_AddNumberToObject(j, "lr_gamma", t->lr_gamma);
  cJSON_AddNumberToObject(j, "momentum", t->momentum);
  cJSON_AddNumberToObject(j, "weight_decay", t->weight_decay);
  cJSON_AddBoolToObject(j, "nesterov", t->nesterov);
}

/* The keys of rp_train_args_json (repro train --json), so a run's configuration reads the same
 * wherever it was written. */
cJSON *rp_exp_config_json(const rp_experiment *e, const rp_exp_loss *loss, uint64_t seed) {
  const rp_exp_training *t = &e->training;
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "model", e->model);
  cJSON_AddStringToObject(j, "dataset", e->dataset);
  cJSON_AddStringToObject(j, "loss", loss->canonical);
  add_training(j, t);
  cJSON_AddNumberToObject(j, "seed", (double)seed);
  cJSON_AddNumberToObject(j, "split_seed", (double)rp_exp_split_seed(e->name));
  cJSON_AddNumberToObject(j, "fraction", e->fraction);
  cJSON_AddNumberToObject(j, "validation", (double)e->validation);
  if (e->test_images) cJSON_AddNumberToObject(j, "test_images", (double)e->test_images);
  cJSON *aug = cJSON_AddObjectToObject(j, "augment");
  cJSON_AddBoolToObject(aug, "crop", t->crop);
  cJSON_AddNumberToObject(aug, "crop_pad", t->crop ? 4 : 0);
  cJSON_AddBoolToObject(aug, "flip", t->flip);
  cJSON_AddNumberToObject(aug, "cutout", t->cutout ? 16 : 0);
  if (t->max_steps) cJSON_AddNumberToObject(j, "max_steps", (double)t->max_steps);
  return j;
}

static cJSON *eps_array(const double *eps, int count) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < count; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(eps[i]));
  return a;
}

bool rp_exp_search_retries(const rp_exp_search *s) {
  return s->fitness == RP_EXP_FITNESS_VAL_ACCURACY && s->retries > 0 && s->retry_epoch <= s->epochs;
}

cJSON *rp_exp_search_json(const rp_exp_search *s) {
  static const char *const invariants[] = {"off", "code", "softmax"};
  cJSON *sj = cJSON_CreateObject();
  cJSON_AddStringToObject(sj, "label", s->label);
  cJSON_AddNumberToObject(sj, "population", s->population);
  cJSON_AddNumberToObject(sj, "generations", s->generations);
  cJSON_AddNumberToObject(sj, "sigma0", s->sigma0);
  cJSON_AddStringToObject(sj, "invariant", invariants[s->invariant]);
  cJSON_AddBoolToObject(sj, "prune", s->prune);
  cJSON_AddStringToObject(sj, "fitness",
                          s->fitness == RP_EXP_FITNESS_FGSM ? "fgsm" : "val_accuracy");
  cJSON_AddNumberToObject(sj, "fitness_eps", s->fitness_eps);
  cJSON_AddNumberToObject(sj, "epochs", s->epochs);
  cJSON_AddNumberToObject(sj, "retry_below", s->retry_below);
  cJSON_AddNumberToObject(sj, "retry_epoch", s->retry_epoch);
  cJSON_AddNumberToObject(sj, "retries", s->retries);
  cJSON_AddBoolToObject(sj, "then_train_best", s->then_train_best);
  cJSON_AddNumberToObject(sj, "seed", s->seed);
  return sj;
}

cJSON *rp_exp_to_json(const rp_experiment *e) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "name", e->name);
  cJSON *d = cJSON_AddObjectToObject(j, "dataset");
  cJSON_AddStringToObject(d, "name", e->dataset);
  if (e->data_dir[0]) cJSON_AddStringToObject(d, "dir", e->data_dir);
  cJSON_AddNumberToObject(d, "fraction", e->fraction);
  cJSON_AddNumberToObject(d, "validation", (double)e->validation);
  if (e->test_images) cJSON_AddNumberToObject(d, "test_images", (double)e->test_images);
  cJSON_AddStringToObject(j, "model", e->model);
  cJSON *t = cJSON_AddObjectToObject(j, "training");
  add_training(t, &e->training);
  cJSON *aug = cJSON_AddArrayToObject(t, "augment");
  if (e->training.crop) cJSON_AddItemToArray(aug, cJSON_CreateString("crop"));
  if (e->training.flip) cJSON_AddItemToArray(aug, cJSON_CreateString("flip"));
  if (e->training.cutout) cJSON_AddItemToArray(aug, cJSON_CreateString("cutout"));
  cJSON_AddNumberToObject(t, "max_steps", (double)e->training.max_steps);
  cJSON *losses = cJSON_AddArrayToObject(j, "losses");
  for (int i = 0; i < e->loss_count; i++) {
    if (e->losses[i].from_search) continue; /* not in the file: the searches make them */
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "label", e->losses[i].label);
    cJSON_AddStringToObject(l, "loss", e->losses[i].spec);
    cJSON_AddStringToObject(l, "convention", e->losses[i].paper ? "paper" : "code");
    cJSON_AddItemToArray(losses, l);
  }
  cJSON *seeds = cJSON_AddArrayToObject(j, "seeds");
  for (int i = 0; i < e->seed_count; i++)
    cJSON_AddItemToArray(seeds, cJSON_CreateNumber(e->seeds[i]));
  cJSON *ev = cJSON_AddObjectToObject(j, "evaluation");
  cJSON_AddBoolToObject(ev, "clean", e->eval.clean);
  cJSON_AddItemToObject(ev, "fgsm", eps_array(e->eval.fgsm, e->eval.fgsm_count));
  cJSON *pgd = cJSON_AddObjectToObject(ev, "pgd");
  cJSON_AddItemToObject(pgd, "eps", eps_array(e->eval.pgd, e->eval.pgd_count));
  cJSON_AddNumberToObject(pgd, "steps", e->eval.pgd_steps);
  /* No step_size: 2.5 eps / steps for each eps. */
  if (e->eval.pgd_step_size > 0) cJSON_AddNumberToObject(pgd, "step_size", e->eval.pgd_step_size);
  cJSON_AddStringToObject(ev, "eps_mode", e->eval.normalized ? "normalized" : "pixel");
  /* One search: an object (as one is usually written); several: a list. */
  if (e->search_count == 1) cJSON_AddItemToObject(j, "search", rp_exp_search_json(&e->searches[0]));
  if (e->search_count > 1) {
    cJSON *list = cJSON_AddArrayToObject(j, "search");
    for (int i = 0; i < e->search_count; i++)
      cJSON_AddItemToArray(list, rp_exp_search_json(&e->searches[i]));
  }
  return j;
}
