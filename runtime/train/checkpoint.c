#include "train/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/safetensors.h"

rp_status rp_checkpoint_save(const rp_net *net, const char *path, const rp_checkpoint_info *info) {
  int count = net->param_count + net->bn_count;
  rp_named_tensor *tensors = calloc((size_t)count, sizeof *tensors);
  float **host = calloc((size_t)net->param_count, sizeof *host);
  if (!tensors || !host) {
    free(tensors);
    free(host);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  }
  rp_status st = RP_OK;
  for (int i = 0; i < net->param_count && !st; i++) {
    const rp_param *p = &net->params[i];
    host[i] = malloc((size_t)rp_tensor_bytes(&p->value));
    if (!host[i]) {
      st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
      break;
    }
    st = rp_tensor_download(net->ctx, &p->value, host[i]);
    rp_named_tensor *t = &tensors[i];
    snprintf(t->name, sizeof t->name, "%s", p->name);
    snprintf(t->dtype, sizeof t->dtype, "F32");
    t->ndim = p->ndim;
    memcpy(t->shape, p->shape, sizeof t->shape);
    t->data = host[i];
  }
  /* num_batches_tracked: one int64 scalar per batch-norm layer, in node order */
  int k = net->param_count;
  for (int i = 0; i < net->node_count && !st; i++) {
    const rp_node *n = &net->nodes[i];
    if (n->kind != RP_NODE_BATCHNORM) continue;
    rp_named_tensor *t = &tensors[k++];
    snprintf(t->name, sizeof t->name, "%s.num_batches_tracked", n->name);
    snprintf(t->dtype, sizeof t->dtype, "I64");
    t->ndim = 0;
    t->data = &net->bn_batches[n->bn_index];
  }
  char epochs[32], seed[32];
  snprintf(epochs, sizeof epochs, "%d", info ? info->epochs : 0);
  snprintf(seed, sizeof seed, "%llu", info ? (unsigned long long)info->seed : 0ull);
  const char *keys[] = {"format", "model", "dataset", "loss", "epochs", "seed", "repro_version"};
  const char *values[] = {"pt",
                          net->model,
                          info && info->dataset ? info->dataset : "",
                          info && info->loss ? info->loss : "",
                          epochs,
                          seed,
                          REPRO_VERSION};
  if (!st) st = rp_safetensors_write(path, tensors, count, keys, values, 7);
  for (int i = 0; i < net->param_count; i++) free(host[i]);
  free(host);
  free(tensors);
  return st;
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

rp_status rp_checkpoint_load(rp_net *net, const char *path) {
  rp_safetensors *f;
  rp_status st = rp_safetensors_open(path, &f);
  if (st) return st;
  const char *model = rp_safetensors_meta(f, "model");
  if (model && strcmp(model, net->model) != 0)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s holds a %s, not a %s", path, model, net->model);
  int expected = net->param_count + net->bn_count;
  if (!st && rp_safetensors_count(f) != expected)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s holds %d tensors; a %s has %d", path,
                 rp_safetensors_count(f), net->model, expected);
  for (int i = 0; i < net->param_count && !st; i++) {
    const rp_param *p = &net->params[i];
    const rp_named_tensor *t = rp_safetensors_find(f, p->name);
    if (!t) {
      st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s has no tensor '%s'", path, p->name);
      break;
    }
    if (strcmp(t->dtype, "F32") != 0 || t->ndim != p->ndim ||
        memcmp(t->shape, p->shape, (size_t)p->ndim * sizeof *p->shape) != 0) {
      /* Both shapes: a checkpoint of the same model for another dataset (1 input channel
       * against 3, 100 classes against 10) shows at a glance. */
      char got[96], want[96];
      format_shape(t->ndim, t->shape, got, sizeof got);
      format_shape(p->ndim, p->shape, want, sizeof want);
      st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: '%s' is %s %s, the %s expects F32 %s", path,
                   p->name, t->dtype, got, net->model, want);
      break;
    }
    /* The file's bytes need not be 4-byte aligned in memory: copy before uploading. */
    float *host = malloc((size_t)numel(t) * sizeof *host);
    if (!host) {
      st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
      break;
    }
    memcpy(host, t->data, (size_t)numel(t) * sizeof *host);
    st = rp_tensor_upload(net->ctx, &p->value, host);
    free(host);
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
  rp_safetensors_close(f);
  return st;
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
