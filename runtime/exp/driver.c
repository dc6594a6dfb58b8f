/* Executing a plan: resume (skip finished runs), train through the backend, write each run's
 * record (JSON, then per-epoch CSV) atomically, regenerate the reports after every run. */
#include "exp/driver.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exp/files.h"
#include "io/file.h"
#include "io/json.h"
#include "train/trainer.h"

static void add_number(cJSON *o, const char *key, double v) {
  if (isfinite(v))
    cJSON_AddNumberToObject(o, key, v);
  else
    cJSON_AddNullToObject(o, key);
}

/* What decides whether an existing record is this run: the training configuration and the
 * evaluation. */
static cJSON *evaluation_json(const rp_experiment *e) {
  cJSON *j = rp_exp_to_json(e);
  cJSON *ev = cJSON_DetachItemFromObjectCaseSensitive(j, "evaluation");
  cJSON_Delete(j);
  return ev;
}

cJSON *rp_exp_run_json(const rp_experiment *e, const rp_exp_run *run, const rp_exp_result *r,
                       cJSON *device, const char *git_commit) {
  const rp_exp_loss *loss = &e->losses[run->loss_index];
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "schema", "repro-run-1");
  cJSON_AddStringToObject(j, "experiment", e->name);
  cJSON_AddStringToObject(j, "run_id", run->id);
  cJSON_AddStringToObject(j, "loss_label", loss->label);
  cJSON_AddNumberToObject(j, "loss_index", run->loss_index);
  cJSON_AddStringToObject(j, "loss", loss->canonical);
  cJSON_AddNumberToObject(j, "seed_number", run->seed_number);
  cJSON_AddNumberToObject(j, "seed", (double)run->seed);
  cJSON_AddStringToObject(j, "status", r->diverged ? "diverged" : "done");
  if (r->diverged) cJSON_AddStringToObject(j, "error", r->error);
  cJSON_AddItemToObject(j, "config", rp_exp_config_json(e, loss, run->seed));
  cJSON_AddItemToObject(j, "evaluation", evaluation_json(e));

  /* A diverged run counts as accuracy 0 everywhere (it is not a model one would keep). */
  const rp_exp_epoch *last = r->epoch_count ? &r->epochs[r->epoch_count - 1] : NULL;
  cJSON *f = cJSON_AddObjectToObject(j, "final");
  double test_acc =
      isfinite(r->test_accuracy) ? r->test_accuracy : (last ? last->test_accuracy : NAN);
  double test_loss = isfinite(r->test_loss) ? r->test_loss : (last ? last->test_loss : NAN);
  add_number(f, "test_accuracy", r->diverged ? 0 : test_acc);
  add_number(f, "test_loss", r->diverged ? NAN : test_loss);
  /* No validation split: no validation accuracy, diverged or not. */
  double val_acc = last ? last->val_accuracy : NAN;
  add_number(f, "val_accuracy", r->diverged && e->validation > 0 ? 0 : val_acc);
  add_number(f, "train_true_class_probability", r->diverged || !last ? NAN : last->train_true_prob);
  cJSON *attacks = cJSON_AddArrayToObject(j, "attacks");
  const rp_exp_eval *ev = &e->eval;
  for (int k = 0; k < ev->fgsm_count + ev->pgd_count; k++) {
    bool fgsm = k < ev->fgsm_count;
    double eps = fgsm ? ev->fgsm[k] : ev->pgd[k - ev->fgsm_count];
    double acc = r->diverged ? 0 : NAN;
    for (int i = 0; i < r->attack_count; i++)
      if ((r->attacks[i].kind == RP_EXP_FGSM) == fgsm && r->attacks[i].eps == eps)
        acc = r->diverged ? 0 : r->attacks[i].accuracy;
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "attack", fgsm ? "fgsm" : "pgd");
    cJSON_AddNumberToObject(a, "eps", eps);
    add_number(a, "accuracy", acc);
    cJSON_AddItemToArray(attacks, a);
  }
  cJSON *epochs = cJSON_AddArrayToObject(j, "epochs");
  for (int i = 0; i < r->epoch_count && r->epochs; i++)
    cJSON_AddItemToArray(epochs, rp_epoch_metrics_json(&r->epochs[i]));
  if (r->data) cJSON_AddItemReferenceToObject(j, "data", r->data);
  add_number(j, "seconds", r->seconds);
  cJSON_AddStringToObject(j, "repro_version", REPRO_VERSION);
  cJSON_AddStringToObject(j, "git_commit", git_commit ? git_commit : "unknown");
  char date[32];
  time_t now = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  cJSON_AddStringToObject(j, "date", date);
  if (device)
    cJSON_AddItemToObject(j, "device", device);
  else
    cJSON_AddNullToObject(j, "device");
  return j;
}

static void run_path(char *out, size_t size, const char *dir, const rp_exp_run *run,
                     const char *ext) {
  snprintf(out, size, "%s/runs/%s.%s", dir, run->id, ext);
}

char *rp_exp_state_fingerprint(const rp_experiment *e, const rp_exp_loss *loss, uint64_t seed) {
  cJSON *config = rp_exp_config_json(e, loss, seed);
  char *text = config ? rp_json_print(config, false) : NULL;
  cJSON_Delete(config);
  return text;
}

/* The saved state of an unfinished run, if there is one: *epochs_done its epochs (0: none).
 * One saved under another configuration is refused as a changed record is, by the first value
 * that differs (the fingerprint is the configuration's JSON). */
static rp_status run_state(const rp_experiment *e, const rp_exp_run *run, const char *out_dir,
                           int *epochs_done) {
  char path[4096];
  run_path(path, sizeof path, out_dir, run, "state");
  if (!rp_exp_exists(path)) return RP_OK;
  char *saved_under = NULL;
  rp_status st = rp_trainer_state_read(path, &saved_under, epochs_done);
  /* (a file that is no state is bad input, as a damaged record is) */
  if (st && st != RP_ERR_OUT_OF_MEMORY)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: remove it to train this run from the start",
                 rp_error_message());
  char *fingerprint = rp_exp_state_fingerprint(e, &e->losses[run->loss_index], run->seed);
  if (!st && !fingerprint) st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  char where[512] = "$.config", was[96] = "?", is[96] = "?";
  if (!st && saved_under && fingerprint &&
      rp_exp_json_text_difference(saved_under, fingerprint, "$.config", where, sizeof where, was,
                                  is, sizeof was))
    st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s was saved by a run with another training configuration than the "
                 "experiment's now (%s: %s in the state, %s now): remove it to train this run "
                 "from the start",
                 path, where, was, is);
  free(saved_under);
  free(fingerprint);
  if (!st && *epochs_done > e->training.epochs)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %d epochs done, but the run has %d", path,
                 *epochs_done, e->training.epochs);
  return st;
}

rp_status rp_exp_run_done(const rp_experiment *e, const rp_exp_run *run, const char *out_dir,
                          bool *done, int *epochs_done) {
  *done = false;
  *epochs_done = 0;
  char path[4096];
  run_path(path, sizeof path, out_dir, run, "json");
  if (!rp_exp_exists(path)) return run_state(e, run, out_dir, epochs_done);
  cJSON *rec;
  rp_status st = rp_exp_read_json(path, &rec);
  if (st) return st;
  const cJSON *status = cJSON_GetObjectItemCaseSensitive(rec, "status");
  cJSON *config = rp_exp_config_json(e, &e->losses[run->loss_index], run->seed);
  cJSON *evaluation = evaluation_json(e);
  /* What changed, if anything: the first difference, configuration first. */
  char where[512], was[96], now[96];
  const cJSON *rec_config = cJSON_GetObjectItemCaseSensitive(rec, "config");
  const cJSON *rec_eval = cJSON_GetObjectItemCaseSensitive(rec, "evaluation");
  bool config_changed = rp_exp_json_difference(rec_config, config, "$.config", where, sizeof where,
                                               was, now, sizeof was);
  bool changed =
      config_changed || rp_exp_json_difference(rec_eval, evaluation, "$.evaluation", where,
                                               sizeof where, was, now, sizeof was);
  bool finished = cJSON_IsString(status) && (strcmp(status->valuestring, "done") == 0 ||
                                             strcmp(status->valuestring, "diverged") == 0);
  cJSON_Delete(config);
  cJSON_Delete(evaluation);
  cJSON_Delete(rec);
  if (!finished) return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s is not a finished run record", path);
  if (changed)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s was made with another %s than the experiment's now (%s: %s in the record, "
                   "%s now): move it away or choose another output directory",
                   path, config_changed ? "training configuration" : "evaluation", where, was, now);
  *done = true;
  return RP_OK;
}

static void csv_number(char **p, size_t *left, double v, bool last) {
  int n = isfinite(v) ? snprintf(*p, *left, "%.9g%c", v, last ? '\n' : ',')
                      : snprintf(*p, *left, "%c", last ? '\n' : ',');
  if (n > 0 && (size_t)n < *left) *p += n, *left -= (size_t)n;
}

static rp_status write_csv(const char *path, const rp_exp_result *r) {
  size_t size = 256 + (size_t)r->epoch_count * 256;
  char *text = malloc(size), *p = text;
  if (!text) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory writing %s", path);
  size_t left = size;
  int n = snprintf(p, left,
                   "epoch,lr,train_loss,train_accuracy,train_true_class_probability,"
                   "val_loss,val_accuracy,test_loss,test_accuracy,seconds,"
                   "images_per_second\n");
  p += n, left -= (size_t)n;
  for (int i = 0; i < r->epoch_count; i++) {
    const rp_exp_epoch *m = &r->epochs[i];
    csv_number(&p, &left, m->epoch, false);
    csv_number(&p, &left, m->lr, false);
    csv_number(&p, &left, m->train_loss, false);
    csv_number(&p, &left, m->train_accuracy, false);
    csv_number(&p, &left, m->train_true_prob, false);
    csv_number(&p, &left, m->val_loss, false);
    csv_number(&p, &left, m->val_accuracy, false);
    csv_number(&p, &left, m->test_loss, false);
    csv_number(&p, &left, m->test_accuracy, false);
    csv_number(&p, &left, m->seconds, false);
    csv_number(&p, &left, m->images_per_second, true);
  }
  rp_status st = rp_exp_write_atomic(path, text, (size_t)(p - text));
  free(text);
  return st;
}

rp_status rp_exp_check_runs(const rp_experiment *e, const rp_exp_plan *plan, const char *out_dir) {
  char path[4200];
  snprintf(path, sizeof path, "%s/runs", out_dir);
  char **names;
  int count;
  rp_status st = rp_exp_list_json(path, &names, &count);
  for (int i = 0; i < count && names && !st; i++) {
    snprintf(path, sizeof path, "%s/runs/%s", out_dir, names[i]);
    cJSON *rec;
    if ((st = rp_exp_read_json(path, &rec))) break;
    st = rp_exp_check_record(path, names[i], rec);
    const char *experiment = rp_exp_json_string(rec, "experiment", "");
    if (!st && strcmp(experiment, e->name) != 0)
      st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: $.experiment is \"%s\", not \"%s\": a record of another experiment; "
                   "move it away or choose another output directory",
                   path, experiment, e->name);
    bool planned = false;
    for (int k = 0; k < plan->run_count && !st && !planned; k++)
      planned = strcmp(plan->runs[k].id, rp_exp_json_string(rec, "run_id", "")) == 0;
    if (!st && !planned)
      st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s is not a run of %s as the file has it now (a loss or seed since "
                   "removed?): move it away or choose another output directory",
                   path, e->name);
    cJSON_Delete(rec);
  }
  rp_exp_free_names(names, count);
  return st;
}

rp_status rp_exp_execute(const rp_experiment *e, const rp_exp_plan *plan, const char *out_dir,
                         const rp_exp_backend *b, const char *git_commit) {
  char path[4096];
  snprintf(path, sizeof path, "%s/runs", out_dir);
  rp_status st = rp_exp_mkdirs(path);
  if (st) return st;
  rp_file_remove_stale_temporaries(path); /* of a run killed while writing a record */
  /* Check every existing record before training anything: a mismatch found after hours of
   * training would be worse. */
  st = rp_exp_check_runs(e, plan, out_dir);
  if (st) return st;
  bool *done = calloc((size_t)plan->run_count, sizeof *done);
  if (!done) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  for (int i = 0; i < plan->run_count && !st; i++) {
    int epochs_done;
    st = rp_exp_run_done(e, &plan->runs[i], out_dir, &done[i], &epochs_done);
  }
  if (!st) {
    snprintf(path, sizeof path, "%s/experiment.json", out_dir);
    cJSON *resolved = rp_exp_to_json(e);
    st = rp_json_write_file(path, resolved);
    cJSON_Delete(resolved);
  }
  for (int i = 0; i < plan->run_count && !st; i++) {
    const rp_exp_run *run = &plan->runs[i];
    if (done[i]) {
      /* A state beside a finished record is left from a stop between the two writes: removed,
       * lest it be taken up if the record is ever moved away to train the run again. */
      char state[4096];
      run_path(state, sizeof state, out_dir, run, "state");
      if (remove(state) != 0 && errno != ENOENT)
        st = rp_fail(RP_ERR_IO, "cannot remove %s: %s", state, strerror(errno));
      if (!st && b->event) b->event(b->user, RP_EXP_RUN_SKIPPED, i, plan->run_count, run, NULL);
      continue;
    }
    if (b->event) b->event(b->user, RP_EXP_RUN_START, i, plan->run_count, run, NULL);
    rp_exp_result r = {.test_accuracy = NAN, .test_loss = NAN, .seconds = NAN};
    char state[4096];
    run_path(state, sizeof state, out_dir, run, "state");
    st = b->train(b->user, e, run, state, &r);
    if (!st) {
      /* The CSV first: the JSON record is what marks the run as finished. */
      run_path(path, sizeof path, out_dir, run, "csv");
      st = write_csv(path, &r);
    }
    if (!st) {
      cJSON *rec =
          rp_exp_run_json(e, run, &r, b->device_json ? b->device_json(b->user) : NULL, git_commit);
      run_path(path, sizeof path, out_dir, run, "json");
      st = rp_json_write_file(path, rec);
      cJSON_Delete(rec);
    }
    /* The record holds everything now; a state left behind would be taken up again if the
     * record were ever moved away, instead of training the run from the start. */
    if (!st && remove(state) != 0 && errno != ENOENT)
      st = rp_fail(RP_ERR_IO, "cannot remove %s: %s", state, strerror(errno));
    if (!st && b->event) b->event(b->user, RP_EXP_RUN_DONE, i, plan->run_count, run, &r);
    free(r.epochs);
    cJSON_Delete(r.data);
    /* The report of the runs so far. One that fails (a figure PLplot could not write, a full
     * disk) stops no training: the record is what matters, and the caller makes the report
     * again at the end, whose error counts. */
    if (!st && rp_exp_report(out_dir) != RP_OK && b->event)
      b->event(b->user, RP_EXP_REPORT_FAILED, i, plan->run_count, run, NULL);
  }
  free(done);
  return st;
}
