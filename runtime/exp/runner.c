#include "exp/runner.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exp/files.h"
#include "meta/search_train.h"
#include "train/trainer.h"
#include "vk/caps_json.h"

void rp_exp_recipe(const char *model, const char *dataset, rp_exp_training *t,
                   int64_t *validation) {
  rp_train_config c;
  rp_train_config_defaults(&c, model, dataset);
  *t = (rp_exp_training){.epochs = c.epochs,
                         .batch = c.batch,
                         .lr = c.lr,
                         .lr_gamma = c.lr_gamma,
                         .lr_step_count = c.lr_step_count,
                         .momentum = c.momentum,
                         .weight_decay = c.weight_decay,
                         .nesterov = c.nesterov,
                         .crop = c.augment.crop,
                         .flip = c.augment.flip,
                         .cutout = c.augment.cutout > 0,
                         .max_steps = c.max_steps};
  for (int i = 0; i < c.lr_step_count && i < RP_EXP_MAX_LR_STEPS; i++)
    t->lr_steps[i] = c.lr_steps[i];
  *validation = c.validation;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The trainer's callbacks, passed on to the runner's: for a run (`run`) or a search
 * candidate (`search` and `trial`). */
typedef struct relay {
  rp_exp_runner *runner;
  const rp_exp_run *run;
  int epochs;
  const rp_exp_search *search;
  const rp_search_trial *trial;
  /* A run's trainer and its state's saver. */
  rp_trainer *trainer;
  rp_state_saver saver;
} relay;

static void on_progress(const rp_progress *p, void *user) {
  const relay *r = user;
  if (r->runner->progress) r->runner->progress(r->runner->user, p);
}

/* An event of the search candidate in training, to the runner's callback. */
static void trial_event(const relay *r, rp_exp_search_event ev) {
  if (!r->runner->search_event) return;
  ev.search = r->search;
  ev.generation = r->trial->generation;
  ev.index = r->trial->candidate;
  ev.trial = r->trial;
  r->runner->search_event(r->runner->user, &ev);
}

static void on_epoch(const rp_epoch_metrics *m, void *user) {
  relay *r = user;
  if (!r->trial) {
    rp_state_saver_epoch(&r->saver, r->trainer);
    if (r->runner->epoch) r->runner->epoch(r->runner->user, r->run, m, r->epochs);
    return;
  }
  trial_event(r, (rp_exp_search_event){.kind = RP_EXP_SEARCH_EPOCH, .epoch = m});
}

void rp_exp_train_config(const rp_experiment *e, const rp_loss *loss, uint64_t seed,
                         rp_train_config *c) {
  const rp_exp_training *t = &e->training;
  rp_train_config_defaults(c, e->model, e->dataset);
  c->data_dir = e->data_dir[0] ? e->data_dir : NULL;
  c->loss = *loss;
  c->epochs = t->epochs, c->batch = t->batch;
  c->lr = t->lr, c->lr_gamma = t->lr_gamma;
  c->lr_step_count = t->lr_step_count;
  for (int i = 0; i < t->lr_step_count; i++) c->lr_steps[i] = t->lr_steps[i];
  c->momentum = t->momentum, c->weight_decay = t->weight_decay, c->nesterov = t->nesterov;
  c->seed = seed;
  c->split_seed = rp_exp_split_seed(e->name); /* the same validation images for every run */
  c->fraction = e->fraction;
  c->validation = e->validation;
  c->test_images = e->test_images;
  c->augment = (rp_augment){
      .crop = t->crop, .crop_pad = t->crop ? 4 : 0, .flip = t->flip, .cutout = t->cutout ? 16 : 0};
  c->max_steps = t->max_steps;
}

/* Takes the run up from its saved state where there is one: the time its epochs took so far. */
static rp_status resume(rp_exp_runner *runner, const rp_exp_run *run, relay *r,
                        double *seconds_before) {
  *seconds_before = 0;
  if (!rp_exp_exists(r->saver.path)) return RP_OK;
  rp_status st = rp_trainer_restore_state(r->trainer, r->saver.path, r->saver.fingerprint);
  if (st) return st;
  int done = 0;
  const rp_epoch_metrics *h = rp_trainer_history(r->trainer, &done);
  for (int i = 0; i < done; i++) *seconds_before += h[i].seconds;
  if (runner->resumed) runner->resumed(runner->user, run, r->saver.path, done, r->epochs);
  return RP_OK;
}

static rp_status train(void *user, const rp_experiment *e, const rp_exp_run *run,
                       const char *state_path, rp_exp_result *out) {
  rp_exp_runner *runner = user;
  const rp_exp_training *t = &e->training;
  rp_train_config c;
  rp_exp_train_config(e, &e->losses[run->loss_index].loss, run->seed, &c);

  double start = now_seconds(), seconds_before = 0;
  rp_trainer *tr = NULL;
  char *fingerprint = rp_exp_state_fingerprint(e, &e->losses[run->loss_index], run->seed);
  rp_status st = fingerprint ? RP_OK : rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  if (!st) st = rp_trainer_create(runner->ctx, &c, &tr);
  relay r = {.runner = runner,
             .run = run,
             .epochs = t->epochs,
             .trainer = tr,
             .saver = {.path = state_path,
                       .fingerprint = fingerprint,
                       .interval_seconds = runner->state_interval_seconds,
                       .saved_at = rp_state_saver_now()}};
  if (!st && state_path) st = resume(runner, run, &r, &seconds_before);
  if (st) {
    rp_trainer_destroy(tr);
    free(fingerprint);
    return st;
  }
  const rp_dataset *ds = rp_trainer_train_set(tr);
  out->data = cJSON_CreateObject();
  cJSON_AddStringToObject(out->data, "dir", ds->dir);
  cJSON_AddNumberToObject(out->data, "train_images", (double)rp_trainer_train_count(tr));
  cJSON_AddNumberToObject(out->data, "validation_images", (double)rp_trainer_val_count(tr));
  cJSON_AddBoolToObject(out->data, "partial", ds->partial);

  st = rp_trainer_run(tr, &(rp_train_callbacks){on_progress, on_epoch, &r});
  if (!st && r.saver.error) st = r.saver.error;
  if (st == RP_ERR_DIVERGED) {
    /* Recorded, not fatal: a loss that blows up is a result. */
    out->diverged = true;
    snprintf(out->error, sizeof out->error, "%s", rp_error_message());
    st = RP_OK;
  }
  int count = 0;
  const rp_epoch_metrics *h = rp_trainer_history(tr, &count);
  if (!st && count > 0) {
    out->epochs = calloc((size_t)count, sizeof *out->epochs);
    if (!out->epochs) st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < count && out->epochs; i++) out->epochs[i] = h[i];
    out->epoch_count = out->epochs ? count : 0;
  }
  if (!st && !out->diverged && e->eval.clean)
    st = rp_trainer_evaluate(tr, RP_SPLIT_TEST, &out->test_accuracy, &out->test_loss);
  const rp_exp_eval *ev = &e->eval;
  for (int k = 0; k < ev->fgsm_count + ev->pgd_count && !st && !out->diverged; k++) {
    bool fgsm = k < ev->fgsm_count;
    double eps = fgsm ? ev->fgsm[k] : ev->pgd[k - ev->fgsm_count];
    rp_attack attack = {fgsm ? RP_ATTACK_FGSM : RP_ATTACK_PGD, eps, ev->pgd_steps,
                        ev->pgd_step_size > 0 ? ev->pgd_step_size
                                              : rp_pgd_default_step(eps, ev->pgd_steps),
                        ev->normalized};
    rp_exp_attack_result *a = &out->attacks[out->attack_count];
    a->kind = fgsm ? RP_EXP_FGSM : RP_EXP_PGD;
    a->eps = eps;
    st = rp_trainer_attack(tr, RP_SPLIT_TEST, &attack, &a->accuracy);
    if (!st) out->attack_count++;
  }
  out->seconds = now_seconds() - start + seconds_before;
  rp_trainer_destroy(tr);
  free(fingerprint);
  return st;
}

/* ---- search candidates */

/* A candidate's training taken up from its saved state. */
static void candidate_resumed(void *user, int epochs_done) {
  trial_event(user,
              (rp_exp_search_event){.kind = RP_EXP_SEARCH_RESUMED, .epochs_done = epochs_done});
}

static rp_status train_candidate(void *user, const rp_experiment *e, const rp_exp_search *s,
                                 const rp_search_trial *trial, const char *state_path,
                                 rp_search_outcome *out) {
  rp_exp_runner *runner = user;
  char device[RP_DEVICE_TEXT];
  rp_format_device(rp_context_caps(runner->ctx), device);
  char *fingerprint = state_path ? rp_exp_candidate_fingerprint(e, s, trial, device) : NULL;
  if (state_path && !fingerprint) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  rp_search_trainer st = {.ctx = runner->ctx,
                          .state_path = state_path,
                          .fingerprint = fingerprint,
                          .state_interval_seconds = runner->state_interval_seconds,
                          .resumed = candidate_resumed};
  rp_loss ce = {.kind = RP_LOSS_CE}; /* replaced by the candidate's genome */
  rp_exp_train_config(e, &ce, 0, &st.base);
  st.base.epochs = s->epochs;
  st.base.skip_epoch_test = true; /* candidates are judged on the validation split alone */
  relay r = {.runner = runner, .epochs = s->epochs, .search = s, .trial = trial};
  rp_train_callbacks cb = {on_progress, on_epoch, &r};
  st.callbacks = &cb;
  rp_status status = rp_search_train_candidate(trial, &st, out);
  free(fingerprint);
  return status;
}

static void on_search_event(void *user, const rp_exp_search_event *event) {
  rp_exp_runner *runner = user;
  if (runner->search_event) runner->search_event(runner->user, event);
}

static cJSON *device_json(void *user) {
  const rp_exp_runner *runner = user;
  return rp_caps_to_json(rp_context_caps(runner->ctx));
}

static void on_event(void *user, rp_exp_event event, int index, int count, const rp_exp_run *run,
                     const rp_exp_result *result) {
  rp_exp_runner *runner = user;
  if (runner->event) runner->event(runner->user, event, index, count, run, result);
}

rp_exp_backend rp_exp_trainer_backend(rp_exp_runner *runner) {
  return (rp_exp_backend){.train = train,
                          .device_json = device_json,
                          .event = on_event,
                          .user = runner,
                          .train_candidate = train_candidate,
                          .search_event = on_search_event};
}
