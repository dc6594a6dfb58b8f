#include "train/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/safetensors.h"

/* The tensors of a checkpoint: each parameter's value (and its momentum buffer with
 * `momentum`, for trainable ones), then each batch norm's num_batches_tracked. */
static int tensor_count(const rp_net *net, bool momentum) {
  int count = net->param_count + net->bn_count;
  for (int i = 0; i < net->param_count && momentum; i++) count += net->params[i].trainable;
  return count;
}

/* Downloads `t` into a new host buffer described by `out` under `name`. */
static rp_status download_named(const rp_net *net, const rp_param *p, const rp_tensor *t,
                                const char *suffix, rp_named_tensor *out, float **host) {
  *host = malloc((size_t)rp_tensor_bytes(t));
  if (!*host) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  snprintf(out->name, sizeof out->name, "%s%s", p->name, suffix);
  snprintf(out->dtype, sizeof out->dtype, "F32");
  out->ndim = p->ndim;
  memcpy(out->shape, p->shape, sizeof out->shape);
  out->data = *host;
  return rp_tensor_download(net->ctx, t, *host);
}

static rp_status save(const rp_net *net, const char *path, const rp_checkpoint_info *info,
                      const rp_checkpoint_extra *extra) {
  bool momentum = extra && extra->momentum;
  int own = tensor_count(net, momentum), count = own + (extra ? extra->tensor_count : 0);
  rp_named_tensor *tensors = calloc((size_t)count, sizeof *tensors);
  float **host = calloc((size_t)own, sizeof *host);
  if (!tensors || !host) {
    free(tensors);
    free(host);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  }
  rp_status st = RP_OK;
  int k = 0;
  for (int i = 0; i < net->param_count && !st; i++) {
    const rp_param *p = &net->params[i];
    st = download_named(net, p, &p->value, "", &tensors[k], &host[k]);
    k++;
    if (!st && momentum && p->trainable) {
      st = download_named(net, p, &p->momentum, ".momentum_buffer", &tensors[k], &host[k]);
      k++;
    }
  }
  int downloaded = k;
  /* num_batches_tracked: one int64 scalar per batch-norm layer, in node order */
  for (int i = 0; i < net->node_count && !st; i++) {
    const rp_node *n = &net->nodes[i];
    if (n->kind != RP_NODE_BATCHNORM) continue;
    rp_named_tensor *t = &tensors[k++];
    snprintf(t->name, sizeof t->name, "%s.num_batches_tracked", n->name);
    snprintf(t->dtype, sizeof t->dtype, "I64");
    t->ndim = 0;
    t->data = &net->bn_batches[n->bn_index];
  }
  for (int i = 0; extra && i < extra->tensor_count; i++) tensors[own + i] = extra->tensors[i];
  char epochs[32], seed[32];
  snprintf(epochs, sizeof epochs, "%d", info ? info->epochs : 0);
  snprintf(seed, sizeof seed, "%llu", info ? (unsigned long long)info->seed : 0ull);
  enum { OWN_META = 7, MAX_META = 16 };
  const char *keys[MAX_META] = {"format", "model", "dataset",      "loss",
                                "epochs", "seed",  "repro_version"};
  const char *values[MAX_META] = {"pt",
                                  net->model,
                                  info && info->dataset ? info->dataset : "",
                                  info && info->loss ? info->loss : "",
                                  epochs,
                                  seed,
                                  REPRO_VERSION};
  int meta = OWN_META;
  for (int i = 0; extra && i < extra->meta_count && meta < MAX_META; i++, meta++)
    keys[meta] = extra->meta_keys[i], values[meta] = extra->meta_values[i];
  if (!st)
    st = rp_safetensors_write_checksummed(path, tensors, count, keys, values, meta,
                                          extra ? extra->checksum_key : NULL);
  for (int i = 0; i < downloaded; i++) free(host[i]);
  free(host);
  free(tensors);
  return st;
}

rp_status rp_checkpoint_save(const rp_net *net, const char *path, const rp_checkpoint_info *info) {
  return save(net, path, info, NULL);
}

rp_status rp_checkpoint_save_with(const rp_net *net, const char *path,
                                  const rp_checkpoint_info *info,
                                  const rp_checkpoint_extra *extra) {
  if (extra && extra->meta_count > 9)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %d metadata entries, at most 9", path,
                   extra->meta_count);
  return save(net, path, info, extra);
}

/* "[32,1,5,5]" ("[]" for a scalar). */
static void format_shape(int ndim, const int64_t *shape, char *out, size_t size) {
  size_t len = (size_t)snprintf(out, size, "[");
  for (int d = 0; d < ndim && len < size; d++)
    len += (size_t)snprintf(out + len, size - len, "%s%lld", d ? "," : "", (long long)shape[d]);
  if (len < size) snprintf(out + len, size - len, "]");
}

static int64_t numel(const rp_named_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
  return n;
}

/* Uploads tensor `name` of `f` into `dst`, which holds parameter p's shape in F32. */
static rp_status upload_named(rp_net *net, const rp_safetensors *f, const char *path,
                              const char *name, const rp_param *p, const rp_tensor *dst) {
  const rp_named_tensor *t = rp_safetensors_find(f, name);
  if (!t) return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s has no tensor '%s'", path, name);
  if (strcmp(t->dtype, "F32") != 0 || t->ndim != p->ndim ||
      memcmp(t->shape, p->shape, (size_t)p->ndim * sizeof *p->shape) != 0) {
    /* Both shapes: a checkpoint of the same model for another dataset (1 input channel
     * against 3, 100 classes against 10) shows at a glance. */
    char got[96], want[96];
    format_shape(t->ndim, t->shape, got, sizeof got);
    format_shape(p->ndim, p->shape, want, sizeof want);
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: '%s' is %s %s, the %s expects F32 %s", path, name,
                   t->dtype, got, net->model, want);
  }
  /* The file's bytes need not be 4-byte aligned in memory: copy before uploading. */
  float *host = malloc((size_t)numel(t) * sizeof *host);
  if (!host) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  memcpy(host, t->data, (size_t)numel(t) * sizeof *host);
  rp_status st = rp_tensor_upload(net->ctx, dst, host);
  free(host);
  return st;
}

static rp_status load(rp_net *net, const char *path, bool momentum, int extra_tensors,
                      rp_safetensors **keep) {
  rp_safetensors *f;
  rp_status st = rp_safetensors_open(path, &f);
  if (st) return st;
  const char *model = rp_safetensors_meta(f, "model");
  if (model && strcmp(model, net->model) != 0)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s holds a %s, not a %s", path, model, net->model);
  int expected = tensor_count(net, momentum) + extra_tensors;
  if (!st && rp_safetensors_count(f) != expected)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s holds %d tensors; %s %s has %d", path,
                 rp_safetensors_count(f), momentum ? "the training state of a" : "a", net->model,
                 expected);
  for (int i = 0; i < net->param_count && !st; i++) {
    const rp_param *p = &net->params[i];
    st = upload_named(net, f, path, p->name, p, &p->value);
    if (!st && momentum && p->trainable) {
      char name[128];
      snprintf(name, sizeof name, "%s.momentum_buffer", p->name);
      st = upload_named(net, f, path, name, p, &p->momentum);
    }
  }
  for (int i = 0; i < net->node_count && !st; i++) {
    const rp_node *n = &net->nodes[i];
    if (n->kind != RP_NODE_BATCHNORM) continue;
    char name[128];
    snprintf(name, sizeof name, "%s.num_batches_tracked", n->name);
    const rp_named_tensor *t = rp_safetensors_find(f, name);
    if (!t || strcmp(t->dtype, "I64") != 0 || numel(t) != 1)
      st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s has no I64 scalar '%s'", path, name);
    else
      memcpy(&net->bn_batches[n->bn_index], t->data, sizeof(int64_t));
  }
  if (st || !keep) {
    rp_safetensors_close(f);
    return st;
  }
  *keep = f;
  return RP_OK;
}

rp_status rp_checkpoint_load(rp_net *net, const char *path) {
  return load(net, path, false, 0, NULL);
}

rp_status rp_checkpoint_load_with(rp_net *net, const char *path, int extra_tensors,
                                  rp_safetensors **file) {
  return load(net, path, true, extra_tensors, file);
}

rp_status rp_checkpoint_read_meta(const char *path, rp_checkpoint_meta *meta) {
  memset(meta, 0, sizeof *meta);
  rp_safetensors *f;
  rp_status st = rp_safetensors_open(path, &f);
  if (st) return st;
  const char *m = rp_safetensors_meta(f, "model"), *d = rp_safetensors_meta(f, "dataset"),
             *l = rp_safetensors_meta(f, "loss");
  /* A state_dict saved by PyTorch's safetensors has no such metadata: say what to add rather
   * than go on with a model named "". */
  if (!m || !*m)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s: no 'model' in its safetensors __metadata__ (repro --save writes it; a "
                 "file saved elsewhere needs metadata like {\"model\": \"resnet20\", "
                 "\"dataset\": \"cifar10\"})",
                 path);
  snprintf(meta->model, sizeof meta->model, "%s", m ? m : "");
  snprintf(meta->dataset, sizeof meta->dataset, "%s", d ? d : "");
  snprintf(meta->loss, sizeof meta->loss, "%s", l ? l : "");
  rp_safetensors_close(f);
  return st;
}
