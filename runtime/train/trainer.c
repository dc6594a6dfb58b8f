#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/split.h"
#include "nn/models.h"
#include "ops/attack.h"
#include "ops/ops.h"
#include "train/checkpoint.h"
#include "train/trainer_private.h"

void rp_train_config_defaults(rp_train_config *cfg, const char *model, const char *dataset) {
  memset(cfg, 0, sizeof *cfg);
  cfg->model = model;
  cfg->dataset = dataset;
  cfg->loss.kind = RP_LOSS_CE;
  cfg->batch = 128;
  cfg->momentum = 0.9;
  cfg->seed = 1;
  cfg->fraction = 1.0;
  cfg->lr_gamma = 0.1;
  bool cifar = dataset && strncmp(dataset, "cifar", 5) == 0;
  cfg->validation = cifar ? 5000 : 0;
  if (cifar) cfg->augment = (rp_augment){.crop = true, .crop_pad = 4, .flip = true};
  const char *m = model ? model : "";
  if (strcmp(m, "mnist_cnn") == 0) { /* §7: 40 epochs, lr 0.01, no decay, batch 100 */
    cfg->epochs = 40, cfg->lr = 0.01, cfg->batch = 100;
  } else if (strcmp(m, "allcnn_c") == 0) {
    cfg->epochs = 350, cfg->lr = 0.01, cfg->weight_decay = 1e-3;
    cfg->lr_steps[0] = 200, cfg->lr_steps[1] = 250, cfg->lr_steps[2] = 300;
    cfg->lr_step_count = 3;
  } else if (strncmp(m, "wrn-", 4) == 0) {
    cfg->epochs = 200, cfg->lr = 0.1, cfg->weight_decay = 5e-4, cfg->lr_gamma = 0.2;
    cfg->lr_steps[0] = 60, cfg->lr_steps[1] = 120, cfg->lr_steps[2] = 160;
    cfg->lr_step_count = 3;
  } else { /* the CIFAR ResNets and PreResNets */
    cfg->epochs = 200, cfg->lr = 0.1, cfg->weight_decay = 1e-4;
    cfg->lr_steps[0] = 100, cfg->lr_steps[1] = 150;
    cfg->lr_step_count = 2;
  }
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double lr_at_epoch(const rp_train_config *cfg, int epoch /* 0-based */) {
  double lr = cfg->lr;
  for (int i = 0; i < cfg->lr_step_count; i++)
    if (epoch >= cfg->lr_steps[i]) lr *= cfg->lr_gamma;
  return lr;
}

static rp_status check_config(const rp_train_config *c) {
  if (c->epochs < 1)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "epochs must be >= 1, not %d", c->epochs);
  if (c->batch < 1 || c->batch > 4096)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "batch must be 1..4096, not %d", c->batch);
  if (!(c->lr > 0) || !isfinite(c->lr))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "learning rate must be > 0, not %g", c->lr);
  if (c->test_images < 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "test images must be >= 0, not %lld",
                   (long long)c->test_images);
  if (!(c->fraction > 0 && c->fraction <= 1))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "fraction must be in (0, 1], not %g", c->fraction);
  if (c->momentum < 0 || c->momentum >= 1 || c->weight_decay < 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "momentum must be in [0, 1) and weight decay >= 0");
  if (c->loss.kind == RP_LOSS_LS && !(c->loss.alpha >= 0 && c->loss.alpha < 1))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "label smoothing alpha must be in [0, 1), not %g",
                   (double)c->loss.alpha);
  return RP_OK;
}

/* Records a training step (forward, loss, backward, update, sums) of `rows` rows. */
static rp_status record_train_step(rp_trainer *t, int rows, rp_recorder **out) {
  rp_net *net = &t->net;
  rp_status st = rp_net_set_rows(net, rows);
  if (!st) st = rp_recorder_create(t->ctx, out);
  if (!st) st = rp_rec_begin(*out);
  if (!st) st = rp_net_record_forward(net, *out, RP_TRAIN);
  if (!st) st = rp_net_record_loss(net, *out, &t->cfg.loss, (uint32_t)rows, true, &t->train_sums);
  if (!st) st = rp_net_record_backward(net, *out, false);
  if (!st)
    st = rp_net_record_update(net, *out, (float)t->cfg.momentum, (float)t->cfg.weight_decay,
                              t->cfg.nesterov);
  if (!st) st = rp_rec_end(*out);
  rp_status whole = rp_net_set_rows(net, net->batch);
  return st ? st : whole;
}

/* Records the steps every batch reuses: training, for whole batches and for the partial last
 * one where there is one (none with cfg.eval_only), and evaluation (eval-mode forward, loss,
 * sums). */
static rp_status record_steps(rp_trainer *t) {
  rp_net *net = &t->net;
  t->tail_rows = (int)(t->split.train_count % net->batch);
  rp_status st = RP_OK;
  if (!t->cfg.eval_only) st = record_train_step(t, net->batch, &t->train_step);
  if (!st && t->tail_rows) st = record_train_step(t, t->tail_rows, &t->train_tail_step);
  if (!st) st = rp_recorder_create(t->ctx, &t->eval_step);
  if (!st) st = rp_rec_begin(t->eval_step);
  if (!st) st = rp_net_record_forward(net, t->eval_step, RP_EVAL);
  if (!st)
    st = rp_net_record_loss(net, t->eval_step, &t->cfg.loss, (uint32_t)net->batch, false,
                            &t->eval_sums);
  if (!st) st = rp_rec_end(t->eval_step);
  return st;
}

/* The test set, or its first cfg.test_images images. */
static rp_status create_test_batches(rp_trainer *t) {
  int64_t n = t->test_set.count;
  if (t->cfg.test_images > 0 && t->cfg.test_images < n) n = t->cfg.test_images;
  t->test_indices = malloc((size_t)n * sizeof *t->test_indices);
  if (!t->test_indices) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  for (int64_t i = 0; i < n; i++) t->test_indices[i] = i;
  rp_augment none = {0};
  return rp_batcher_create(&t->test_set, t->test_indices, n, t->cfg.batch, false, false, &none,
                           t->cfg.seed, &t->test_batches);
}

rp_status rp_trainer_create(rp_context *ctx, const rp_train_config *cfg, rp_trainer **out) {
  *out = NULL;
  rp_status st = check_config(cfg);
  if (st) return st;
  rp_trainer *t = calloc(1, sizeof *t);
  if (!t) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  t->ctx = ctx;
  t->cfg = *cfg;
  t->history = calloc((size_t)cfg->epochs, sizeof *t->history);
  if (!t->history) st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  if (!st && !cfg->eval_only)
    st = rp_dataset_load(cfg->dataset, cfg->data_dir, true, &t->train_set);
  if (!st) st = rp_dataset_load(cfg->dataset, cfg->data_dir, false, &t->test_set);
  if (!st && !cfg->eval_only)
    st = rp_split_make(&t->train_set, cfg->validation, cfg->fraction,
                       cfg->split_seed ? cfg->split_seed : cfg->seed, &t->split);
  if (!st && !cfg->eval_only && t->split.train_count < cfg->batch)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %lld training images are fewer than one batch of %d",
                 cfg->dataset, (long long)t->split.train_count, cfg->batch);
  rp_augment none = {0};
  if (!st && !cfg->eval_only)
    st = rp_batcher_create(&t->train_set, t->split.train, t->split.train_count, cfg->batch, true,
                           false, &cfg->augment, cfg->seed, &t->train_batches);
  if (!st && t->split.val_count > 0)
    st = rp_batcher_create(&t->train_set, t->split.val, t->split.val_count, cfg->batch, false,
                           false, &none, cfg->seed, &t->val_batches);
  if (!st) st = create_test_batches(t);
  if (!st) { /* the shape and normalization are the dataset's, in either set */
    const rp_dataset *d = cfg->eval_only ? &t->test_set : &t->train_set;
    rp_model_input in = {cfg->batch, d->channels, d->height, d->width, d->classes, d->mean, d->std};
    st = rp_model_build(ctx, cfg->model, &in, cfg->seed, &t->net);
  }
  if (!st && cfg->init_from) st = rp_checkpoint_load(&t->net, cfg->init_from);
  int64_t three[1] = {3};
  if (!st) st = rp_tensor_create_mapped(ctx, 1, three, &t->train_sums);
  if (!st) st = rp_tensor_create_mapped(ctx, 1, three, &t->eval_sums);
  if (!st) st = record_steps(t);
  if (st) {
    rp_trainer_destroy(t);
    return st;
  }
  *out = t;
  return RP_OK;
}

static void zero_sums(const rp_tensor *sums) { memset(sums->buffer.mapped, 0, 3 * sizeof(float)); }
static const float *sums_of(const rp_tensor *sums) { return sums->buffer.mapped; }

static rp_status evaluate(rp_trainer *t, rp_batcher *b, double *accuracy, double *loss) {
  *accuracy = *loss = NAN;
  if (!b) return RP_OK;
  rp_net *net = &t->net;
  const rp_node *input = rp_net_input_node(net);
  zero_sums(&t->eval_sums);
  rp_status st = rp_batcher_start_epoch(b, 0);
  int64_t seen = 0;
  for (int valid = 1; !st;) {
    st = rp_batcher_next(b, input->y.buffer.mapped, net->labels.buffer.mapped, &valid);
    if (st || valid == 0) break;
    st = rp_rec_run(t->eval_step);
    seen += valid;
  }
  if (st) return st;
  const float *s = sums_of(&t->eval_sums);
  *loss = seen ? s[RP_STAT_LOSS] / (double)seen : NAN;
  *accuracy = seen ? s[RP_STAT_CORRECT] / (double)seen : NAN;
  return RP_OK;
}

rp_status rp_trainer_evaluate(rp_trainer *t, rp_split_kind split, double *accuracy, double *loss) {
  return evaluate(t, split == RP_SPLIT_VAL ? t->val_batches : t->test_batches, accuracy, loss);
}

/* A value for a message: printf writes a NaN whose sign bit is set as "-nan", and which NaN a
 * device's arithmetic gives varies; every NaN is "nan" in repro's messages. */
static double shown(double v) { return isnan(v) ? NAN : v; }

/* Training steps left in the run after `done` steps of epoch `epoch`, for the progress line's
 * time estimate: the rest of the schedule, or fewer where --max-steps stops it earlier. */
static int64_t steps_left(const rp_trainer *t, int epoch, int64_t steps, int64_t done) {
  int64_t left = steps - done + steps * (t->cfg.epochs - epoch - 1);
  if (t->cfg.max_steps && t->cfg.max_steps - t->global_step < left)
    left = t->cfg.max_steps - t->global_step;
  return left;
}

/* Seconds left in the run, for the progress line: the `left` steps (steps_left) at this
 * epoch's mean step time, and an evaluation (as long as the last one) at the end of this epoch
 * and of every epoch they reach into. On CPU devices evaluation is much of an epoch. */
static double seconds_left(const rp_trainer *t, int64_t steps, int64_t done, int64_t left,
                           double elapsed) {
  int64_t beyond = left - (steps - done);
  int64_t evaluations = 1 + (beyond > 0 ? (beyond + steps - 1) / steps : 0);
  return elapsed / (double)done * (double)left + (double)evaluations * t->eval_seconds;
}

/* One epoch over the training batches. */
static rp_status train_epoch(rp_trainer *t, int epoch, const rp_train_callbacks *cb,
                             rp_epoch_metrics *m) {
  rp_net *net = &t->net;
  const rp_node *input = rp_net_input_node(net);
  uint32_t *rng = net->rng.buffer.mapped;
  float *hyper = net->hyper.buffer.mapped;
  m->epoch = epoch + 1;
  m->lr = lr_at_epoch(&t->cfg, epoch);
  hyper[0] = (float)m->lr;
  rng[0] = (uint32_t)t->cfg.seed;
  rng[1] = (uint32_t)(t->cfg.seed >> 32);
  zero_sums(&t->train_sums);
  int64_t steps = rp_batcher_batches(t->train_batches), done = 0, images_done = 0;
  double start = now_seconds(), last_report = 0;
  rp_status st = rp_batcher_start_epoch(t->train_batches, epoch);
  while (!st) {
    if (t->cfg.max_steps && t->global_step >= t->cfg.max_steps) break;
    int valid = 0;
    st = rp_batcher_next(t->train_batches, input->y.buffer.mapped, net->labels.buffer.mapped,
                         &valid);
    if (st || valid == 0) break;
    rng[2] = (uint32_t)t->global_step;
    rp_recorder *step = valid == net->batch     ? t->train_step
                        : valid == t->tail_rows ? t->train_tail_step
                                                : NULL;
    if (!step) {
      st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "a training batch of %d images: steps are recorded "
                   "for %d and %d",
                   valid, net->batch, t->tail_rows);
      break;
    }
    st = rp_rec_run(step); /* the mapped sums are readable once it returns */
    if (st) break;
    rp_net_count_step(net);
    t->global_step++;
    done++;
    images_done += valid;
    const float *s = sums_of(&t->train_sums);
    double images = (double)images_done, elapsed = now_seconds() - start;
    if (!isfinite(s[RP_STAT_LOSS]))
      return rp_fail(
          RP_ERR_DIVERGED, "%s with %s diverged: the training loss is %g at epoch %d, step %lld",
          t->cfg.model, t->cfg.dataset, shown(s[RP_STAT_LOSS]), epoch + 1, (long long)done);
    int64_t left = steps_left(t, epoch, steps, done);
    if (cb && cb->progress && (elapsed - last_report > 0.5 || done == steps || left == 0)) {
      last_report = elapsed;
      rp_progress p = {epoch + 1,
                       t->cfg.epochs,
                       done,
                       steps,
                       s[RP_STAT_LOSS] / images,
                       s[RP_STAT_CORRECT] / images,
                       images / elapsed,
                       seconds_left(t, steps, done, left, elapsed)};
      cb->progress(&p, cb->user);
    }
  }
  if (st) return st;
  const float *s = sums_of(&t->train_sums);
  double images = (double)(images_done ? images_done : 1);
  m->train_loss = s[RP_STAT_LOSS] / images;
  m->train_accuracy = s[RP_STAT_CORRECT] / images;
  m->train_true_prob = s[RP_STAT_TRUE_PROB] / images;
  double train_seconds = now_seconds() - start;
  m->images_per_second = train_seconds > 0 ? (double)images_done / train_seconds : 0;
  double eval_start = now_seconds();
  st = evaluate(t, t->val_batches, &m->val_accuracy, &m->val_loss);
  m->test_accuracy = m->test_loss = NAN;
  bool tested = !st && !t->cfg.skip_epoch_test && t->test_batches;
  if (tested) st = evaluate(t, t->test_batches, &m->test_accuracy, &m->test_loss);
  double end = now_seconds();
  t->eval_seconds = end - eval_start;
  m->seconds = end - start;
  if (st) return st;
  /* A training loss can stay finite (if huge) while the weights have overflowed: the network's
   * outputs, and so the loss on held-out images, are then NaN. */
  bool val_bad = t->val_batches && !isfinite(m->val_loss);
  if (val_bad || (tested && !isfinite(m->test_loss)))
    return rp_fail(RP_ERR_DIVERGED,
                   "%s with %s diverged: the %s loss is %g at the end of epoch %d (the training "
                   "loss %g)",
                   t->cfg.model, t->cfg.dataset, val_bad ? "validation" : "test",
                   shown(val_bad ? m->val_loss : m->test_loss), epoch + 1, shown(m->train_loss));
  return RP_OK;
}

rp_status rp_trainer_run(rp_trainer *t, const rp_train_callbacks *cb) {
  if (t->cfg.eval_only)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "a trainer made to evaluate only (eval_only) cannot "
                                            "train");
  for (int e = t->epochs_done; e < t->cfg.epochs; e++) {
    /* checked before the epoch, not after: a run restored after the epoch that used up
     * max_steps (rp_trainer_restore_state) must not add an epoch of no steps */
    if (t->cfg.max_steps && t->global_step >= t->cfg.max_steps) break;
    rp_epoch_metrics *m = &t->history[e];
    rp_status st = train_epoch(t, e, cb, m);
    if (st) return st;
    t->epochs_done = e + 1;
    if (cb && cb->epoch) cb->epoch(m, cb->user);
    if (t->stop_requested) break;
  }
  return RP_OK;
}

void rp_trainer_request_stop(rp_trainer *t) { t->stop_requested = true; }

const rp_epoch_metrics *rp_trainer_history(const rp_trainer *t, int *count) {
  *count = t->epochs_done;
  return t->history;
}

rp_net *rp_trainer_net(rp_trainer *t) { return &t->net; }
const rp_dataset *rp_trainer_train_set(const rp_trainer *t) { return &t->train_set; }
int64_t rp_trainer_train_count(const rp_trainer *t) { return t->split.train_count; }
int64_t rp_trainer_val_count(const rp_trainer *t) { return t->split.val_count; }

/* Records the attack of one batch: the perturbation steps on the attacked tensor (the input
 * batch, or the normalization's output in normalized space), then a forward pass and the loss
 * statistics of the result into eval_sums. */
static rp_status record_attack(rp_trainer *t, const rp_attack *a, rp_recorder *rec,
                               const rp_tensor *x_orig) {
  rp_net *net = &t->net;
  bool normalized = a->normalized_space;
  int attacked = normalized ? 1 : 0; /* node 1 is the normalization (rp_model_build) */
  if (normalized && net->nodes[1].kind != RP_NODE_NORMALIZE)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: no input normalization to attack", net->model);
  rp_node *x = &net->nodes[attacked];
  uint32_t valid = (uint32_t)net->batch;
  rp_status st = RP_OK;
  if (normalized) st = rp_net_record_forward_from(net, rec, RP_EVAL, 1);
  /* ε = 0 leaves pixel-space inputs as they are; the official quirk's step still clamps the
   * normalized ones to [0, 1] (taylorglo.md §6), as one step of ε = 0 does. */
  int steps = a->kind == RP_ATTACK_FGSM ? 1 : a->steps;
  if (a->eps <= 0) steps = normalized ? 1 : 0;
  if (!st && steps > 0) st = rp_copy(rec, &x->y, x_orig);
  for (int s = 0; s < steps && !st; s++) {
    st = rp_net_record_forward_from(net, rec, RP_EVAL, attacked + 1);
    if (!st) st = rp_net_record_loss(net, rec, &t->cfg.loss, valid, true, NULL);
    if (!st) st = rp_net_record_backward(net, rec, true);
    if (st) break;
    if (a->kind == RP_ATTACK_FGSM)
      st = rp_fgsm_step(rec, &x->y, &x->dy, (float)a->eps, 0.0f, 1.0f, &x->y);
    else
      st = rp_pgd_step(rec, &x->y, &x->dy, x_orig, (float)a->step_size, (float)a->eps, 0.0f, 1.0f,
                       &x->y);
  }
  if (!st) st = rp_net_record_forward_from(net, rec, RP_EVAL, attacked + 1);
  if (!st) st = rp_net_record_loss(net, rec, &t->cfg.loss, valid, false, &t->eval_sums);
  return st;
}

double rp_pgd_default_step(double eps, int steps) { return 2.5 * eps / (steps > 0 ? steps : 1); }

rp_status rp_trainer_attack(rp_trainer *t, rp_split_kind split, const rp_attack *attack,
                            double *accuracy) {
  *accuracy = NAN;
  rp_batcher *b = split == RP_SPLIT_VAL ? t->val_batches : t->test_batches;
  if (!b) return rp_fail(RP_ERR_INVALID_ARGUMENT, "no validation set to attack (validation 0)");
  if (attack->kind == RP_ATTACK_PGD && attack->eps > 0 &&
      (attack->steps < 1 || !(attack->step_size > 0)))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "PGD needs steps >= 1 and a step size > 0");
  rp_net *net = &t->net;
  const rp_node *input = rp_net_input_node(net);
  rp_tensor x_orig = {0};
  rp_recorder *rec = NULL;
  rp_status st = rp_tensor_create(t->ctx, input->y.ndim, input->y.shape, &x_orig);
  if (!st) st = rp_recorder_create(t->ctx, &rec);
  if (!st) st = rp_rec_begin(rec);
  if (!st) st = record_attack(t, attack, rec, &x_orig);
  if (!st) st = rp_rec_end(rec);
  zero_sums(&t->eval_sums);
  if (!st) st = rp_batcher_start_epoch(b, 0);
  int64_t seen = 0;
  while (!st) {
    int valid = 0;
    st = rp_batcher_next(b, input->y.buffer.mapped, net->labels.buffer.mapped, &valid);
    if (st || valid == 0) break;
    st = rp_rec_run(rec);
    seen += valid;
  }
  if (!st && seen) *accuracy = sums_of(&t->eval_sums)[RP_STAT_CORRECT] / (double)seen;
  rp_recorder_destroy(rec);
  rp_tensor_destroy(t->ctx, &x_orig);
  return st;
}

void rp_trainer_destroy(rp_trainer *t) {
  if (!t) return;
  rp_recorder_destroy(t->train_step);
  rp_recorder_destroy(t->train_tail_step);
  rp_recorder_destroy(t->eval_step);
  if (t->net.ctx) rp_net_destroy(&t->net);
  rp_tensor_destroy(t->ctx, &t->train_sums);
  rp_tensor_destroy(t->ctx, &t->eval_sums);
  rp_batcher_destroy(t->train_batches);
  rp_batcher_destroy(t->val_batches);
  rp_batcher_destroy(t->test_batches);
  rp_split_free(&t->split);
  free(t->test_indices);
  rp_dataset_free(&t->train_set);
  rp_dataset_free(&t->test_set);
  free(t->history);
  free(t);
}
