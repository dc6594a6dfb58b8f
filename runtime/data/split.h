/* Train/validation splits of a training set, and the reduced-data regimes. */
#ifndef RP_DATA_SPLIT_H
#define RP_DATA_SPLIT_H

#include <stdint.h>

#include "data/dataset.h"

typedef struct rp_split {
  int64_t *train, *val; /* indices into the dataset */
  int64_t train_count, val_count;
} rp_split;

/* The training images a fraction keeps of `rest` (the training portion after validation):
 * round(fraction * rest), at least one, at most rest. Experiment plans count with it too. */
int64_t rp_split_keep(int64_t rest, double fraction);

/* Deterministic: a fixed shuffle of the training set from `seed`; the first `validation`
 * shuffled indices are the validation set (CIFAR: 5000 -> 45000/5000), and `fraction` (0,1]
 * keeps the first round(fraction * rest) of the remainder for training (the 10% and 1%
 * regimes; at least one image). Both lists are in shuffled order. `validation` may be 0
 * (val NULL). */
rp_status rp_split_make(const rp_dataset *ds, int64_t validation, double fraction, uint64_t seed,
                        rp_split *out);
void rp_split_free(rp_split *s);

#endif
