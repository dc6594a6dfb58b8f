/* The search's default training function: one candidate loss trained by the trainer
 * (train/trainer.h). Kept apart from search.c so that the search's logic links without the
 * trainer (its tests inject a synthetic training function instead). */
#ifndef RP_SEARCH_TRAIN_H
#define RP_SEARCH_TRAIN_H

#include "meta/search.h"
#include "train/trainer.h"

/* What rp_search_train_candidate needs: a device and the candidate schedule. */
typedef struct rp_search_trainer {
  rp_context *ctx;
  /* Model, dataset, epochs (the candidate schedule, e.g. 35 of AllCNN-C's 350), optimizer,
   * augmentation, validation (> 0: the fitness is measured there). Its loss and seed are
   * replaced per trial by the candidate's genome and derived seed. */
  rp_train_config base;
  const rp_train_callbacks *callbacks; /* optional: forwarded to every run (progress) */
  /* Optional: where the trial's state is kept between epochs (at most once every
   * state_interval_seconds), saved under `fingerprint`, the trial's identity and training.
   * A state found there under this fingerprint is taken up (`resumed` is told the epochs it
   * holds); one under another, a trial settled before the state was removed, is discarded. */
  const char *state_path, *fingerprint;
  double state_interval_seconds;
  void (*resumed)(void *user, int epochs_done); /* with callbacks->user; may be NULL */
} rp_search_trainer;

/* rp_search_train_fn over an rp_search_trainer (user): trains trial->genome as a TaylorGLO loss
 * with trial->seed; accuracy = validation accuracy after the last epoch, or (fitness fgsm)
 * FGSM accuracy on the validation split at the config's eps; check_accuracy = validation
 * accuracy after trial->check_epoch; RP_ERR_DIVERGED becomes outcome.diverged. seconds are
 * the wall time of building, training and evaluating (a resumed trial's restored epochs
 * included). A try below check_below at check_epoch stops there: the search retries it. */
rp_status rp_search_train_candidate(const rp_search_trial *trial, void *user,
                                    rp_search_outcome *out);

#endif
