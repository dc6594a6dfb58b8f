/* The search's trainer-backed training function (search_train.h). */
#include "meta/search_train.h"

#include <math.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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

  double start = now_seconds();
  rp_trainer *t = NULL;
  rp_status st = rp_trainer_create(s->ctx, &cfg, &t);
  if (!st) st = rp_trainer_run(t, s->callbacks);
  if (st == RP_ERR_DIVERGED) {
    out->diverged = true;
    st = RP_OK;
  }
  if (!st && t) {
    int count = 0;
    const rp_epoch_metrics *h = rp_trainer_history(t, &count);
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
  out->seconds = now_seconds() - start;
  return st;
}
