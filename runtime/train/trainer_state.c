/* A run's state between epochs: rp_trainer_save_state and rp_trainer_restore_state
 * (train/trainer.h). The file is a checkpoint (train/checkpoint.h) with the momentum buffers,
 * the history as an F64 tensor, and in its metadata the configuration's fingerprint, the
 * epochs done, the step count, the device and the crc32 of the tensors' bytes. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/number.h"
#include "train/checkpoint.h"
#include "train/loss_spec.h"
#include "train/trainer_private.h"
#include "vk/context.h"

/* The columns of the "history" tensor, one row per finished epoch. */
enum { HISTORY_COLUMNS = 11 };

/* The metadata entry holding the crc32 of a state's tensors (rp_safetensors_crc32): bytes
 * damaged on disk are told when the state is taken up, instead of training on (a NaN weight
 * would be recorded as the run's divergence, finite garbage as its result). States saved by an
 * earlier repro have none. */
#define CHECKSUM_KEY "tensors_crc32"

static void history_row(const rp_epoch_metrics *m, double *row) {
  const double values[HISTORY_COLUMNS] = {
      m->epoch,           m->lr,       m->train_loss,       m->train_accuracy,
      m->train_true_prob, m->val_loss, m->val_accuracy,     m->test_loss,
      m->test_accuracy,   m->seconds,  m->images_per_second};
  memcpy(row, values, sizeof values);
}

static void history_metrics(const double *row, rp_epoch_metrics *m) {
  *m = (rp_epoch_metrics){(int)row[0], row[1], row[2], row[3], row[4], row[5],
                          row[6],      row[7], row[8], row[9], row[10]};
}

/* The device and driver a state was saved on (rp_format_device): a run is taken up on the same
 * one only, so that its record, which names one device, holds one device's training. */
static void device_of(const rp_trainer *t, char out[RP_DEVICE_TEXT]) {
  rp_format_device(rp_context_caps(t->ctx), out);
}

rp_status rp_trainer_save_state(const rp_trainer *t, const char *path, const char *fingerprint) {
  int done = t->epochs_done;
  double *history = malloc((size_t)(done ? done : 1) * HISTORY_COLUMNS * sizeof *history);
  if (!history) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  for (int e = 0; e < done; e++) history_row(&t->history[e], history + (size_t)e * HISTORY_COLUMNS);
  rp_named_tensor tensor = {.name = "history",
                            .dtype = "F64",
                            .ndim = 2,
                            .shape = {done, HISTORY_COLUMNS},
                            .data = history};
  char loss[512], epochs_done[32], step[32];
  rp_loss_format(&t->cfg.loss, loss, sizeof loss);
  snprintf(epochs_done, sizeof epochs_done, "%d", done);
  snprintf(step, sizeof step, "%" PRId64, t->global_step);
  char device[RP_DEVICE_TEXT];
  device_of(t, device);
  const char *keys[] = {"training_state", "epochs_done", "global_step", "device"};
  const char *values[] = {fingerprint, epochs_done, step, device};
  rp_checkpoint_info info = {t->cfg.dataset, loss, t->cfg.epochs, t->cfg.seed};
  rp_checkpoint_extra extra = {.momentum = true,
                               .tensors = &tensor,
                               .tensor_count = 1,
                               .meta_keys = keys,
                               .meta_values = values,
                               .meta_count = 4,
                               .checksum_key = CHECKSUM_KEY};
  rp_status st = rp_checkpoint_save_with(&t->net, path, &info, &extra);
  free(history);
  return st;
}

/* A metadata value for a message ("" where absent). */
static const char *meta_text(const rp_safetensors *f, const char *key) {
  const char *text = rp_safetensors_meta(f, key);
  return text ? text : "";
}

/* A non-negative integer of the metadata, or -1. */
static int64_t meta_count(const rp_safetensors *f, const char *key) {
  const char *text = rp_safetensors_meta(f, key);
  if (!text || !*text) return -1;
  long long v;
  return rp_parse_integer(text, &v) || v < 0 ? -1 : (int64_t)v;
}

/* Whether `h` is a history of `done` epochs (its shape: the values are checked on restoring). */
static bool history_fits(const rp_named_tensor *h, int done) {
  return h && strcmp(h->dtype, "F64") == 0 && h->ndim == 2 && h->shape[0] == done &&
         h->shape[1] == HISTORY_COLUMNS;
}

/* Whether `row` can be the history of epoch `epoch` as history_row wrote it: that epoch, a
 * learning rate, accuracies in [0, 1] (NaN where not measured), times that are times. A state
 * whose bytes were damaged has NaN or nonsense there, which must not reach a record. */
static bool history_row_valid(const double *row, int epoch) {
  bool ok = row[0] == epoch && isfinite(row[1]) && row[1] > 0;
  for (int c = 2; c < 9 && ok; c++) {
    bool accuracy = c == 3 || c == 4 || c == 6 || c == 8; /* (a probability, 4) */
    /* the others are losses, which a TaylorGLO loss may make negative */
    ok = isnan(row[c]) || (accuracy ? row[c] >= 0 && row[c] <= 1 : isfinite(row[c]));
  }
  return ok && isfinite(row[9]) && row[9] >= 0 && isfinite(row[10]) && row[10] >= 0;
}

rp_status rp_trainer_state_read(const char *path, char **fingerprint, int *epochs_done) {
  *fingerprint = NULL;
  *epochs_done = 0;
  rp_safetensors *f; /* the header alone: the metadata is all this reads */
  rp_status st = rp_safetensors_open_header(path, &f);
  if (st) return st;
  const char *saved = rp_safetensors_meta(f, "training_state");
  int64_t done = meta_count(f, "epochs_done");
  if (!saved)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s is not a training state (no training_state in its metadata)", path);
  else if (done < 1 || done > INT32_MAX || meta_count(f, "global_step") < 0)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s: epochs_done must be a count from 1 and global_step a count, not \"%s\" and "
                 "\"%s\"",
                 path, meta_text(f, "epochs_done"), meta_text(f, "global_step"));
  else if (!history_fits(rp_safetensors_find(f, "history"), (int)done))
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: no F64 history of %d epochs by %d columns", path,
                 (int)done, HISTORY_COLUMNS);
  else if (!(*fingerprint = strdup(saved)))
    st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  if (!st) *epochs_done = (int)done;
  rp_safetensors_close(f);
  return st;
}

/* Fingerprints are JSON, compared as values: an earlier repro printed some numbers otherwise
 * (a 16-digit seed as 5.89265005224436e+15), and its states still resume. */
static bool same_fingerprint(const char *saved, const char *now) {
  if (strcmp(saved, now) == 0) return true;
  cJSON *a = cJSON_Parse(saved), *b = cJSON_Parse(now);
  bool same = a && b && cJSON_Compare(a, b, true);
  cJSON_Delete(a);
  cJSON_Delete(b);
  return same;
}

/* A state is taken up on the device and driver it was saved on only (device_of). */
static rp_status check_device(const rp_trainer *t, const rp_safetensors *f, const char *path) {
  char device[RP_DEVICE_TEXT];
  device_of(t, device);
  if (strcmp(meta_text(f, "device"), device) == 0) return RP_OK;
  return rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s was saved on %s, and this is %s: resume it there, or remove it to train this "
                 "run from the start",
                 path, meta_text(f, "device"), device);
}

/* The history of state `f` into t->history, each row checked: *done its epochs. */
static rp_status read_history(rp_trainer *t, const rp_safetensors *f, const char *path, int *done) {
  *done = (int)meta_count(f, "epochs_done");
  /* (checked again on this read of the file: it may have been replaced since the one above) */
  const rp_named_tensor *h = rp_safetensors_find(f, "history");
  if (!history_fits(h, *done) || *done > t->cfg.epochs)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: no F64 history of %d epochs by %d columns", path,
                   *done, HISTORY_COLUMNS);
  for (int e = 0; e < *done; e++) {
    double row[HISTORY_COLUMNS];
    memcpy(row, (const char *)h->data + (size_t)e * sizeof row, sizeof row);
    if (!history_row_valid(row, e + 1))
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "%s: its history of epoch %d is damaged: remove it to train this run from "
                     "the start",
                     path, e + 1);
    history_metrics(row, &t->history[e]);
  }
  return RP_OK;
}

/* Whether tensor `t` (F32) holds a NaN or an infinity. */
static bool holds_non_finite(const rp_named_tensor *t) {
  int64_t n = rp_named_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    float v;
    memcpy(&v, (const char *)t->data + (size_t)i * sizeof v, sizeof v);
    if (!isfinite(v)) return true;
  }
  return false;
}

/* Whether the tensors of state `f` (weights, momentum buffers, batch-norm statistics and
 * counters, history) are the bytes they were saved with: their crc32 against the one saved
 * with them. A state saved by an earlier repro has none; of it, every float (F32: the weights,
 * buffers and statistics) must at least be finite, which catches the NaN that bytes of all ones
 * make, though not finite garbage. No state a run saved holds a NaN or an infinity:
 * rp_trainer_run saves only after an epoch that ended well (in the epoch callback), and
 * train_epoch (trainer.c) ends an epoch in divergence where a step's training loss is not
 * finite, and where the loss over held-out images after its last step is not: every run
 * evaluates either the validation split (a search's candidates, which need one) or the test
 * set (every other run) after each epoch. A non-finite weight or batch-norm running mean makes
 * that loss non-finite (ReLU and max pooling pass NaN on, as PyTorch's do), and SGD (sgd.comp)
 * moves a weight by its new momentum buffer, so a non-finite buffer makes its weight non-finite
 * in the same step. (The one exception: a running variance overflowed to +inf, in a run whose
 * activations passed about 1e19, zeroes its channel instead of making NaN; an earlier repro's
 * state holding one is refused as damaged, and that run trained again from the start.) */
static rp_status check_tensors_intact(const rp_safetensors *f, const char *path) {
  const char *saved = rp_safetensors_meta(f, CHECKSUM_KEY);
  if (saved) {
    char now[9];
    snprintf(now, sizeof now, "%08" PRIx32, rp_safetensors_crc32(f));
    if (strcmp(saved, now) == 0) return RP_OK;
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: its tensors are damaged (their crc32 is %s, saved as %.16s): remove it to "
                   "train this run from the start",
                   path, now, saved);
  }
  for (int i = 0; i < rp_safetensors_count(f); i++) {
    const rp_named_tensor *t = rp_safetensors_at(f, i);
    if (strcmp(t->dtype, "F32") == 0 && holds_non_finite(t))
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "%s: its tensor '%s' is damaged (not finite): remove it to train this run "
                     "from the start",
                     path, t->name);
  }
  return RP_OK;
}

rp_status rp_trainer_restore_state(rp_trainer *t, const char *path, const char *fingerprint) {
  char *saved_under = NULL;
  int saved = 0;
  rp_status st = rp_trainer_state_read(path, &saved_under, &saved);
  if (!st && saved_under && !same_fingerprint(saved_under, fingerprint))
    st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s was saved by a run configured otherwise: remove it to train this run from "
                 "the start",
                 path);
  free(saved_under);
  if (!st && saved > t->cfg.epochs)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %d epochs done, but the run has %d", path, saved,
                 t->cfg.epochs);
  rp_safetensors *f = NULL;
  if (!st) st = rp_checkpoint_load_with(&t->net, path, 1, &f);
  if (st) return st;
  /* (the network holds the file's weights by now: a failure below leaves the trainer half
   * restored, which every caller destroys untrained) */
  int done = 0;
  st = check_device(t, f, path);
  /* (the history before the checksum, which covers it too: its message names the epoch) */
  if (!st) st = read_history(t, f, path, &done);
  if (!st) st = check_tensors_intact(f, path);
  if (!st) {
    t->epochs_done = done;
    t->global_step = meta_count(f, "global_step");
  }
  rp_safetensors_close(f);
  return st;
}

double rp_state_saver_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void rp_state_saver_epoch(rp_state_saver *s, rp_trainer *t) {
  double now = rp_state_saver_now();
  if (!s->path || s->error || now - s->saved_at < s->interval_seconds) return;
  s->error = rp_trainer_save_state(t, s->path, s->fingerprint);
  s->saved_at = now;
  if (s->error) rp_trainer_request_stop(t);
}
