/* The trainer as the backend of an experiment (exp/driver.h): each run is an rp_trainer built
 * from the experiment's resolved configuration, trained, then evaluated clean and under the
 * FGSM/PGD grid on the test split. Kept apart from the pure parts of runtime/exp so that those
 * build and test without the training engine. */
#ifndef RP_EXP_RUNNER_H
#define RP_EXP_RUNNER_H

#include "exp/driver.h"
#include "train/trainer.h"
#include "vk/context.h"

/* The model's recipe (rp_train_config_defaults) as the experiment parser wants it. */
void rp_exp_recipe(const char *model, const char *dataset, rp_exp_training *training,
                   int64_t *validation);

/* The trainer configuration of one run of `e` with `loss` and `seed`. */
void rp_exp_train_config(const rp_experiment *e, const rp_loss *loss, uint64_t seed,
                         rp_train_config *out);

typedef struct rp_exp_runner {
  rp_context *ctx;
  /* Called after every epoch of every run (may be NULL). */
  void (*epoch)(void *user, const rp_exp_run *run, const rp_exp_epoch *m, int epochs);
  /* Called by the backend's `event` (may be NULL). */
  void (*event)(void *user, rp_exp_event event, int index, int count, const rp_exp_run *run,
                const rp_exp_result *result);
  /* Within epochs, of runs and candidates alike (a few times a second; may be NULL). */
  void (*progress)(void *user, const rp_progress *p);
  /* Search progress, candidates' epochs included (may be NULL). */
  void (*search_event)(void *user, const rp_exp_search_event *event);
  /* A run taken up from its saved state after `epochs_done` of `epochs` (may be NULL). */
  void (*resumed)(void *user, const rp_exp_run *run, const char *state_path, int epochs_done,
                  int epochs);
  void *user;
  /* A run's or search candidate's state is saved after an epoch when this many seconds have
   * passed since the last save (or the training's start); 0: after every epoch. */
  double state_interval_seconds;
} rp_exp_runner;

/* A backend that trains with `runner` (which must outlive it), runs and search candidates. */
rp_exp_backend rp_exp_trainer_backend(rp_exp_runner *runner);

#endif
