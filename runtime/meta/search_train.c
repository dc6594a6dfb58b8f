/* The search's trainer-backed training function (search_train.h). */
#include "meta/search_train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Passes epochs on to the caller's callbacks and stops a try that is stuck below the retry
 * threshold at its check epoch: the search retries it, so the rest of its schedule is waste. */
typedef struct watch {
  const rp_train_callbacks *inner;
  const rp_search_trial *trial;
  rp_trainer *trainer;
  rp_state_saver saver;
} watch;

static void watch_progress(const rp_progress *p, void *user) {
  const watch *w = user;
  if (w->inner && w->inner->progress) w->inner->progress(p, w->inner->user);
}

static void watch_epoch(const rp_epoch_metrics *m, void *user) {
  watch *w = user;
  rp_state_saver_epoch(&w->saver, w->trainer);
  if (w->inner && w->inner->epoch) w->inner->epoch(m, w->inner->user);
  const rp_search_trial *trial = w->trial;
  if (trial->check_epoch > 0 && m->epoch == trial->check_epoch &&
      !(m->val_accuracy >= trial->check_below))
    rp_trainer_request_stop(w->trainer);
}

/* Whether a try's history shows it stuck at its check epoch (the search retries it). */
static bool stuck(const rp_search_trial *trial, const rp_epoch_metrics *h, int count) {
  return trial->check_epoch > 0 && count >= trial->check_epoch &&
         !(h[trial->check_epoch - 1].val_accuracy >= trial->check_below);
}

/* Takes the trial up from its saved state, where one was saved under its fingerprint (one
 * under another is an earlier trial's, left by a stop before it was removed: discarded).
 * *seconds_before: the time its restored epochs took. */
static rp_status take_up(const rp_search_trainer *s, rp_trainer *t, double *seconds_before) {
  *seconds_before = 0;
  if (access(s->state_path, F_OK) != 0) return RP_OK;
  char *saved_under = NULL;
  int done = 0;
  rp_status st = rp_trainer_state_read(s->state_path, &saved_under, &done);
  if (st) return st;
  bool mine = strcmp(saved_under, s->fingerprint) == 0;
  free(saved_under);
  if (!mine) {
    if (remove(s->state_path) != 0)
      return rp_fail(RP_ERR_IO, "%s: cannot remove an earlier candidate's state: %s", s->state_path,
                     strerror(errno));
    return RP_OK;
  }
  st = rp_trainer_restore_state(t, s->state_path, s->fingerprint);
  if (st) return st;
  const rp_epoch_metrics *h = rp_trainer_history(t, &done);
  for (int i = 0; i < done; i++) *seconds_before += h[i].seconds;
  if (s->resumed) s->resumed(s->callbacks ? s->callbacks->user : NULL, done);
  return RP_OK;
}

rp_status rp_search_train_candidate(const rp_search_trial *trial, void *user,
                                    rp_search_outcome *out) {
  const rp_search_trainer *s = user;
  const rp_search_config *scfg = trial->cfg;
  if (!s || !s->ctx)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "search: rp_search_train_candidate without a device");
  if (s->base.validation <= 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "search: candidates of %s on %s need a validation split (validation %lld)",
                   s->base.model, s->base.dataset, (long long)s->base.validation);
  rp_train_config cfg = s->base;
  cfg.loss = (rp_loss){.kind = RP_LOSS_TAYLORGLO};
  for (int i = 0; i < RP_TGLO_GENOME; i++) cfg.loss.theta[i] = (float)trial->genome[i];
  cfg.seed = trial->seed;
  /* One validation split for the whole search, whatever each candidate's seed. */
  cfg.split_seed = s->base.split_seed ? s->base.split_seed : (scfg ? scfg->seed : 1);

  double start = rp_state_saver_now(), seconds_before = 0;
  rp_trainer *t = NULL;
  rp_status st = rp_trainer_create(s->ctx, &cfg, &t);
  watch w = {s->callbacks, trial, t,
             (rp_state_saver){.path = s->state_path,
                              .fingerprint = s->fingerprint,
                              .interval_seconds = s->state_interval_seconds,
                              .saved_at = start}};
  if (!st && s->state_path) st = take_up(s, t, &seconds_before);
  rp_train_callbacks cb = {watch_progress, watch_epoch, &w};
  int count = 0;
  const rp_epoch_metrics *h = t ? rp_trainer_history(t, &count) : NULL;
  /* (a try taken up after its check epoch, stuck there, has nothing left to train) */
  if (!st && !stuck(trial, h, count)) st = rp_trainer_run(t, &cb);
  if (!st && w.saver.error) st = w.saver.error;
  if (st == RP_ERR_DIVERGED) {
    out->diverged = true;
    st = RP_OK;
  }
  if (!st && t) {
    h = rp_trainer_history(t, &count);
    out->epochs = count;
    if (trial->check_epoch > 0 && count >= trial->check_epoch)
      out->check_accuracy = h[trial->check_epoch - 1].val_accuracy;
    if (!out->diverged && count > 0) {
      if (scfg && scfg->fitness == RP_SEARCH_FIT_FGSM) {
        rp_attack a = {.kind = RP_ATTACK_FGSM,
                       .eps = scfg->attack_eps,
                       .normalized_space = scfg->attack_normalized};
        st = rp_trainer_attack(t, RP_SPLIT_VAL, &a, &out->accuracy);
      } else {
        out->accuracy = h[count - 1].val_accuracy;
      }
    }
  }
  rp_trainer_destroy(t);
  out->seconds = rp_state_saver_now() - start + seconds_before;
  return st;
}
