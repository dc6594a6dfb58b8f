/* The trainer and what drives it, on the device, with a small synthetic Fashion-MNIST whose
 * classes a network learns in a few steps (each class a bright square at its own place, over
 * noise):
 *   - training learns, repeats bit for bit, and skipping the per-epoch test pass changes
 *     nothing else; the history's validation accuracy is what evaluating the final weights
 *     afterwards gives (the history is of the final weights; the evaluation itself is checked
 *     against the double-precision reference network in test_trainer_attack); an epoch's
 *     training metrics are the means of its images' per-image loss statistics;
 *   - a search candidate trained through rp_search_train_candidate scores exactly what the
 *     trainer gives for the same genome, seed and split;
 *   - `repro run`'s whole flow (listed runs, a search, its best loss) through the trainer
 *     backend, each candidate's recorded fitness equal to a direct training of its genome;
 *   - a run's record holds the test set's accuracy and loss, clean and under each attack as the
 *     file sets it, that a training of the run's configuration measures;
 *   - a loss that blows up is recorded as diverged, and the experiment goes on;
 *   - a saved state whose tensors' bytes were damaged is refused before anything trains on it
 *     (a run, an experiment's run, a search candidate), told by its checksum. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exp/driver.h"
#include "exp/files.h"
#include "exp/runner.h"
#include "io/file.h"
#include "meta/search_train.h"
#include "support/fixture.h"
#include "support/synthetic.h"
#include "support/tmpfiles.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

TestSuite(trainer, .fini = test_teardown);

/* The MNIST CNN on it: 150 training images in 3 batches of 50, 50 held out for validation. */
static rp_train_config small_config(const char *dir) {
  rp_train_config c = synthetic_config(dir);
  c.epochs = 2;
  c.lr = 0.01;
  c.seed = 7;
  c.split_seed = 11;
  return c;
}

/* The accuracy under attack of trainer `t` on `split`. */
static double attacked(rp_trainer *t, rp_split_kind split, rp_attack a) {
  double accuracy = NAN;
  ASSERT_OK(rp_trainer_attack(t, split, &a, &accuracy));
  return accuracy;
}

/* The size of the header of the safetensors file `bytes` (its first 8 bytes, little-endian). */
static uint64_t header_size(const char *bytes) {
  uint64_t header = 0;
  for (int i = 7; i >= 0; i--) header = header << 8 | (uint8_t)bytes[i];
  return header;
}

/* Where in the safetensors file at `path` the data of tensor `name` starts. */
static long tensor_offset(const char *path, const char *name) {
  char *bytes;
  size_t size;
  ASSERT_OK(rp_file_read(path, &bytes, &size));
  uint64_t header = header_size(bytes);
  cJSON *json = cJSON_ParseWithLength(bytes + 8, (size_t)header);
  cJSON *offsets = cJSON_GetObjectItem(cJSON_GetObjectItem(json, name), "data_offsets");
  cr_assert(cJSON_IsArray(offsets), "%s has no tensor '%s'", path, name);
  long at = (long)(8 + header) + (long)cJSON_GetArrayItem(offsets, 0)->valuedouble;
  cJSON_Delete(json);
  free(bytes);
  return at;
}

/* Overwrites `n` bytes of the file at `path` from offset `at`, as damage on disk would. */
static void overwrite(const char *path, long at, const void *bytes, size_t n) {
  FILE *f = fopen(path, "r+b");
  cr_assert(f && fseek(f, at, SEEK_SET) == 0 && fwrite(bytes, 1, n, f) == n && fclose(f) == 0,
            "cannot overwrite %s", path);
}

static const uint8_t all_ones[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Overwrites the first float of the "history" tensor of the training state at `path` (epoch
 * 1's number) with all-ones bytes, a NaN, as damage on disk would. */
static void damage_history(const char *path) {
  overwrite(path, tensor_offset(path, "history"), all_ones, 8);
}

/* Trains `c` and copies its history out (count epochs). */
static rp_status train(const rp_train_config *c, rp_epoch_metrics *history, int *count,
                       double *val_now) {
  rp_trainer *t = NULL;
  rp_status st = rp_trainer_create(test_ctx(), c, &t);
  if (!st) st = rp_trainer_run(t, NULL);
  const rp_epoch_metrics *h = rp_trainer_history(t, count);
  for (int i = 0; i < *count; i++) history[i] = h[i];
  double loss;
  if (!st && val_now) st = rp_trainer_evaluate(t, RP_SPLIT_VAL, val_now, &loss);
  rp_trainer_destroy(t);
  return st;
}

Test(trainer, learns_repeats_and_skipping_the_test_pass_changes_nothing_else) {
  char *dir = synthetic_dataset();
  rp_train_config c = small_config(dir);
  rp_epoch_metrics a[2], b[2], s[2];
  int na, nb, ns;
  double val_now;
  ASSERT_OK(train(&c, a, &na, &val_now));
  cr_assert_eq(na, 2);
  /* Learned: far above chance (10%) on held-out images, the loss down. */
  cr_assert_gt(a[1].val_accuracy, 0.5, "validation accuracy %g after 2 epochs", a[1].val_accuracy);
  cr_assert_lt(a[1].train_loss, a[0].train_loss);
  cr_assert(isfinite(a[1].test_accuracy));
  /* The history's number is an evaluation of the final weights. */
  cr_assert_eq(val_now, a[1].val_accuracy);

  ASSERT_OK(train(&c, b, &nb, NULL));
  c.skip_epoch_test = true;
  ASSERT_OK(train(&c, s, &ns, NULL));
  for (int e = 0; e < 2; e++) {
    cr_assert_eq(a[e].train_loss, b[e].train_loss, "epoch %d: not repeatable", e + 1);
    cr_assert_eq(a[e].val_accuracy, b[e].val_accuracy);
    cr_assert_eq(a[e].val_loss, b[e].val_loss);
    cr_assert_eq(a[e].train_loss, s[e].train_loss, "epoch %d: the test pass changed training",
                 e + 1);
    cr_assert_eq(a[e].val_accuracy, s[e].val_accuracy);
    cr_assert(isnan(s[e].test_accuracy) && isnan(s[e].test_loss));
  }
  remove_tree(dir);
  free(dir);
}

/* The schedule: the rate is multiplied by gamma at the start of each named epoch (0-based, as
 * the official trainer's `epoch in schedule`), in the history and in the updates themselves: a
 * rate stepped to 0 leaves the weights (no batch norm here) and so the validation loss exactly
 * as they were. Each model's defaults are taylorglo.md section 7's table. */
Test(trainer, the_learning_rate_steps_at_the_named_epochs) {
  char *dir = synthetic_dataset();
  rp_train_config c = small_config(dir);
  c.epochs = 3;
  c.lr_steps[0] = 1, c.lr_steps[1] = 2, c.lr_step_count = 2;
  rp_epoch_metrics h[3];
  int n;
  ASSERT_OK(train(&c, h, &n, NULL));
  cr_assert_eq(n, 3);
  cr_assert_eq(h[0].lr, 0.01);
  cr_assert_eq(h[1].lr, 0.01 * 0.1);
  cr_assert_eq(h[2].lr, 0.01 * 0.1 * 0.1);
  c.lr_steps[0] = 2, c.lr_step_count = 1, c.lr_gamma = 0;
  ASSERT_OK(train(&c, h, &n, NULL));
  cr_assert_eq(h[2].lr, 0.0);
  cr_assert_neq(h[1].val_loss, h[0].val_loss, "epoch 2 did not train");
  cr_assert_eq(h[2].val_loss, h[1].val_loss, "epoch 3 trained at rate 0");

  static const struct {
    const char *model;
    int epochs, batch, steps[3], step_count;
    double lr, gamma, weight_decay;
  } recipes[] = {
      {"mnist_cnn", 40, 100, {0}, 0, 0.01, 0.1, 0},
      {"allcnn_c", 350, 128, {200, 250, 300}, 3, 0.01, 0.1, 1e-3},
      {"resnet20", 200, 128, {100, 150}, 2, 0.1, 0.1, 1e-4},
      {"preresnet20", 200, 128, {100, 150}, 2, 0.1, 0.1, 1e-4},
      {"wrn-16-8", 200, 128, {60, 120, 160}, 3, 0.1, 0.2, 5e-4},
  };
  for (size_t i = 0; i < sizeof recipes / sizeof *recipes; i++) {
    rp_train_config d;
    rp_train_config_defaults(&d, recipes[i].model, "cifar10");
    cr_expect(d.epochs == recipes[i].epochs && d.batch == recipes[i].batch &&
                  d.lr == recipes[i].lr && d.lr_gamma == recipes[i].gamma &&
                  d.weight_decay == recipes[i].weight_decay && d.momentum == 0.9 &&
                  d.lr_step_count == recipes[i].step_count,
              "%s: %d epochs, batch %d, lr %g x %g, weight decay %g, momentum %g, %d steps",
              recipes[i].model, d.epochs, d.batch, d.lr, d.lr_gamma, d.weight_decay, d.momentum,
              d.lr_step_count);
    for (int k = 0; k < recipes[i].step_count; k++)
      cr_expect_eq(d.lr_steps[k], recipes[i].steps[k], "%s: step %d", recipes[i].model, k);
  }
  remove_tree(dir);
  free(dir);
}

/* The progress reports of a run: the first 15, and the latest in the last place. */
typedef struct progress_log {
  rp_progress report[16];
  int count;
} progress_log;

static void log_progress(const rp_progress *p, void *user) {
  progress_log *log = user;
  log->report[log->count < 16 ? log->count++ : 15] = *p;
}

/* Trains `c` with its progress reports into `log`; returns the first epoch's metrics, the
 * number of epochs run in *epochs and the training images in *images. */
static rp_epoch_metrics train_logged(const rp_train_config *c, progress_log *log, int *epochs,
                                     int64_t *images) {
  rp_train_callbacks cb = {.progress = log_progress, .user = log};
  rp_trainer *t = NULL;
  ASSERT_OK(rp_trainer_create(test_ctx(), c, &t));
  ASSERT_OK(rp_trainer_run(t, &cb));
  rp_epoch_metrics first = rp_trainer_history(t, epochs)[0];
  *images = rp_trainer_train_count(t);
  rp_trainer_destroy(t);
  return first;
}

/* The progress line reports every epoch's last step and the run's last one, and its time
 * estimate counts the steps --max-steps leaves, not the rest of the schedule, and the
 * evaluations still to come, each as long as the last: at the end, only the last epoch's. */
Test(trainer, progress_counts_the_steps_and_evaluations_left) {
  char *dir = synthetic_dataset();
  rp_train_config c = small_config(dir);
  c.epochs = 50;
  c.max_steps = 4; /* 3 batches per epoch: all of epoch 1 and one step of epoch 2 */
  progress_log log = {0};
  int epochs;
  int64_t images;
  rp_epoch_metrics first = train_logged(&c, &log, &epochs, &images);
  cr_assert_eq(epochs, 2);
  int n = log.count;
  cr_assert_geq(n, 2, "%d progress reports", n);
  const rp_progress *end_of_1 = NULL, *last = &log.report[n - 1];
  for (int i = 0; i < n; i++)
    if (log.report[i].epoch == 1 && log.report[i].step == 3) end_of_1 = &log.report[i];
  cr_assert(end_of_1, "no report of epoch 1's last step");
  /* No evaluation measured yet: one step left, not 49 more epochs, at the mean step time
   * (images per second over the batch). */
  double steps_left = end_of_1->seconds_left * end_of_1->images_per_second / c.batch;
  cr_assert_float_eq(steps_left, 1.0, 1e-9, "%g steps left after epoch 1", steps_left);
  cr_assert_eq(last->epoch, 2);
  cr_assert_eq(last->step, 1);
  cr_assert_eq(last->steps, 3);
  /* At the last step only epoch 2's evaluation is left, estimated as epoch 1's took: its
   * seconds less its training time. */
  double eval_1 = first.seconds - 3.0 * c.batch / first.images_per_second;
  cr_assert_gt(eval_1, 0);
  cr_assert_float_eq(last->seconds_left, eval_1, 1e-3,
                     "%g s left at the end, epoch 1's evaluation took %g s", last->seconds_left,
                     eval_1);
  remove_tree(dir);
  free(dir);
}

/* 150 training images in batches of 40: three whole batches and one of 30 every epoch, as the
 * official trainer's DataLoader gives them: four steps, the epoch's means over the 150 images
 * (a count of correct predictions over 150, not 160 or 120). That a 30-row step computes as a
 * batch of 30 is test_net's fewer_rows_compute_as_a_smaller_batch. */
Test(trainer, the_partial_last_batch_is_trained) {
  char *dir = synthetic_dataset();
  rp_train_config c = small_config(dir);
  c.batch = 40;
  c.epochs = 1;
  progress_log log = {0};
  int epochs;
  int64_t images;
  rp_epoch_metrics m = train_logged(&c, &log, &epochs, &images);
  cr_assert_eq(images, 150);
  const rp_progress *last = &log.report[log.count - 1];
  cr_assert(last->step == 4 && last->steps == 4, "step %lld of %lld", (long long)last->step,
            (long long)last->steps);
  double correct = m.train_accuracy * 150;
  cr_assert_float_eq(correct, round(correct), 1e-3, "%g correct of 150 images", correct);
  cr_assert_gt(m.val_accuracy, 0.3, "validation accuracy %g after one epoch", m.val_accuracy);
  remove_tree(dir);
  free(dir);
}

/* An epoch's training metrics are the means, over the images it trained, of each image's loss,
 * correctness and true-class probability: checked against those rows of the loss's per-image
 * statistics summed in double, step k's read from a training stopped after step k (training
 * repeats bit for bit), in batches of 45 with a partial last one. No validation or test pass
 * follows, so the statistics are the last training step's. */
Test(trainer, an_epochs_training_metrics_are_means_over_its_images) {
  char *dir = synthetic_dataset();
  rp_train_config c = small_config(dir);
  const int batch = 45;
  c.batch = batch;
  c.epochs = 1;
  c.validation = 0;
  c.skip_epoch_test = true;
  double sums[RP_LOSS_STATS] = {0};
  int64_t images = 0, count = 0;
  float *stats = malloc((size_t)RP_LOSS_STATS * batch * sizeof *stats);
  for (int k = 1; k == 1 || images < count; k++) {
    c.max_steps = k;
    rp_trainer *t = NULL;
    ASSERT_OK(rp_trainer_create(test_ctx(), &c, &t));
    ASSERT_OK(rp_trainer_run(t, NULL));
    count = rp_trainer_train_set(t)->count;
    rp_net *net = rp_trainer_net(t);
    int64_t rows = count - images < batch ? count - images : batch;
    /* [3, rows]: a partial batch's statistics are packed as its rows are */
    cr_assert_geq(rp_tensor_numel(&net->stats), RP_LOSS_STATS * rows);
    ASSERT_OK(rp_tensor_download(test_ctx(), &net->stats, stats));
    for (int s = 0; s < RP_LOSS_STATS; s++)
      for (int64_t r = 0; r < rows; r++) sums[s] += stats[s * rows + r];
    images += rows;
    rp_trainer_destroy(t);
  }
  free(stats);
  cr_assert(count % batch != 0, "%lld images: no partial batch", (long long)count);
  c.max_steps = 0;
  rp_epoch_metrics m;
  int epochs;
  ASSERT_OK(train(&c, &m, &epochs, NULL));
  cr_assert_eq(epochs, 1);
  double loss = sums[RP_STAT_LOSS] / (double)images;
  double accuracy = sums[RP_STAT_CORRECT] / (double)images;
  double true_prob = sums[RP_STAT_TRUE_PROB] / (double)images;
  cr_expect(fabs(m.train_loss - loss) <= 1e-5 * fabs(loss), "train loss %.9g, want %.9g",
            m.train_loss, loss);
  cr_expect(fabs(m.train_accuracy - accuracy) <= 1e-6, "train accuracy %.9g, want %.9g",
            m.train_accuracy, accuracy);
  cr_expect(fabs(m.train_true_prob - true_prob) <= 1e-5 * true_prob,
            "train p(true) %.9g, want %.9g", m.train_true_prob, true_prob);
  /* (distinct enough that a metric taken from another's sum would show) */
  cr_expect(fabs(true_prob - accuracy) > 1e-3 && loss > 0.1, "loss %g, accuracy %g, p(true) %g",
            loss, accuracy, true_prob);
  remove_tree(dir);
  free(dir);
}

/* The earlier TaylorGLO vector of taylorglo.md §8 (code convention). */
static const double early[8] = {1.5742, -1.4446, 2.3616, -0.6632, -2.8569, -1.1313, 0.8439, 1.4872};

/* Validation accuracy after training `genome` as the loss of `base` with `seed`. */
static double direct_fitness(const rp_train_config *base, const double *genome, uint64_t seed) {
  rp_train_config c = *base;
  c.loss = (rp_loss){.kind = RP_LOSS_TAYLORGLO};
  for (int k = 0; k < 8; k++) c.loss.theta[k] = (float)genome[k];
  c.seed = seed;
  rp_epoch_metrics h[4];
  int n;
  ASSERT_OK(train(&c, h, &n, NULL));
  return h[n - 1].val_accuracy;
}

Test(trainer, a_search_candidate_scores_what_the_trainer_gives) {
  char *dir = synthetic_dataset();
  rp_search_trainer st = {.ctx = test_ctx(), .base = small_config(dir)};
  st.base.epochs = 1;
  st.base.skip_epoch_test = true;
  rp_search_config cfg;
  rp_search_config_defaults(&cfg);
  rp_search_trial trial = {.cfg = &cfg, .seed = 12345, .check_epoch = 1, .check_below = 0.15};
  memcpy(trial.genome, early, sizeof early);
  rp_search_outcome out = {.accuracy = NAN, .check_accuracy = NAN};
  ASSERT_OK(rp_search_train_candidate(&trial, &st, &out));
  cr_assert(!out.diverged);
  cr_assert_eq(out.epochs, 1);
  double direct = direct_fitness(&st.base, early, 12345);
  cr_assert_eq(out.accuracy, direct, "candidate %g, direct training %g", out.accuracy, direct);
  cr_assert_eq(out.check_accuracy, direct);
  remove_tree(dir);
  free(dir);
}

/* The check of the retry rule reads the check epoch's validation accuracy, not the last
 * epoch's; with FGSM fitness, a candidate scores the accuracy under FGSM on the validation split
 * in the search's eps mode: each what a direct training of the genome with the trial's seed
 * gives, bit for bit, and each unlike what a mix-up would give. */
Test(trainer, a_search_candidates_check_and_fgsm_fitness_are_the_trainers) {
  char *dir = synthetic_dataset();
  rp_search_trainer st = {.ctx = test_ctx(), .base = small_config(dir)};
  st.base.epochs = 2;
  st.base.skip_epoch_test = true;
  rp_train_config c = st.base;
  c.loss = (rp_loss){.kind = RP_LOSS_TAYLORGLO};
  for (int k = 0; k < 8; k++) c.loss.theta[k] = (float)early[k];
  c.seed = 12345;
  rp_trainer *t = NULL;
  ASSERT_OK(rp_trainer_create(test_ctx(), &c, &t));
  ASSERT_OK(rp_trainer_run(t, NULL));
  int epochs = 0;
  const rp_epoch_metrics *h = rp_trainer_history(t, &epochs);
  cr_assert_eq(epochs, 2);
  cr_assert_neq(h[0].val_accuracy, h[1].val_accuracy, "the epochs agree: the test proves nothing");

  rp_search_config cfg;
  rp_search_config_defaults(&cfg);
  rp_search_trial trial = {.cfg = &cfg, .seed = 12345, .check_epoch = 1, .check_below = 0.15};
  memcpy(trial.genome, early, sizeof early);
  rp_search_outcome out = {.accuracy = NAN, .check_accuracy = NAN};
  ASSERT_OK(rp_search_train_candidate(&trial, &st, &out));
  cr_expect_eq(out.check_accuracy, h[0].val_accuracy);
  cr_expect_eq(out.accuracy, h[1].val_accuracy);

  cfg.fitness = RP_SEARCH_FIT_FGSM;
  cfg.attack_eps = 0.3;
  for (int normalized = 0; normalized < 2; normalized++) {
    cfg.attack_normalized = normalized;
    out = (rp_search_outcome){.accuracy = NAN, .check_accuracy = NAN};
    ASSERT_OK(rp_search_train_candidate(&trial, &st, &out));
    const rp_attack a = {RP_ATTACK_FGSM, 0.3, 0, 0, normalized};
    double want = attacked(t, RP_SPLIT_VAL, a), on_test = attacked(t, RP_SPLIT_TEST, a);
    double other_mode =
        attacked(t, RP_SPLIT_VAL, (rp_attack){RP_ATTACK_FGSM, 0.3, 0, 0, !normalized});
    cr_expect_eq(out.accuracy, want, "%s eps: fitness %g, FGSM on validation %g",
                 normalized ? "normalized" : "pixel", out.accuracy, want);
    /* (normalized eps 0.3 leaves this network's validation accuracy as it is: the clean
     * fitness is told apart in pixel eps) */
    cr_expect(want != on_test && want != other_mode && (normalized || want != h[1].val_accuracy),
              "%s eps: FGSM %g on validation, %g on test, %g in the other mode, %g clean",
              normalized ? "normalized" : "pixel", want, on_test, other_mode, h[1].val_accuracy);
  }
  rp_trainer_destroy(t);
  remove_tree(dir);
  free(dir);
}

/* The candidate's state as it stood after epoch 1, copied aside: a training killed right after
 * that save leaves this file. */
typedef struct snapshot {
  const char *state, *copy;
  int resumed_after; /* what the `resumed` callback was told (-1: not called) */
} snapshot;

static void copy_file(const char *from, const char *to) {
  char *bytes;
  size_t size;
  ASSERT_OK(rp_file_read(from, &bytes, &size));
  ASSERT_OK(rp_file_write_atomic(to, bytes, size));
  free(bytes);
}

static void copy_state_after_epoch_1(const rp_epoch_metrics *m, void *user) {
  const snapshot *s = user;
  if (m->epoch == 1) copy_file(s->state, s->copy);
}

static void note_candidate_resumed(void *user, int epochs_done) {
  ((snapshot *)user)->resumed_after = epochs_done;
}

/* A search candidate's training keeps its state between epochs and, killed after epoch 1 and
 * trained again, takes it up and scores what the uninterrupted training scored, bit for bit;
 * a try taken up stuck at its check epoch trains nothing more; a state saved under another
 * trial's fingerprint is discarded, and the candidate trained from the start. */
Test(trainer, a_search_candidate_resumes_from_its_saved_state) {
  char *dir = synthetic_dataset();
  char state[600], copy[600];
  snprintf(state, sizeof state, "%s/candidate.state", dir);
  snprintf(copy, sizeof copy, "%s/after-epoch-1.state", dir);
  snapshot snap = {state, copy, -1};
  rp_train_callbacks cb = {.epoch = copy_state_after_epoch_1, .user = &snap};
  rp_search_trainer st = {.ctx = test_ctx(),
                          .base = small_config(dir),
                          .callbacks = &cb,
                          .state_path = state,
                          .fingerprint = "trial A",
                          .state_interval_seconds = 0,
                          .resumed = note_candidate_resumed};
  st.base.epochs = 2;
  st.base.skip_epoch_test = true;
  rp_search_config cfg;
  rp_search_config_defaults(&cfg);
  rp_search_trial trial = {.cfg = &cfg, .seed = 4242};
  memcpy(trial.genome, early, sizeof early);
  rp_search_outcome straight = {.accuracy = NAN, .check_accuracy = NAN};
  ASSERT_OK(rp_search_train_candidate(&trial, &st, &straight));
  cr_assert_eq(snap.resumed_after, -1);
  cr_assert_eq(straight.epochs, 2);

  /* Killed after epoch 1: taken up there. */
  copy_file(copy, state);
  rp_search_outcome resumed = {.accuracy = NAN, .check_accuracy = NAN};
  ASSERT_OK(rp_search_train_candidate(&trial, &st, &resumed));
  cr_assert_eq(snap.resumed_after, 1, "the candidate was not taken up from its state");
  cr_assert_eq(resumed.epochs, 2);
  cr_assert_eq(resumed.accuracy, straight.accuracy, "resumed %.9g, straight %.9g", resumed.accuracy,
               straight.accuracy);

  /* A try stuck at its check epoch (below 101%: any is), killed right after it: taken up, it
   * trains nothing more and reports that epoch's accuracy. */
  copy_file(copy, state);
  snap.resumed_after = -1;
  trial.check_epoch = 1;
  trial.check_below = 1.01;
  rp_search_outcome stuck = {.accuracy = NAN, .check_accuracy = NAN};
  ASSERT_OK(rp_search_train_candidate(&trial, &st, &stuck));
  cr_assert_eq(snap.resumed_after, 1);
  cr_assert_eq(stuck.epochs, 1, "a stuck try was trained on after its check epoch");
  cr_assert(isfinite(stuck.check_accuracy) && stuck.check_accuracy < 1.01);

  /* Another trial's state (an earlier candidate's, left by a stop before its removal): the
   * candidate trains from the start and scores as the straight training did. */
  trial.check_epoch = 0;
  trial.check_below = 0;
  st.fingerprint = "trial B";
  cr_assert_eq(access(state, F_OK), 0);
  snap.resumed_after = -1;
  rp_search_outcome other = {.accuracy = NAN, .check_accuracy = NAN};
  ASSERT_OK(rp_search_train_candidate(&trial, &st, &other));
  cr_assert_eq(snap.resumed_after, -1, "another trial's state was taken up");
  cr_assert_eq(other.epochs, 2);
  cr_assert_eq(other.accuracy, straight.accuracy);
  remove_tree(dir);
  free(dir);
}

/* ---- a run interrupted between epochs and restored */

/* Every parameter's value and momentum buffer, and the batch-norm counters, as bytes. */
static uint8_t *weights_of(rp_trainer *t, size_t *size) {
  const rp_net *net = rp_trainer_net(t);
  size_t total = (size_t)net->bn_count * sizeof(int64_t);
  for (int i = 0; i < net->param_count; i++)
    total += rp_tensor_bytes(&net->params[i].value) * (net->params[i].trainable ? 2 : 1);
  uint8_t *bytes = malloc(total), *at = bytes;
  for (int i = 0; i < net->param_count; i++) {
    const rp_param *p = &net->params[i];
    ASSERT_OK(rp_tensor_download(test_ctx(), &p->value, (float *)(void *)at));
    at += rp_tensor_bytes(&p->value);
    if (!p->trainable) continue;
    ASSERT_OK(rp_tensor_download(test_ctx(), &p->momentum, (float *)(void *)at));
    at += rp_tensor_bytes(&p->momentum);
  }
  memcpy(at, net->bn_batches, (size_t)net->bn_count * sizeof(int64_t));
  *size = total;
  return bytes;
}

typedef struct stop_after {
  rp_trainer *t;
  int epoch;
  const char *path, *fingerprint;
} stop_after;

/* Saves the state after epoch `epoch` and stops there, as a run killed after that save. */
static void save_and_stop(const rp_epoch_metrics *m, void *user) {
  stop_after *s = user;
  if (m->epoch != s->epoch) return;
  ASSERT_OK(rp_trainer_save_state(s->t, s->path, s->fingerprint));
  rp_trainer_request_stop(s->t);
}

/* Trains `c` for `epochs` epochs and saves its state at `path` under `fingerprint`. */
static void save_after(const rp_train_config *c, int epochs, const char *path,
                       const char *fingerprint) {
  rp_trainer *t;
  ASSERT_OK(rp_trainer_create(test_ctx(), c, &t));
  stop_after stop = {t, epochs, path, fingerprint};
  ASSERT_OK(rp_trainer_run(t, &(rp_train_callbacks){.epoch = save_and_stop, .user = &stop}));
  rp_trainer_destroy(t);
}

/* Trained through, and stopped after epoch `stop` then restored into a new trainer and trained
 * on, a run ends with the same weights, momentum buffers, batch-norm statistics and counters,
 * and history, bit for bit: the MNIST CNN (dropout, whose random stream follows the step
 * count), a ResNet-8 (batch norm) with a partial last batch, and a run that max_steps ends in
 * its second of three epochs, stopped after that epoch (no epoch of no steps may follow). */
static void check_resume(const char *model, int batch, int64_t max_steps, int stop) {
  char *dir = synthetic_dataset();
  rp_train_config c = small_config(dir);
  c.model = model, c.batch = batch, c.epochs = max_steps ? 3 : 2, c.max_steps = max_steps;
  char path[600];
  snprintf(path, sizeof path, "%s/run.state", dir);

  rp_trainer *t;
  ASSERT_OK(rp_trainer_create(test_ctx(), &c, &t));
  ASSERT_OK(rp_trainer_run(t, NULL));
  int n_straight;
  const rp_epoch_metrics *h = rp_trainer_history(t, &n_straight);
  rp_epoch_metrics straight[3];
  memcpy(straight, h, (size_t)n_straight * sizeof *h);
  size_t size_straight, size_resumed;
  uint8_t *w_straight = weights_of(t, &size_straight);
  rp_trainer_destroy(t);

  save_after(&c, stop, path, "config A");
  ASSERT_OK(rp_trainer_create(test_ctx(), &c, &t));
  ASSERT_OK(rp_trainer_restore_state(t, path, "config A"));
  ASSERT_OK(rp_trainer_run(t, NULL));
  int n_resumed;
  const rp_epoch_metrics *r = rp_trainer_history(t, &n_resumed);
  uint8_t *w_resumed = weights_of(t, &size_resumed);
  cr_assert_eq(n_resumed, n_straight, "%s: %d epochs resumed, %d straight", model, n_resumed,
               n_straight);
  for (int e = 0; e < n_straight; e++) {
    const rp_epoch_metrics *a = &straight[e], *b = &r[e];
    cr_assert(a->epoch == b->epoch && a->lr == b->lr && a->train_loss == b->train_loss &&
                  a->train_accuracy == b->train_accuracy &&
                  a->train_true_prob == b->train_true_prob && a->val_loss == b->val_loss &&
                  a->val_accuracy == b->val_accuracy && a->test_loss == b->test_loss &&
                  a->test_accuracy == b->test_accuracy,
              "%s epoch %d: train loss %.9g / %.9g, validation %.9g / %.9g (straight / resumed)",
              model, e + 1, a->train_loss, b->train_loss, a->val_accuracy, b->val_accuracy);
  }
  cr_assert(size_straight == size_resumed && memcmp(w_straight, w_resumed, size_straight) == 0,
            "%s: the resumed run's weights differ from the straight run's", model);

  /* Saved under another configuration, or not a state at all: refused, naming the file. */
  cr_assert_eq(rp_trainer_restore_state(t, path, "config B"), RP_ERR_INVALID_ARGUMENT);
  char want[2048];
  snprintf(want, sizeof want,
           "%s was saved by a run configured otherwise: remove it to train this run from the "
           "start",
           path);
  cr_assert_str_eq(rp_error_message(), want);
  ASSERT_OK(rp_checkpoint_save(rp_trainer_net(t), path, NULL));
  cr_assert_eq(rp_trainer_restore_state(t, path, "config A"), RP_ERR_INVALID_ARGUMENT);
  snprintf(want, sizeof want, "%s is not a training state (no training_state in its metadata)",
           path);
  cr_assert_str_eq(rp_error_message(), want);
  /* Saved on another device: its record would mix two devices' training. */
  rp_caps *caps = (rp_caps *)rp_context_caps(test_ctx());
  char name[sizeof caps->name];
  memcpy(name, caps->name, sizeof name);
  snprintf(caps->name, sizeof caps->name, "Other GPU");
  ASSERT_OK(rp_trainer_save_state(t, path, "config A"));
  memcpy(caps->name, name, sizeof name);
  cr_assert_eq(rp_trainer_restore_state(t, path, "config A"), RP_ERR_INVALID_ARGUMENT);
  snprintf(want, sizeof want,
           "%s was saved on Other GPU (%s), and this is %s (%s): resume it there, or remove it "
           "to train this run from the start",
           path, caps->driver_info, caps->name, caps->driver_info);
  cr_assert_str_eq(rp_error_message(), want);
  /* Its history's bytes damaged (all ones: NaN where the epoch's number was): refused, where
   * the NaN would have become a record's epoch -2147483648. */
  ASSERT_OK(rp_trainer_save_state(t, path, "config A"));
  damage_history(path);
  cr_assert_eq(rp_trainer_restore_state(t, path, "config A"), RP_ERR_INVALID_ARGUMENT);
  snprintf(want, sizeof want,
           "%s: its history of epoch 1 is damaged: remove it to train this run from the start",
           path);
  cr_assert_str_eq(rp_error_message(), want);
  rp_trainer_destroy(t);
  free(w_straight), free(w_resumed);
  remove_tree(dir);
  free(dir);
}

Test(trainer, a_run_restored_between_epochs_ends_bit_for_bit_as_one_trained_through) {
  check_resume("mnist_cnn", 50, 0, 1);
  check_resume("resnet8", 40, 0, 1);
  check_resume("mnist_cnn", 50, 4, 2); /* 3 steps an epoch: max_steps ends epoch 2 */
}

/* ---- a state whose bytes are damaged */

/* Flips the lowest bit of float `index` of tensor `name` in the file at `path`: damage that
 * leaves a finite number, one unit in the last place off, which no check of values can tell. */
static void nudge_float(const char *path, const char *name, long index) {
  long at = tensor_offset(path, name) + index * (long)sizeof(float);
  FILE *f = fopen(path, "rb");
  float before, after;
  cr_assert(f && fseek(f, at, SEEK_SET) == 0 && fread(&before, sizeof before, 1, f) == 1 &&
            fclose(f) == 0);
  uint32_t bits;
  memcpy(&bits, &before, sizeof bits);
  bits ^= 1;
  memcpy(&after, &bits, sizeof after);
  cr_assert(isfinite(before) && isfinite(after) && after != before);
  overwrite(path, at, &after, sizeof after);
}

/* Takes the checksum out of the metadata of the state at `path`, which leaves it as a repro
 * before the checksum saved it (the same tensors, the header padded to 8 bytes again). */
static void remove_checksum(const char *path) {
  char *bytes;
  size_t size;
  ASSERT_OK(rp_file_read(path, &bytes, &size));
  uint64_t header = header_size(bytes);
  cJSON *json = cJSON_ParseWithLength(bytes + 8, (size_t)header);
  cJSON *meta = cJSON_GetObjectItem(json, "__metadata__");
  cr_assert(cJSON_GetObjectItem(meta, "tensors_crc32"), "%s has no checksum", path);
  cJSON_DeleteItemFromObject(meta, "tensors_crc32");
  char *text = cJSON_PrintUnformatted(json);
  size_t len = strlen(text), padded = (len + 7) / 8 * 8, data = size - 8 - header;
  char *out = malloc(8 + padded + 1 + data);
  for (int i = 0; i < 8; i++) out[i] = (char)(uint8_t)((uint64_t)padded >> (8 * i));
  snprintf(out + 8, padded + 1, "%-*s", (int)padded, text); /* (its NUL the data overwrites) */
  memcpy(out + 8 + padded, bytes + 8 + header, data);
  ASSERT_OK(rp_file_write_atomic(path, out, 8 + padded + data));
  free(out), free(text), free(bytes);
  cJSON_Delete(json);
}

/* What rp_trainer_restore_state says of the state at `path`, whose tensors' bytes differ from
 * the ones its checksum was taken of. */
static void checksum_refusal(const char *path, char *want, size_t size) {
  rp_safetensors *f;
  ASSERT_OK(rp_safetensors_open(path, &f));
  snprintf(want, size,
           "%s: its tensors are damaged (their crc32 is %08x, saved as %s): remove it to train "
           "this run from the start",
           path, rp_safetensors_crc32(f), rp_safetensors_meta(f, "tensors_crc32"));
  rp_safetensors_close(f);
}

/* Restoring the state at `path` into a new trainer of `c` is refused as bad input with `want`,
 * and takes up nothing: the trainer has no epoch done. */
static void expect_refused(const rp_train_config *c, const char *path, const char *want) {
  rp_trainer *t;
  ASSERT_OK(rp_trainer_create(test_ctx(), c, &t));
  rp_status st = rp_trainer_restore_state(t, path, "config A");
  cr_assert_eq(st, RP_ERR_INVALID_ARGUMENT, "status %d: %s", st, rp_error_message());
  cr_assert_str_eq(rp_error_message(), want);
  int done = -1;
  rp_trainer_history(t, &done);
  cr_assert_eq(done, 0, "a refused state's %d epochs were taken up", done);
  rp_trainer_destroy(t);
}

/* Restores the state at `path` into a new trainer of `c`, trains the run to its end, and gives
 * its weights, momentum buffers and counters as bytes. */
static uint8_t *resumed_weights(const rp_train_config *c, const char *path, size_t *size) {
  rp_trainer *t;
  ASSERT_OK(rp_trainer_create(test_ctx(), c, &t));
  ASSERT_OK(rp_trainer_restore_state(t, path, "config A"));
  ASSERT_OK(rp_trainer_run(t, NULL));
  uint8_t *w = weights_of(t, size);
  rp_trainer_destroy(t);
  return w;
}

/* A state whose tensors' bytes were damaged on disk is refused as bad input, naming the file,
 * rather than trained on (where a NaN made the run's divergence, and finite garbage its
 * result): a weight one bit off, still finite, and a momentum buffer of NaN, told by the
 * checksum saved with the state. A state saved before the checksum (none in its metadata) is
 * still taken up, and ends bit for bit as the state with it does; a NaN in it is still told. */
Test(trainer, a_state_whose_tensors_are_damaged_is_refused) {
  char *dir = synthetic_dataset();
  rp_train_config c = small_config(dir);
  char saved[600], path[600], want[2048];
  snprintf(saved, sizeof saved, "%s/saved.state", dir);
  snprintf(path, sizeof path, "%s/run.state", dir);
  save_after(&c, 1, saved, "config A");

  copy_file(saved, path);
  nudge_float(path, "fc1.weight", 1000);
  checksum_refusal(path, want, sizeof want);
  expect_refused(&c, path, want);

  copy_file(saved, path);
  overwrite(path, tensor_offset(path, "fc1.weight.momentum_buffer") + 400, all_ones, 8);
  checksum_refusal(path, want, sizeof want);
  expect_refused(&c, path, want);

  /* Without a checksum: the state as saved resumes, and ends as with one. */
  size_t size_checked, size_old;
  uint8_t *checked = resumed_weights(&c, saved, &size_checked);
  copy_file(saved, path);
  remove_checksum(path);
  uint8_t *old = resumed_weights(&c, path, &size_old);
  cr_assert(size_checked == size_old && memcmp(checked, old, size_old) == 0,
            "a state without its checksum resumed otherwise");
  free(checked), free(old);
  /* ... and a NaN in it is damage all the same: no saved state holds one. */
  overwrite(path, tensor_offset(path, "fc1.weight.momentum_buffer") + 400, all_ones, 8);
  snprintf(want, sizeof want,
           "%s: its tensor 'fc1.weight.momentum_buffer' is damaged (not finite): remove it to "
           "train this run from the start",
           path);
  expect_refused(&c, path, want);
  remove_tree(dir);
  free(dir);
}

/* ---- experiments through the trainer backend */

/* The experiments' data and network: the synthetic set in the directory its %s is given,
 * 50 images held out for validation, and the MNIST CNN. */
#define SYNTHETIC_DATA_AND_MODEL                                                                   \
  "\"dataset\": {\"name\": \"fashion-mnist\", \"dir\": \"%s\", \"validation\": 50}, "              \
  "\"model\": \"mnist_cnn\""

static rp_status run_experiment(const char *text, const char *out_dir) {
  rp_experiment e;
  ASSERT_OK(rp_exp_parse(text, "trainer.json", rp_exp_recipe, &e));
  rp_exp_runner runner = {.ctx = test_ctx()};
  rp_exp_backend b = rp_exp_trainer_backend(&runner);
  rp_status st = rp_exp_run_all(&e, out_dir, &b, "test");
  rp_exp_free(&e);
  return st;
}

Test(trainer, an_experiment_with_a_search_runs_end_to_end) {
  char *dir = synthetic_dataset();
  char out[600], text[2048];
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(text, sizeof text,
           "{\"name\": \"e2e\", " SYNTHETIC_DATA_AND_MODEL ", \"training\": {\"epochs\": 1, "
           "\"batch\": 50}, \"losses\": [{\"label\": \"ce\", \"loss\": \"ce\"}], \"seeds\": 1, "
           "\"search\": {\"label\": \"s\", \"invariant\": \"off\", \"population\": 2, "
           "\"generations\": 1, \"epochs\": 1, \"retries\": 0}}",
           dir);
  ASSERT_OK(run_experiment(text, out));

  cJSON *state = read_json_in(out, "search/s/state.json");
  const cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(state, "generations"), 0);
  cr_assert_eq(cJSON_GetObjectItem(g, "trained")->valueint, 2);
  /* Each candidate's fitness is a direct training of its rounded genome with its seed on the
   * experiment's split. */
  rp_experiment e;
  ASSERT_OK(rp_exp_parse(text, "trainer.json", rp_exp_recipe, &e));
  rp_train_config base;
  rp_loss ce = {.kind = RP_LOSS_CE};
  rp_exp_train_config(&e, &ce, 0, &base);
  base.skip_epoch_test = true;
  for (int k = 0; k < 2; k++) {
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "candidates"), k);
    double genome[8];
    for (int i = 0; i < 8; i++)
      genome[i] = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "genome"), i)->valuedouble;
    uint64_t seed = rp_search_trial_seed("e2e", 1, 0, k, 0);
    double direct = direct_fitness(&base, genome, seed);
    cr_assert_eq(cJSON_GetObjectItem(c, "accuracy")->valuedouble, direct, "candidate %d", k);
  }
  rp_exp_free(&e);
  cJSON_Delete(state);

  /* The best loss was trained with the full schedule and evaluated on the test set. */
  cJSON *rec = read_json_in(out, "runs/best_s-s1.json");
  cr_assert_str_eq(cJSON_GetObjectItem(rec, "status")->valuestring, "done");
  double acc = cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "final"), "test_accuracy")->valuedouble;
  cr_assert(acc >= 0 && acc <= 1);
  cJSON_Delete(rec);
  char path[700];
  snprintf(path, sizeof path, "%s/summary.md", out);
  cr_assert(rp_exp_exists(path));
  remove_tree(dir);
  free(dir);
}

/* Weights that overflow in an epoch's last update leave its training loss finite (each step's
 * loss is of the weights before its update), but the network's outputs on held-out images NaN:
 * that too is divergence. One step an epoch, at a rate no schema would allow, makes it so. */
Test(trainer, weights_that_overflow_in_the_last_step_are_divergence) {
  char *dir = synthetic_dataset();
  rp_train_config c = small_config(dir);
  c.epochs = 1;
  c.batch = SYNTH_TRAIN_IMAGES - 50; /* one step */
  c.lr = 1e30;
  rp_epoch_metrics h[1];
  int n;
  rp_status st = train(&c, h, &n, NULL);
  cr_assert_eq(st, RP_ERR_DIVERGED, "status %d: %s", st, rp_error_message());
  cr_assert(strstr(rp_error_message(),
                   "mnist_cnn with fashion-mnist diverged: the validation loss is nan at the end "
                   "of epoch 1 (the training loss "),
            "%s", rp_error_message());
  cr_assert_eq(n, 0, "the diverged epoch counted as done");
  remove_tree(dir);
  free(dir);
}

static void note_resumed(void *user, const rp_exp_run *run, const char *state_path, int epochs_done,
                         int epochs) {
  *(int *)user = epochs_done;
}

/* A run's record holds what its trained network gives on the test set: the clean accuracy and
 * loss, and under each attack as the file sets it (here the normalized ε of the official code,
 * and PGD with its own step size), bit for bit as a training of the same run's configuration
 * measures them. The unlike measurements (the validation split, pixel ε, the default PGD step)
 * differ, so none of them could pass for the right one. */
Test(trainer, an_experiments_evaluation_is_the_trainers_on_the_test_set) {
  char *dir = synthetic_dataset();
  char out[600], text[2048];
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(text, sizeof text,
           "{\"name\": \"evaluate\", " SYNTHETIC_DATA_AND_MODEL ", \"training\": {\"epochs\": "
           "1, \"batch\": 50}, \"losses\": [{\"label\": \"ce\", \"loss\": \"ce\"}], \"seeds\": "
           "1, \"evaluation\": {\"clean\": true, \"fgsm\": [0.1], \"pgd\": {\"eps\": [0.7], "
           "\"steps\": 2, \"step_size\": 0.09}, \"eps_mode\": \"normalized\"}}",
           dir);
  ASSERT_OK(run_experiment(text, out));
  cJSON *rec = read_json_in(out, "runs/ce-s1.json");
  const cJSON *final = cJSON_GetObjectItem(rec, "final"),
              *attacks = cJSON_GetObjectItem(rec, "attacks");
  cr_assert_eq(cJSON_GetArraySize(attacks), 2);
  double fgsm = cJSON_GetObjectItem(cJSON_GetArrayItem(attacks, 0), "accuracy")->valuedouble;
  double pgd = cJSON_GetObjectItem(cJSON_GetArrayItem(attacks, 1), "accuracy")->valuedouble;

  rp_experiment e;
  rp_exp_plan plan;
  ASSERT_OK(rp_exp_parse(text, "trainer.json", rp_exp_recipe, &e));
  ASSERT_OK(rp_exp_make_plan(&e, &plan));
  rp_train_config c;
  rp_exp_train_config(&e, &e.losses[0].loss, plan.runs[0].seed, &c);
  rp_trainer *t = NULL;
  ASSERT_OK(rp_trainer_create(test_ctx(), &c, &t));
  ASSERT_OK(rp_trainer_run(t, NULL));
  double accuracy, loss;
  ASSERT_OK(rp_trainer_evaluate(t, RP_SPLIT_TEST, &accuracy, &loss));
  cr_expect_eq(cJSON_GetObjectItem(final, "test_accuracy")->valuedouble, accuracy);
  cr_expect_eq(cJSON_GetObjectItem(final, "test_loss")->valuedouble, loss);
  const rp_attack fgsm_attack = {RP_ATTACK_FGSM, 0.1, 0, 0, true};
  const rp_attack pgd_attack = {RP_ATTACK_PGD, 0.7, 2, 0.09, true};
  cr_expect_eq(fgsm, attacked(t, RP_SPLIT_TEST, fgsm_attack));
  cr_expect_eq(pgd, attacked(t, RP_SPLIT_TEST, pgd_attack));
  /* (what a mix-up would have recorded instead) */
  double val_accuracy;
  ASSERT_OK(rp_trainer_evaluate(t, RP_SPLIT_VAL, &val_accuracy, &loss));
  cr_expect_neq(val_accuracy, accuracy);
  cr_expect_neq(attacked(t, RP_SPLIT_VAL, fgsm_attack), fgsm);
  cr_expect_neq(attacked(t, RP_SPLIT_TEST, (rp_attack){RP_ATTACK_FGSM, 0.1, 0, 0, false}), fgsm);
  cr_expect_neq(attacked(t, RP_SPLIT_TEST,
                         (rp_attack){RP_ATTACK_PGD, 0.7, 2, rp_pgd_default_step(0.7, 2), true}),
                pgd);
  rp_trainer_destroy(t);
  cJSON_Delete(rec);
  rp_exp_plan_free(&plan);
  rp_exp_free(&e);
  remove_tree(dir);
  free(dir);
}

/* `repro run` takes an interrupted run up from runs/<id>.state (here saved after its first
 * epoch, as a run killed in its second would leave it): the record is the one a run trained
 * through writes, and the state is gone once the record is written. A state saved under another
 * configuration stops the experiment before anything trains, naming the file. */
Test(trainer, an_experiment_resumes_a_run_from_its_saved_state) {
  char *dir = synthetic_dataset();
  char straight[600], resumed[600], other[600], text[2048], path[700];
  snprintf(straight, sizeof straight, "%s/straight", dir);
  snprintf(resumed, sizeof resumed, "%s/resumed", dir);
  snprintf(other, sizeof other, "%s/other", dir);
  snprintf(text, sizeof text,
           "{\"name\": \"resume\", " SYNTHETIC_DATA_AND_MODEL ", \"training\": {\"epochs\": 2, "
           "\"batch\": 50}, \"losses\": [{\"label\": \"ce\", \"loss\": \"ce\"}], \"seeds\": 1, "
           "\"evaluation\": {\"fgsm\": [0.05]}}",
           dir);
  ASSERT_OK(run_experiment(text, straight));

  rp_experiment e;
  rp_exp_plan plan;
  ASSERT_OK(rp_exp_parse(text, "trainer.json", rp_exp_recipe, &e));
  ASSERT_OK(rp_exp_make_plan(&e, &plan));
  rp_train_config c;
  rp_exp_train_config(&e, &e.losses[0].loss, plan.runs[0].seed, &c);
  char *fingerprint = rp_exp_state_fingerprint(&e, &e.losses[0], plan.runs[0].seed);
  snprintf(path, sizeof path, "%s/runs", resumed);
  cr_assert_eq(mkdir(resumed, 0755) | mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/runs/ce-s1.state", resumed);
  save_after(&c, 1, path, fingerprint);

  int epochs_done = 0;
  rp_exp_runner runner = {.ctx = test_ctx(), .resumed = note_resumed, .user = &epochs_done};
  rp_exp_backend b = rp_exp_trainer_backend(&runner);
  ASSERT_OK(rp_exp_run_all(&e, resumed, &b, "test"));
  cr_assert_eq(epochs_done, 1, "the run was not taken up from its state");
  cr_assert_eq(access(path, F_OK), -1, "%s is still there", path);
  /* One left beside a finished record (a stop between the two writes) goes at the next run. */
  FILE *left = fopen(path, "w");
  cr_assert(left && fclose(left) == 0);
  ASSERT_OK(rp_exp_run_all(&e, resumed, &b, "test"));
  cr_assert_eq(access(path, F_OK), -1, "%s beside a finished record is still there", path);
  cJSON *a = read_json_in(straight, "runs/ce-s1.json"),
        *r = read_json_in(resumed, "runs/ce-s1.json");
  const char *same[] = {"final", "attacks", "epochs"};
  for (int i = 0; i < 3; i++) {
    cJSON *x = cJSON_GetObjectItem(a, same[i]), *y = cJSON_GetObjectItem(r, same[i]);
    /* the epochs' times differ: compare what was measured */
    for (cJSON *ep = x ? x->child : NULL; ep && i == 2; ep = ep->next)
      cJSON_DeleteItemFromObject(ep, "seconds"),
          cJSON_DeleteItemFromObject(ep, "images_per_second");
    for (cJSON *ep = y ? y->child : NULL; ep && i == 2; ep = ep->next)
      cJSON_DeleteItemFromObject(ep, "seconds"),
          cJSON_DeleteItemFromObject(ep, "images_per_second");
    cr_assert(x && cJSON_Compare(x, y, true), "%s differs: %s / %s", same[i],
              cJSON_PrintUnformatted(x), cJSON_PrintUnformatted(y));
  }
  cJSON_Delete(a), cJSON_Delete(r);

  /* The runner's own saves (every epoch here: state_interval_seconds 0): through the backend, a
   * run leaves its state after its last epoch (the driver removes it once the record is
   * written); trained again with it, the run is taken up after all its epochs and gives the
   * same result. A state that cannot be written stops the run, naming it. */
  char fresh[700];
  snprintf(fresh, sizeof fresh, "%s/fresh.state", dir);
  rp_exp_result r1 = {.test_accuracy = NAN}, r2 = {.test_accuracy = NAN};
  ASSERT_OK(b.train(b.user, &e, &plan.runs[0], fresh, &r1));
  int saved = 0;
  char *saved_under = NULL;
  ASSERT_OK(rp_trainer_state_read(fresh, &saved_under, &saved));
  cr_assert_str_eq(saved_under, fingerprint);
  free(saved_under);
  cr_assert_eq(saved, 2, "the runner's state holds %d epochs", saved);
  epochs_done = 0;
  ASSERT_OK(b.train(b.user, &e, &plan.runs[0], fresh, &r2));
  cr_assert_eq(epochs_done, 2);
  cr_assert(r1.epoch_count == 2 && r2.epoch_count == 2 &&
                r1.epochs[1].train_loss == r2.epochs[1].train_loss &&
                r1.test_accuracy == r2.test_accuracy && r1.attack_count == 1 &&
                r2.attack_count == 1 && r1.attacks[0].accuracy == r2.attacks[0].accuracy,
            "taken up after its last epoch: test %g / %g, fgsm %g / %g", r1.test_accuracy,
            r2.test_accuracy, r1.attacks[0].accuracy, r2.attacks[0].accuracy);
  free(r1.epochs), free(r2.epochs), cJSON_Delete(r1.data), cJSON_Delete(r2.data);
  char unwritable[700];
  snprintf(unwritable, sizeof unwritable, "%s/no/such/dir/x.state", dir);
  rp_exp_result r3 = {.test_accuracy = NAN};
  cr_assert_neq(b.train(b.user, &e, &plan.runs[0], unwritable, &r3), RP_OK);
  cr_assert(strstr(rp_error_message(), "/no/such/dir/"), "%s", rp_error_message());
  free(r3.epochs), cJSON_Delete(r3.data);

  snprintf(path, sizeof path, "%s/runs", other);
  cr_assert_eq(mkdir(other, 0755) | mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/runs/ce-s1.state", other);
  cJSON *changed = cJSON_Parse(fingerprint);
  cJSON_ReplaceItemInObject(changed, "epochs", cJSON_CreateNumber(3));
  char *other_fingerprint = cJSON_PrintUnformatted(changed);
  save_after(&c, 1, path, other_fingerprint);
  cr_assert_eq(rp_exp_run_all(&e, other, &b, "test"), RP_ERR_INVALID_ARGUMENT);
  char want[1200];
  snprintf(want, sizeof want,
           "%s was saved by a run with another training configuration than the experiment's now "
           "($.config.epochs: 3 in the state, 2 now): remove it to train this run from the start",
           path);
  cr_assert_str_eq(rp_error_message(), want);
  cJSON_Delete(changed);
  free(other_fingerprint);
  snprintf(path, sizeof path, "%s/runs/ce-s1.json", other);
  cr_assert_eq(access(path, F_OK), -1, "a run trained despite the state");
  free(fingerprint);
  rp_exp_plan_free(&plan);
  rp_exp_free(&e);
  remove_tree(dir);
  free(dir);
}

/* A state whose bytes were damaged stops `repro run` before its run trains (no record, the
 * state kept), and a search's candidate before it trains (an error, not a diverged candidate
 * whose 0 fitness CMA-ES would be told): the refusal is rp_trainer_restore_state's, which every
 * caller takes a state up through. */
Test(trainer, a_damaged_state_stops_a_run_and_a_search_candidate_before_they_train) {
  char *dir = synthetic_dataset();
  char out[600], text[2048], state[700], record[700], want[2048];
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(text, sizeof text,
           "{\"name\": \"damaged\", " SYNTHETIC_DATA_AND_MODEL ", \"training\": {\"epochs\": "
           "2, \"batch\": 50}, \"losses\": [{\"label\": \"ce\", \"loss\": \"ce\"}], "
           "\"seeds\": 1}",
           dir);
  rp_experiment e;
  rp_exp_plan plan;
  ASSERT_OK(rp_exp_parse(text, "trainer.json", rp_exp_recipe, &e));
  ASSERT_OK(rp_exp_make_plan(&e, &plan));
  rp_train_config c;
  rp_exp_train_config(&e, &e.losses[0].loss, plan.runs[0].seed, &c);
  char *fingerprint = rp_exp_state_fingerprint(&e, &e.losses[0], plan.runs[0].seed);
  snprintf(state, sizeof state, "%s/runs", out);
  cr_assert_eq(mkdir(out, 0755) | mkdir(state, 0755), 0);
  snprintf(state, sizeof state, "%s/runs/ce-s1.state", out);
  snprintf(record, sizeof record, "%s/runs/ce-s1.json", out);
  save_after(&c, 1, state, fingerprint);
  nudge_float(state, "conv1.weight", 3);
  checksum_refusal(state, want, sizeof want);
  rp_exp_runner runner = {.ctx = test_ctx()};
  rp_exp_backend b = rp_exp_trainer_backend(&runner);
  cr_assert_eq(rp_exp_run_all(&e, out, &b, "test"), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), want);
  cr_assert_eq(access(record, F_OK), -1, "a run trained on a damaged state");
  cr_assert_eq(access(state, F_OK), 0, "the damaged state was removed");
  free(fingerprint);
  rp_exp_plan_free(&plan);
  rp_exp_free(&e);

  /* A search candidate killed after epoch 1, its state's momentum buffer NaN. */
  char copy[700];
  snprintf(state, sizeof state, "%s/candidate.state", dir);
  snprintf(copy, sizeof copy, "%s/after-epoch-1.state", dir);
  snapshot snap = {state, copy, -1};
  rp_train_callbacks cb = {.epoch = copy_state_after_epoch_1, .user = &snap};
  rp_search_trainer st = {.ctx = test_ctx(),
                          .base = small_config(dir),
                          .callbacks = &cb,
                          .state_path = state,
                          .fingerprint = "trial A",
                          .state_interval_seconds = 0,
                          .resumed = note_candidate_resumed};
  st.base.skip_epoch_test = true;
  rp_search_config cfg;
  rp_search_config_defaults(&cfg);
  rp_search_trial trial = {.cfg = &cfg, .seed = 4242};
  memcpy(trial.genome, early, sizeof early);
  rp_search_outcome outcome = {.accuracy = NAN, .check_accuracy = NAN};
  ASSERT_OK(rp_search_train_candidate(&trial, &st, &outcome));
  copy_file(copy, state);
  overwrite(state, tensor_offset(state, "fc2.weight.momentum_buffer"), all_ones, 8);
  checksum_refusal(state, want, sizeof want);
  outcome = (rp_search_outcome){.accuracy = NAN, .check_accuracy = NAN};
  cr_assert_eq(rp_search_train_candidate(&trial, &st, &outcome), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), want);
  cr_assert(!outcome.diverged && outcome.epochs == 0 && snap.resumed_after == -1,
            "a candidate was trained on a damaged state");
  remove_tree(dir);
  free(dir);
}

Test(trainer, a_diverging_loss_is_recorded_and_the_experiment_goes_on) {
  char *dir = synthetic_dataset();
  char out[600], text[2048];
  snprintf(out, sizeof out, "%s/out", dir);
  /* At rate 100, cross-entropy's logits overflow within a few steps (its loss is unbounded);
   * a TaylorGLO loss, a polynomial of the softmax outputs, stays finite. */
  snprintf(text, sizeof text,
           "{\"name\": \"boom\", " SYNTHETIC_DATA_AND_MODEL ", \"training\": {\"epochs\": 2, "
           "\"batch\": 50, \"lr\": 100}, \"losses\": [{\"label\": \"ce\", \"loss\": \"ce\"}, "
           "{\"label\": \"tg\", \"loss\": \"taylorglo:1.5742,-1.4446,2.3616,-0.6632,-2.8569,"
           "-1.1313,0.8439,1.4872\"}], \"seeds\": 1}",
           dir);
  ASSERT_OK(run_experiment(text, out));
  cJSON *rec = read_json_in(out, "runs/ce-s1.json");
  cr_assert_str_eq(cJSON_GetObjectItem(rec, "status")->valuestring, "diverged");
  cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "final"), "test_accuracy")->valuedouble,
               0);
  const char *error = cJSON_GetObjectItem(rec, "error")->valuestring;
  /* (its training loss, or the held-out loss after its last update: trainer.c says which) */
  cr_assert(strstr(error, "mnist_cnn with fashion-mnist diverged: the ") &&
                strstr(error, " loss is "),
            "%s", error);
  cJSON_Delete(rec);
  rec = read_json_in(out, "runs/tg-s1.json");
  cr_assert_str_eq(cJSON_GetObjectItem(rec, "status")->valuestring, "done");
  cJSON_Delete(rec);
  /* The summary counts the diverged run. */
  char path[700];
  snprintf(path, sizeof path, "%s/summary.md", out);
  char *summary = read_file(path);
  cr_assert(summary && strstr(summary, "| ce | `ce` | 1 | 1 | 0.00 |"), "%s", summary);
  free(summary);
  remove_tree(dir);
  free(dir);
}
