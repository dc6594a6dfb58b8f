/* One training run: a model on a dataset with a loss, SGD with momentum and a multi-step
 * schedule, evaluated on the validation and test sets after every epoch.
 *
 * The training step (forward, loss, backward, update, metric sums) is recorded once and
 * submitted for every batch; the host's only per-step work is copying the next batch — which a
 * worker thread has already read and augmented while the device ran the previous step — into
 * mapped memory, and writing the learning rate and the step number there. */
#ifndef RP_TRAINER_H
#define RP_TRAINER_H

#include <stdbool.h>

#include "data/batcher.h"
#include "data/dataset.h"
#include "nn/net.h"
#include "ops/loss.h"
#include "train/epoch_metrics.h"

#define RP_MAX_LR_STEPS 8

typedef struct rp_train_config {
  const char *model;    /* see rp_model_names */
  const char *dataset;  /* cifar10, cifar100, mnist, fashion-mnist */
  const char *data_dir; /* NULL: the default search (rp_dataset_load) */
  rp_loss loss;
  int epochs, batch;
  double lr, lr_gamma; /* the rate is multiplied by lr_gamma at each epoch in lr_steps */
  int lr_steps[RP_MAX_LR_STEPS], lr_step_count;
  double momentum, weight_decay;
  bool nesterov;
  uint64_t seed;
  uint64_t split_seed;  /* the train/validation shuffle; 0: `seed`. A search fixes it so that
                           every candidate is scored on the same validation images */
  double fraction;      /* of the training portion used, (0, 1] */
  int64_t validation;   /* images held out for validation; 0 = none */
  int64_t test_images;  /* evaluate on the first N test images (0: all), for quick runs on CPU
                           devices, where the full test set costs more than a short training */
  bool skip_epoch_test; /* no test pass after each epoch (test_accuracy NaN): a search's
                           candidates are judged on the validation split alone */
  rp_augment augment;
  int64_t max_steps;     /* stop after this many steps in all (0: no limit): tests, benchmarks */
  const char *init_from; /* a checkpoint to start from instead of a fresh initialization */
  bool eval_only;        /* evaluate and attack the test set only: no training set is read (it
                            may be absent, as for repro eval), and rp_trainer_run refuses */
} rp_train_config;

/* The recipe of the paper for a model: epochs, learning rate and steps, weight decay,
 * augmentation (docs/taylorglo.md §7). Other fields: cross-entropy, batch 128
 * (100 for the MNIST CNN), momentum 0.9, seed 1, the whole training portion. */
void rp_train_config_defaults(rp_train_config *cfg, const char *model, const char *dataset);

typedef struct rp_progress {
  int epoch, epochs;
  int64_t step, steps; /* within the epoch */
  double loss, accuracy, images_per_second, seconds_left;
} rp_progress;

typedef struct rp_train_callbacks {
  void (*progress)(const rp_progress *p, void *user); /* at most a few times a second */
  void (*epoch)(const rp_epoch_metrics *m, void *user);
  void *user;
} rp_train_callbacks;

typedef struct rp_trainer rp_trainer;

/* Loads the data, builds and initializes the network and records its steps. */
rp_status rp_trainer_create(rp_context *ctx, const rp_train_config *cfg, rp_trainer **out);

/* Trains for cfg->epochs. A loss that becomes NaN or infinite stops the run with
 * RP_ERR_DIVERGED; the epochs finished before stay in the history. */
rp_status rp_trainer_run(rp_trainer *t, const rp_train_callbacks *cb);

/* Asks a running rp_trainer_run to stop after the current epoch (from an epoch callback: a
 * search gives up on a candidate stuck at chance). */
void rp_trainer_request_stop(rp_trainer *t);

/* ---- a run between epochs (trainer_state.c) ----
 * Everything random in training is a function of (seed, epoch, step) (data/batcher.h, dropout's
 * Philox stream), so the weights, momentum buffers, batch-norm statistics and counters, the
 * step count and the history are the whole state: a run restored from it and trained on ends
 * bit for bit where the uninterrupted run does. `fingerprint` is the caller's description of
 * the configuration (any text); a state saved under another is refused, not trained on. */

/* Saves the state after the last finished epoch, atomically (a safetensors checkpoint that
 * PyTorch can read, with the momentum buffers, a "history" tensor and the crc32 of the tensors'
 * bytes in its metadata). */
rp_status rp_trainer_save_state(const rp_trainer *t, const char *path, const char *fingerprint);

/* What a saved state says it is, without a trainer: the fingerprint it was saved under
 * (*fingerprint, the caller frees) and the epochs done. One line naming the file where it is
 * not a state. It reads the header alone: the tensors' bytes are checked on restoring. */
rp_status rp_trainer_state_read(const char *path, char **fingerprint, int *epochs_done);

/* Restores a state saved by a trainer of the same configuration; rp_trainer_run then goes on
 * from the epoch after it. Every failure is one line naming the file; damaged bytes (tensors
 * whose crc32 is not the saved one, or in a state saved without one a NaN or infinite float, or
 * a history that is none) are bad input, RP_ERR_INVALID_ARGUMENT. After a failure the trainer
 * may hold part of the state: destroy it, untrained. */
rp_status rp_trainer_restore_state(rp_trainer *t, const char *path, const char *fingerprint);

/* Saves a run's state from its epoch callback, at most once an interval: rp_state_saver_epoch
 * after every epoch saves when interval_seconds have passed since saved_at (set it to the run's
 * start; rp_state_saver_now gives the clock). The first failure stops the run and stays in
 * `error` (the caller's record could not be written there either). */
typedef struct rp_state_saver {
  const char *path, *fingerprint; /* path NULL: nothing is saved */
  double interval_seconds;        /* 0: after every epoch */
  double saved_at;                /* rp_state_saver_now() of the last save */
  rp_status error;
} rp_state_saver;

double rp_state_saver_now(void);
void rp_state_saver_epoch(rp_state_saver *s, rp_trainer *t);

const rp_epoch_metrics *rp_trainer_history(const rp_trainer *t, int *count);
rp_net *rp_trainer_net(rp_trainer *t);
const rp_dataset *rp_trainer_train_set(const rp_trainer *t);
int64_t rp_trainer_train_count(const rp_trainer *t);
int64_t rp_trainer_val_count(const rp_trainer *t);

typedef enum rp_split_kind { RP_SPLIT_VAL, RP_SPLIT_TEST } rp_split_kind;

/* Accuracy and mean loss of the current weights on a split, in eval mode. */
rp_status rp_trainer_evaluate(rp_trainer *t, rp_split_kind split, double *accuracy, double *loss);

/* Adversarial evaluation in eval mode, the attack driven by the gradient of the model's own
 * training loss (cfg->loss) with respect to its input:
 *   FGSM: x' = clamp(x + eps sign(grad), 0, 1)
 *   PGD:  `steps` steps of size `step_size`, each projected onto the eps-ball around x and
 *         [0, 1] (starting at x, no random start).
 * eps is on the [0, 1] pixel scale; with `normalized_space` it is in normalized units and the
 * clamp to [0, 1] acts there, as the official code did. */
typedef enum rp_attack_kind { RP_ATTACK_FGSM, RP_ATTACK_PGD } rp_attack_kind;
typedef struct rp_attack {
  rp_attack_kind kind;
  double eps;
  int steps;        /* PGD */
  double step_size; /* PGD */
  bool normalized_space;
} rp_attack;

/* PGD's step size when none is given: 2.5 eps / steps (Madry et al. 2018), so that the steps
 * can reach the eps-ball's edge and move along it whatever their number. */
double rp_pgd_default_step(double eps, int steps);

/* Accuracy on a split under the attack (eps 0: clean accuracy). */
rp_status rp_trainer_attack(rp_trainer *t, rp_split_kind split, const rp_attack *attack,
                            double *accuracy);

void rp_trainer_destroy(rp_trainer *t);

#endif
