/* The trainer's insides, shared by trainer.c (training and evaluation) and trainer_state.c
 * (saving and restoring a run between epochs); nothing else includes this. */
#ifndef RP_TRAINER_PRIVATE_H
#define RP_TRAINER_PRIVATE_H

#include "data/split.h"
#include "train/trainer.h"

struct rp_trainer {
  rp_context *ctx;
  rp_train_config cfg;
  rp_dataset train_set, test_set;
  rp_split split;
  int64_t *test_indices;
  rp_batcher *train_batches, *val_batches, *test_batches;
  rp_net net;
  /* The training step of a whole batch, and of the partial last batch of an epoch (NULL when
   * the training images fill whole batches): its own size, as the official trainer's
   * DataLoader gives it. */
  rp_recorder *train_step, *train_tail_step, *eval_step;
  int tail_rows;                   /* of the partial batch: train_count % batch (0: none) */
  rp_tensor train_sums, eval_sums; /* mapped F32 [3]: loss, correct, true-class probability */
  rp_epoch_metrics *history;
  int epochs_done;
  int64_t global_step;
  double eval_seconds; /* the last epoch's validation and test passes (0 before the first) */
  bool stop_requested;
};

#endif
