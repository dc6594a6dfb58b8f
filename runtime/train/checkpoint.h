/* Checkpoints: a network's parameters and batch-norm buffers as a safetensors file with
 * PyTorch state_dict names and layouts, loadable by the torch.nn definitions of
 * bench/models.py with load_state_dict(strict=True). */
#ifndef RP_CHECKPOINT_H
#define RP_CHECKPOINT_H

#include "nn/net.h"
#include "train/safetensors.h"

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

/* A training state (rp_trainer_save_state) is a checkpoint with more in it: each trainable
 * parameter's momentum buffer, as "<name>.momentum_buffer", the caller's own tensors and
 * metadata (at most 9 entries, after the checkpoint's), and where checksum_key is not NULL the
 * crc32 of every tensor's bytes under that key (rp_safetensors_write_checksummed), for the
 * reader to tell damaged bytes (rp_safetensors_crc32). */
typedef struct rp_checkpoint_extra {
  bool momentum;
  const rp_named_tensor *tensors;
  int tensor_count;
  const char *const *meta_keys, *const *meta_values;
  int meta_count;
  const char *checksum_key;
} rp_checkpoint_extra;

rp_status rp_checkpoint_save_with(const rp_net *net, const char *path,
                                  const rp_checkpoint_info *info, const rp_checkpoint_extra *extra);

/* Loads a training state: the weights and buffers as rp_checkpoint_load does, and the momentum
 * buffers, the file holding exactly `extra_tensors` more tensors. The file stays open in *file
 * for the caller to read those and the metadata (rp_safetensors_close). */
rp_status rp_checkpoint_load_with(rp_net *net, const char *path, int extra_tensors,
                                  rp_safetensors **file);

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
