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

/* The model and dataset names stored in a checkpoint's metadata (`dataset` "" if absent). A
 * checkpoint without a model name (one saved by PyTorch without repro's metadata) is an
 * error naming the file. */
rp_status rp_checkpoint_model(const char *path, char *model, size_t size, char *dataset,
                              size_t dataset_size);

#endif
