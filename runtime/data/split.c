/* Train/validation split: one shuffle keyed by the seed, cut into validation | train | unused. */
#include "data/split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/rng.h"

int64_t rp_split_keep(int64_t rest, double fraction) {
  int64_t keep = (int64_t)llround(fraction * (double)rest);
  return keep < 1 ? 1 : keep > rest ? rest : keep;
}

rp_status rp_split_make(const rp_dataset *ds, int64_t validation, double fraction, uint64_t seed,
                        rp_split *out) {
  memset(out, 0, sizeof *out);
  int64_t n = ds->count;
  if (validation < 0 || validation >= n)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "split of %s: %lld validation images leave none of its %lld for training",
                   ds->name, (long long)validation, (long long)n);
  if (!(fraction > 0.0 && fraction <= 1.0))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "split of %s: training fraction %g is not in (0, 1]",
                   ds->name, fraction);
  int64_t rest = n - validation, keep = rp_split_keep(rest, fraction);

  int64_t *perm = malloc((size_t)n * sizeof *perm);
  if (!perm) return rp_fail(RP_ERR_OUT_OF_MEMORY, "split of %s: no memory", ds->name);
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  rp_rng rng = rp_rng_key(seed, RP_RNG_SPLIT, 0, 0);
  rp_rng_shuffle(&rng, perm, n);

  out->train = malloc((size_t)keep * sizeof *out->train);
  out->val = validation ? malloc((size_t)validation * sizeof *out->val) : NULL;
  if (!out->train || (validation && !out->val)) {
    free(perm);
    rp_split_free(out);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "split of %s: no memory", ds->name);
  }
  memcpy(out->val ? out->val : perm, perm, (size_t)validation * sizeof *perm);
  memcpy(out->train, perm + validation, (size_t)keep * sizeof *perm);
  out->val_count = validation;
  out->train_count = keep;
  free(perm);
  return RP_OK;
}

void rp_split_free(rp_split *s) {
  if (!s) return;
  free(s->train);
  free(s->val);
  memset(s, 0, sizeof *s);
}
