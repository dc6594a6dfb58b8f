/* Checkpoints: a network's parameters and batch-norm buffers as a safetensors file with
 * PyTorch state_dict names and layouts, loadable by the torch.nn definitions of
 * bench/models.py with load_state_dict(strict=True). */
#ifndef RP_CHECKPOINT_H
#define RP_CHECKPOINT_H

#include "nn/net.h"

/* Metadata stored with the weights (all strings in the file's __metadata__). */
typedef struct rp_checkpoint_info {
  const char *dataset;
  const char *loss; /* "ce", "ls:0.1", "taylorglo:..." */
  int epochs;
  uint64_t seed;
} rp_checkpoint_info;

/* Writes every parameter and running statistic (F32) and each batch norm's
 * num_batches_tracked (I64), atomically. */
rp_status rp_checkpoint_save(const rp_net *net, const char *path, const rp_checkpoint_info *info);

/* Loads a checkpoint into a network built for the same model: every tensor the network has
 * must be there with the same shape, and nothing else (strict). */
rp_status rp_checkpoint_load(rp_net *net, const char *path);

/* What a checkpoint's metadata says it is: the model, and the dataset and loss it was trained
 * with ("" where absent). */
typedef struct rp_checkpoint_meta {
  char model[64];
  char dataset[64];
  char loss[512];
} rp_checkpoint_meta;

/* Reads a checkpoint's metadata. One without a model name (a state_dict saved by PyTorch
 * without repro's metadata) is an error naming the file. */
rp_status rp_checkpoint_read_meta(const char *path, rp_checkpoint_meta *meta);

#endif
