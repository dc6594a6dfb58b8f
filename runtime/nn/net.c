#include "nn/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/init.h"
#include "ops/activation.h"
#include "ops/batchnorm.h"
#include "ops/conv2d.h"
#include "ops/ops.h"
#include "ops/optimizer.h"
#include "ops/pool.h"

#define BN_MOMENTUM 0.1f /* PyTorch's defaults for BatchNorm2d */
#define BN_EPS 1e-5f

/* ---- building ---- */

void rp_net_init(rp_net *net, rp_context *ctx, const char *model, int batch, int classes) {
  memset(net, 0, sizeof *net);
  net->ctx = ctx;
  snprintf(net->model, sizeof net->model, "%s", model);
  net->batch = net->rows = batch;
  net->classes = classes;
}

static rp_node *node_at(rp_net *net, int i) { return &net->nodes[i]; }

/* Appends a node of `kind` reading `a` and `b` (-1 for none); returns its index or -1. */
static int add_node(rp_net *net, rp_node_kind kind, int a, int b, rp_status *st) {
  if ((a >= net->node_count) || (b >= net->node_count)) {
    *st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: a layer reads node %d of %d", net->model,
                  a > b ? a : b, net->node_count);
    return -1;
  }
  if (net->node_count == net->node_capacity) {
    int cap = net->node_capacity ? 2 * net->node_capacity : 32;
    rp_node *grown = realloc(net->nodes, (size_t)cap * sizeof *grown);
    if (!grown) {
      *st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
      return -1;
    }
    net->nodes = grown;
    net->node_capacity = cap;
  }
  rp_node *n = &net->nodes[net->node_count];
  memset(n, 0, sizeof *n);
  n->kind = kind;
  n->in[0] = a;
  n->in[1] = b;
  n->weight = n->bias = n->running_mean = n->running_var = n->bn_index = -1;
  if (a >= 0) {
    n->ndim = net->nodes[a].ndim;
    memcpy(n->shape, net->nodes[a].shape, sizeof n->shape);
  }
  *st = RP_OK;
  return net->node_count++;
}

static int add_param(rp_net *net, const char *layer, const char *what, int ndim,
                     const int64_t *shape, bool trainable, rp_init init, rp_status *st) {
  if (net->param_count == net->param_capacity) {
    int cap = net->param_capacity ? 2 * net->param_capacity : 32;
    rp_param *grown = realloc(net->params, (size_t)cap * sizeof *grown);
    if (!grown) {
      *st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
      return -1;
    }
    net->params = grown;
    net->param_capacity = cap;
  }
  rp_param *p = &net->params[net->param_count];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s.%s", layer, what);
  p->ndim = ndim;
  memcpy(p->shape, shape, (size_t)ndim * sizeof *shape);
  p->trainable = trainable;
  p->init = init;
  return net->param_count++;
}

static bool is_4d(const rp_net *net, int in, const char *layer, rp_status *st) {
  if (in >= 0 && net->nodes[in].ndim == 4) return true;
  *st =
      rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %s needs a 4-D [N, C, H, W] input", net->model, layer);
  return false;
}

static rp_init constant(double value) { return (rp_init){RP_INIT_CONSTANT, value}; }

/* PyTorch's reset_parameters for conv and linear layers, weights and biases alike. */
static rp_init pytorch_default(int64_t fan_in) {
  return (rp_init){RP_INIT_UNIFORM, 1.0 / sqrt((double)fan_in)};
}

int rp_net_input(rp_net *net, int channels, int height, int width, rp_status *st) {
  int i = add_node(net, RP_NODE_INPUT, -1, -1, st);
  if (i < 0) return -1;
  rp_node *n = node_at(net, i);
  n->ndim = 4;
  n->shape[0] = net->batch;
  n->shape[1] = channels;
  n->shape[2] = height;
  n->shape[3] = width;
  return i;
}

int rp_net_normalize(rp_net *net, int in, const float *mean, const float *std, rp_status *st) {
  if (!is_4d(net, in, "normalize", st)) return -1;
  if (net->nodes[in].shape[1] > 4) {
    *st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: input normalization takes at most 4 channels",
                  net->model);
    return -1;
  }
  int i = add_node(net, RP_NODE_NORMALIZE, in, -1, st);
  if (i < 0) return -1;
  rp_node *n = node_at(net, i);
  for (int c = 0; c < n->shape[1]; c++) {
    n->mean[c] = mean[c];
    n->std[c] = std[c];
  }
  return i;
}

int rp_net_conv(rp_net *net, int in, const char *name, int64_t out_channels, int kernel, int stride,
                int pad, bool bias, rp_status *st) {
  if (!is_4d(net, in, name, st)) return -1;
  int64_t c = net->nodes[in].shape[1];
  int64_t p = rp_conv2d_out_size(net->nodes[in].shape[2], kernel, stride, pad);
  int64_t q = rp_conv2d_out_size(net->nodes[in].shape[3], kernel, stride, pad);
  if (p < 1 || q < 1) {
    *st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: a %dx%d kernel does not fit a %lldx%lld input",
                  name, kernel, kernel, (long long)net->nodes[in].shape[2],
                  (long long)net->nodes[in].shape[3]);
    return -1;
  }
  int i = add_node(net, RP_NODE_CONV, in, -1, st);
  if (i < 0) return -1;
  rp_node *n = node_at(net, i);
  snprintf(n->name, sizeof n->name, "%s", name);
  n->kernel = kernel;
  n->stride = stride;
  n->pad = pad;
  n->shape[1] = out_channels;
  n->shape[2] = p;
  n->shape[3] = q;
  int64_t fan_in = c * kernel * kernel, fan_out = out_channels * kernel * kernel;
  int64_t wshape[4] = {out_channels, c, kernel, kernel};
  rp_init w = net->conv_init == RP_CONV_INIT_HE_FAN_OUT
                  ? (rp_init){RP_INIT_NORMAL, sqrt(2.0 / (double)fan_out)}
                  : pytorch_default(fan_in);
  n->weight = add_param(net, name, "weight", 4, wshape, true, w, st);
  if (n->weight >= 0 && bias)
    n->bias = add_param(net, name, "bias", 1, wshape, true, pytorch_default(fan_in), st);
  return *st ? -1 : i;
}

int rp_net_batchnorm(rp_net *net, int in, const char *name, rp_status *st) {
  if (!is_4d(net, in, name, st)) return -1;
  int i = add_node(net, RP_NODE_BATCHNORM, in, -1, st);
  if (i < 0) return -1;
  rp_node *n = node_at(net, i);
  snprintf(n->name, sizeof n->name, "%s", name);
  int64_t c[1] = {n->shape[1]};
  n->weight = add_param(net, name, "weight", 1, c, true, constant(1), st);
  if (!*st) n->bias = add_param(net, name, "bias", 1, c, true, constant(0), st);
  if (!*st) n->running_mean = add_param(net, name, "running_mean", 1, c, false, constant(0), st);
  if (!*st) n->running_var = add_param(net, name, "running_var", 1, c, false, constant(1), st);
  n = node_at(net, i);
  n->bn_index = net->bn_count++;
  return *st ? -1 : i;
}

int rp_net_relu(rp_net *net, int in, rp_status *st) {
  return add_node(net, RP_NODE_RELU, in, -1, st);
}

static int pool(rp_net *net, rp_node_kind kind, int in, int kernel, int stride, int pad,
                rp_status *st) {
  if (!is_4d(net, in, "pooling", st)) return -1;
  int i = add_node(net, kind, in, -1, st);
  if (i < 0) return -1;
  rp_node *n = node_at(net, i);
  n->kernel = kernel;
  n->stride = stride;
  n->pad = pad;
  n->shape[2] = rp_pool_out_size(n->shape[2], kernel, stride, pad);
  n->shape[3] = rp_pool_out_size(n->shape[3], kernel, stride, pad);
  if (n->shape[2] < 1 || n->shape[3] < 1) {
    *st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: a %dx%d pooling window does not fit its input",
                  net->model, kernel, kernel);
    return -1;
  }
  return i;
}

int rp_net_maxpool(rp_net *net, int in, int kernel, int stride, int pad, rp_status *st) {
  return pool(net, RP_NODE_MAXPOOL, in, kernel, stride, pad, st);
}

int rp_net_avgpool(rp_net *net, int in, int kernel, int stride, int pad, rp_status *st) {
  return pool(net, RP_NODE_AVGPOOL, in, kernel, stride, pad, st);
}

int rp_net_global_avgpool(rp_net *net, int in, rp_status *st) {
  if (!is_4d(net, in, "global average pooling", st)) return -1;
  int i = add_node(net, RP_NODE_GLOBAL_AVGPOOL, in, -1, st);
  if (i < 0) return -1;
  node_at(net, i)->ndim = 2;
  return i;
}

int rp_net_dropout(rp_net *net, int in, float p, rp_status *st) {
  int i = add_node(net, RP_NODE_DROPOUT, in, -1, st);
  if (i < 0) return -1;
  node_at(net, i)->p = p;
  node_at(net, i)->stream = net->dropout_streams++;
  return i;
}

int rp_net_flatten(rp_net *net, int in, rp_status *st) {
  int i = add_node(net, RP_NODE_FLATTEN, in, -1, st);
  if (i < 0) return -1;
  rp_node *n = node_at(net, i);
  int64_t features = 1;
  for (int d = 1; d < n->ndim; d++) features *= n->shape[d];
  n->ndim = 2;
  n->shape[1] = features;
  return i;
}

int rp_net_linear(rp_net *net, int in, const char *name, int64_t out_features, rp_status *st) {
  if (in < 0 || net->nodes[in].ndim != 2) {
    *st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %s needs a 2-D [N, features] input", net->model,
                  name);
    return -1;
  }
  int64_t features = net->nodes[in].shape[1];
  int i = add_node(net, RP_NODE_LINEAR, in, -1, st);
  if (i < 0) return -1;
  rp_node *n = node_at(net, i);
  snprintf(n->name, sizeof n->name, "%s", name);
  n->shape[1] = out_features;
  int64_t wshape[2] = {out_features, features};
  n->weight = add_param(net, name, "weight", 2, wshape, true, pytorch_default(features), st);
  rp_init b = net->linear_bias_zero ? constant(0) : pytorch_default(features);
  if (n->weight >= 0) n->bias = add_param(net, name, "bias", 1, wshape, true, b, st);
  return *st ? -1 : i;
}

int rp_net_add(rp_net *net, int a, int b, rp_status *st) {
  if (a < 0 || b < 0 || net->nodes[a].ndim != net->nodes[b].ndim ||
      memcmp(net->nodes[a].shape, net->nodes[b].shape, sizeof net->nodes[a].shape) != 0) {
    *st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: a residual add of tensors of different shapes",
                  net->model);
    return -1;
  }
  return add_node(net, RP_NODE_ADD, a, b, st);
}

/* ---- allocation ---- */

static int64_t numel(int ndim, const int64_t *shape) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) n *= shape[d];
  return n;
}

static rp_status create_like(rp_net *net, const rp_node *n, rp_dtype dtype, rp_tensor *t) {
  rp_status st = rp_tensor_create(net->ctx, n->ndim, n->shape, t);
  t->dtype = dtype;
  return st;
}

static rp_status allocate_node(rp_net *net, rp_node *n) {
  rp_context *ctx = net->ctx;
  rp_status st = RP_OK;
  if (n->kind == RP_NODE_INPUT) {
    st = rp_tensor_create_mapped(ctx, n->ndim, n->shape, &n->y);
    return st ? st : create_like(net, n, RP_F32, &n->dy);
  }
  if (n->kind == RP_NODE_FLATTEN) { /* views of the input's memory */
    const rp_node *in = &net->nodes[n->in[0]];
    n->y = in->y;
    n->dy = in->dy;
    n->y.ndim = n->dy.ndim = 2;
    memcpy(n->y.shape, n->shape, sizeof n->shape);
    memcpy(n->dy.shape, n->shape, sizeof n->shape);
    return RP_OK;
  }
  st = create_like(net, n, RP_F32, &n->y);
  if (!st) st = create_like(net, n, RP_F32, &n->dy);
  if (!st && n->kind == RP_NODE_MAXPOOL) st = create_like(net, n, RP_U32, &n->aux);
  if (!st && n->kind == RP_NODE_DROPOUT) st = create_like(net, n, RP_F32, &n->aux);
  if (!st && n->kind == RP_NODE_BATCHNORM) {
    int64_t c[1] = {n->shape[1]};
    st = rp_tensor_create(ctx, 1, c, &n->aux);
    if (!st) st = rp_tensor_create(ctx, 1, c, &n->aux2);
  }
  return st;
}

rp_status rp_net_allocate(rp_net *net, uint64_t seed) {
  rp_context *ctx = net->ctx;
  if (net->node_count < 2 || net->nodes[0].kind != RP_NODE_INPUT)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: a network starts with its input", net->model);
  const rp_node *out = rp_net_output(net);
  if (out->ndim != 2 || out->shape[1] != net->classes)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: the last layer gives %lld outputs, not %d",
                   net->model, (long long)out->shape[out->ndim - 1], net->classes);
  rp_status st = RP_OK;
  int64_t largest = 1;
  for (int i = 0; i < net->node_count && !st; i++) {
    st = allocate_node(net, &net->nodes[i]);
    int64_t n = numel(net->nodes[i].ndim, net->nodes[i].shape);
    if (n > largest) largest = n;
  }
  if (!st) st = rp_tensor_create(ctx, 1, &largest, &net->grad_tmp);
  int64_t channels = 1;
  for (int i = 0; i < net->node_count; i++)
    if (net->nodes[i].ndim > 1 && net->nodes[i].shape[1] > channels)
      channels = net->nodes[i].shape[1];
  if (!st) st = rp_tensor_create(ctx, 1, &channels, &net->zeros);
  float *zeros = calloc((size_t)channels, sizeof *zeros);
  if (!st && !zeros) st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  if (!st) st = rp_tensor_upload(ctx, &net->zeros, zeros);
  free(zeros);
  for (int i = 0; i < net->param_count && !st; i++) {
    rp_param *p = &net->params[i];
    st = rp_tensor_create(ctx, p->ndim, p->shape, &p->value);
    if (!st && p->trainable) st = rp_tensor_create(ctx, p->ndim, p->shape, &p->grad);
    if (!st && p->trainable) st = rp_tensor_create(ctx, p->ndim, p->shape, &p->momentum);
  }
  if (!st) {
    net->bn_batches = calloc((size_t)(net->bn_count ? net->bn_count : 1), sizeof *net->bn_batches);
    if (!net->bn_batches) st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  }
  int64_t b[1] = {net->batch}, four[1] = {4}, three[1] = {3};
  int64_t stats_shape[2] = {RP_LOSS_STATS, net->batch};
  if (!st) st = rp_tensor_create_mapped(ctx, 1, b, &net->labels);
  net->labels.dtype = RP_U32;
  if (!st) st = rp_tensor_create_mapped(ctx, 1, four, &net->hyper);
  if (!st) st = rp_tensor_create_mapped(ctx, 1, four, &net->rng);
  net->rng.dtype = RP_U32;
  if (!st) st = rp_tensor_create(ctx, 2, stats_shape, &net->stats);
  if (!st) st = rp_tensor_create(ctx, 1, three, &net->stat_sums);
  if (st) return st;
  memset(net->labels.buffer.mapped, 0, (size_t)net->batch * sizeof(uint32_t));
  memset(net->hyper.buffer.mapped, 0, 4 * sizeof(float));
  memset(net->rng.buffer.mapped, 0, 4 * sizeof(uint32_t));
  net->allocated = true;
  return rp_net_init_params(net, seed);
}

void rp_net_destroy(rp_net *net) {
  rp_context *ctx = net->ctx;
  for (int i = 0; i < net->node_count; i++) {
    rp_node *n = &net->nodes[i];
    if (n->kind == RP_NODE_FLATTEN) continue; /* views */
    rp_tensor_destroy(ctx, &n->y);
    rp_tensor_destroy(ctx, &n->dy);
    rp_tensor_destroy(ctx, &n->aux);
    rp_tensor_destroy(ctx, &n->aux2);
  }
  for (int i = 0; i < net->param_count; i++) {
    rp_tensor_destroy(ctx, &net->params[i].value);
    rp_tensor_destroy(ctx, &net->params[i].grad);
    rp_tensor_destroy(ctx, &net->params[i].momentum);
  }
  rp_tensor_destroy(ctx, &net->grad_tmp);
  rp_tensor_destroy(ctx, &net->zeros);
  rp_tensor_destroy(ctx, &net->labels);
  rp_tensor_destroy(ctx, &net->hyper);
  rp_tensor_destroy(ctx, &net->rng);
  rp_tensor_destroy(ctx, &net->stats);
  rp_tensor_destroy(ctx, &net->stat_sums);
  free(net->nodes);
  free(net->params);
  free(net->bn_batches);
  memset(net, 0, sizeof *net);
}

const rp_node *rp_net_output(const rp_net *net) { return &net->nodes[net->node_count - 1]; }
const rp_node *rp_net_input_node(const rp_net *net) { return &net->nodes[0]; }

int64_t rp_net_parameter_count(const rp_net *net) {
  int64_t n = 0;
  for (int i = 0; i < net->param_count; i++)
    if (net->params[i].trainable) n += numel(net->params[i].ndim, net->params[i].shape);
  return n;
}

void rp_net_count_step(rp_net *net) {
  for (int i = 0; i < net->bn_count; i++) net->bn_batches[i]++;
}

/* ---- recording ---- */

rp_status rp_net_set_rows(rp_net *net, int rows) {
  if (!net->allocated || rows < 1 || rows > net->batch)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %d rows of a batch of %d", net->model, rows,
                   net->batch);
  /* Every batch tensor is [batch, ...] in row-major order, so its first rows are a prefix of its
   * memory; the statistics [3, rows] are too, as the loss writes them with `rows` as stride. */
  for (int i = 0; i < net->node_count; i++) {
    rp_node *n = &net->nodes[i];
    n->shape[0] = n->y.shape[0] = n->dy.shape[0] = rows;
    if (n->kind == RP_NODE_MAXPOOL || n->kind == RP_NODE_DROPOUT) n->aux.shape[0] = rows;
  }
  net->labels.shape[0] = rows;
  net->stats.shape[1] = rows;
  net->rows = rows;
  return RP_OK;
}

static const rp_tensor *param(const rp_net *net, int i) {
  return i >= 0 ? &net->params[i].value : NULL;
}

static const rp_tensor *param_grad(const rp_net *net, int i) {
  return i >= 0 ? &net->params[i].grad : NULL;
}

static rp_status forward_node(rp_net *net, rp_recorder *rec, rp_node *n, rp_mode mode) {
  const rp_tensor *x = n->in[0] >= 0 ? &net->nodes[n->in[0]].y : NULL;
  switch (n->kind) {
  case RP_NODE_INPUT:
  case RP_NODE_FLATTEN: return RP_OK;
  case RP_NODE_NORMALIZE: return rp_normalize_forward(rec, x, n->mean, n->std, &n->y);
  case RP_NODE_CONV:
    return rp_conv2d_forward(rec, x, param(net, n->weight), param(net, n->bias), n->stride, n->pad,
                             &n->y);
  case RP_NODE_BATCHNORM:
    if (mode == RP_TRAIN)
      return rp_batchnorm_forward_train(rec, x, param(net, n->weight), param(net, n->bias),
                                        BN_MOMENTUM, BN_EPS, param(net, n->running_mean),
                                        param(net, n->running_var), &n->aux, &n->aux2, &n->y);
    return rp_batchnorm_forward_eval(rec, x, param(net, n->weight), param(net, n->bias),
                                     param(net, n->running_mean), param(net, n->running_var),
                                     BN_EPS, &n->y);
  case RP_NODE_RELU: return rp_relu_forward(rec, x, &n->y);
  case RP_NODE_MAXPOOL:
    return rp_maxpool2d_forward(rec, x, n->kernel, n->stride, n->pad, &n->y, &n->aux);
  case RP_NODE_AVGPOOL: return rp_avgpool2d_forward(rec, x, n->kernel, n->stride, n->pad, &n->y);
  case RP_NODE_GLOBAL_AVGPOOL: return rp_global_avgpool_forward(rec, x, &n->y);
  case RP_NODE_DROPOUT:
    if (mode == RP_TRAIN && n->p > 0.0f)
      return rp_dropout_forward(rec, x, n->p, n->stream, &net->rng, &n->y, &n->aux);
    return rp_copy(rec, x, &n->y);
  case RP_NODE_LINEAR: {
    rp_status st =
        rp_gemm(rec, false, true, 1.0f, x, param(net, n->weight), 0.0f, &n->y); /* x W^T */
    return st ? st : rp_bias_add(rec, param(net, n->bias), &n->y);
  }
  case RP_NODE_ADD: return rp_add(rec, x, &net->nodes[n->in[1]].y, &n->y);
  }
  return rp_fail(RP_ERR_INVALID_ARGUMENT, "unknown node kind %d", (int)n->kind);
}

rp_status rp_net_record_forward(rp_net *net, rp_recorder *rec, rp_mode mode) {
  return rp_net_record_forward_from(net, rec, mode, 0);
}

rp_status rp_net_record_forward_from(rp_net *net, rp_recorder *rec, rp_mode mode, int first) {
  if (!net->allocated) return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: not allocated", net->model);
  net->recorded_mode = mode;
  for (int i = first; i < net->node_count; i++) {
    rp_status st = forward_node(net, rec, &net->nodes[i], mode);
    if (st) return st;
  }
  return RP_OK;
}

rp_status rp_net_record_loss(rp_net *net, rp_recorder *rec, const rp_loss *loss, uint32_t valid,
                             bool backward, const rp_tensor *accumulator) {
  if (valid > (uint32_t)net->rows)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: a loss over %u rows of %d recorded", net->model,
                   valid, net->rows);
  rp_node *out = &net->nodes[net->node_count - 1];
  rp_status st = rp_softmax_loss(rec, loss, &out->y, &net->labels, valid, &net->stats,
                                 backward ? &out->dy : NULL);
  if (!st && accumulator) st = rp_sum_rows(rec, &net->stats, RP_LOSS_STATS, &net->stat_sums);
  if (!st && accumulator) st = rp_add(rec, accumulator, &net->stat_sums, accumulator);
  return st;
}

static bool has_params(const rp_node *n) { return n->weight >= 0; }

/* Backward state: which nodes' dy hold a gradient already, and which nodes' dy anyone needs. */
typedef struct backward_state {
  bool *written, *wanted;
} backward_state;

/* Where the gradient for node `in` goes: straight into its dy if nothing wrote it yet, else
 * into grad_tmp (shaped like it), to be added by finish_target. */
static rp_tensor target_for(rp_net *net, backward_state *bs, int in, bool *accumulate) {
  rp_node *n = &net->nodes[in];
  *accumulate = bs->written[in];
  if (!*accumulate) return n->dy;
  rp_tensor t = net->grad_tmp;
  t.ndim = n->ndim;
  memcpy(t.shape, n->shape, sizeof t.shape);
  return t;
}

static rp_status finish_target(rp_net *net, rp_recorder *rec, backward_state *bs, int in,
                               const rp_tensor *t, bool accumulate) {
  rp_node *n = &net->nodes[in];
  bs->written[in] = true;
  /* FLATTEN shares its input's memory: a gradient written to one is the other's */
  if (n->kind == RP_NODE_FLATTEN) bs->written[n->in[0]] = true;
  return accumulate ? rp_add(rec, &n->dy, t, &n->dy) : RP_OK;
}

static rp_status backward_node(rp_net *net, rp_recorder *rec, backward_state *bs, int i) {
  rp_node *n = &net->nodes[i];
  rp_status st = RP_OK;
  int a = n->in[0];
  const rp_tensor *x = a >= 0 ? &net->nodes[a].y : NULL;
  bool want_dx = a >= 0 && bs->wanted[a];
  bool acc = false;
  rp_tensor dx = want_dx ? target_for(net, bs, a, &acc) : net->grad_tmp;
  if (!want_dx && a >= 0) { /* ops that always produce dx get grad_tmp as a sink */
    dx.ndim = net->nodes[a].ndim;
    memcpy(dx.shape, net->nodes[a].shape, sizeof dx.shape);
  }
  bool wrote_dx = false;
  switch (n->kind) {
  case RP_NODE_INPUT:
  case RP_NODE_FLATTEN: return RP_OK;
  case RP_NODE_NORMALIZE:
    if (want_dx) st = rp_normalize_backward(rec, &n->dy, n->std, &dx), wrote_dx = true;
    break;
  case RP_NODE_CONV:
    if (want_dx)
      st = rp_conv2d_backward_data(rec, &n->dy, param(net, n->weight), n->stride, n->pad, &dx),
      wrote_dx = true;
    if (!st && net->recorded_mode == RP_TRAIN) /* eval mode: an attack's, input only */
      st = rp_conv2d_backward_filter(rec, x, &n->dy, n->stride, n->pad, param_grad(net, n->weight),
                                     param_grad(net, n->bias));
    break;
  case RP_NODE_BATCHNORM:
    if (net->recorded_mode == RP_EVAL) {
      /* Eval mode normalizes with the running statistics, constants: dx = dy gamma / sqrt(var +
       * eps), the eval forward of dy with mean and beta 0 (only the input's gradient matters
       * there: an attack's). */
      rp_tensor zeros = net->zeros;
      zeros.shape[0] = n->shape[1];
      if (want_dx)
        st = rp_batchnorm_forward_eval(rec, &n->dy, param(net, n->weight), &zeros, &zeros,
                                       param(net, n->running_var), BN_EPS, &dx);
    } else {
      st = rp_batchnorm_backward(rec, x, &n->dy, param(net, n->weight), &n->aux, &n->aux2, &dx,
                                 param_grad(net, n->weight), param_grad(net, n->bias));
    }
    wrote_dx = want_dx;
    break;
  case RP_NODE_RELU:
    if (want_dx) st = rp_relu_backward(rec, &n->y, &n->dy, &dx), wrote_dx = true;
    break;
  case RP_NODE_MAXPOOL:
    if (want_dx)
      st = rp_maxpool2d_backward(rec, &n->dy, &n->aux, n->kernel, n->stride, n->pad, &dx),
      wrote_dx = true;
    break;
  case RP_NODE_AVGPOOL:
    if (want_dx)
      st = rp_avgpool2d_backward(rec, &n->dy, n->kernel, n->stride, n->pad, &dx), wrote_dx = true;
    break;
  case RP_NODE_GLOBAL_AVGPOOL:
    if (want_dx) st = rp_global_avgpool_backward(rec, &n->dy, &dx), wrote_dx = true;
    break;
  case RP_NODE_DROPOUT:
    if (want_dx) {
      /* the mask of this forward pass; none in eval mode, where dropout was the identity */
      bool masked = n->p > 0.0f && net->recorded_mode == RP_TRAIN;
      st = masked ? rp_mul(rec, &n->dy, &n->aux, &dx) : rp_copy(rec, &n->dy, &dx);
      wrote_dx = true;
    }
    break;
  case RP_NODE_LINEAR:
    if (want_dx) /* dx = dy W */
      st = rp_gemm(rec, false, false, 1.0f, &n->dy, param(net, n->weight), 0.0f, &dx),
      wrote_dx = true;
    if (!st && net->recorded_mode == RP_TRAIN) /* dW = dy^T x */
      st = rp_gemm(rec, true, false, 1.0f, &n->dy, x, 0.0f, param_grad(net, n->weight));
    if (!st && net->recorded_mode == RP_TRAIN)
      st = rp_bias_grad(rec, &n->dy, param_grad(net, n->bias));
    break;
  case RP_NODE_ADD:
    for (int k = 0; k < 2 && !st; k++) {
      int in = n->in[k];
      if (!bs->wanted[in]) continue;
      rp_node *src = &net->nodes[in];
      if (bs->written[in])
        st = rp_add(rec, &src->dy, &n->dy, &src->dy);
      else
        st = rp_copy(rec, &n->dy, &src->dy);
      if (!st) st = finish_target(net, rec, bs, in, &src->dy, false);
    }
    return st;
  }
  if (!st && wrote_dx) st = finish_target(net, rec, bs, a, &dx, acc);
  return st;
}

rp_status rp_net_record_backward(rp_net *net, rp_recorder *rec, bool input_grad) {
  backward_state bs = {calloc((size_t)net->node_count, sizeof(bool)),
                       calloc((size_t)net->node_count, sizeof(bool))};
  if (!bs.written || !bs.wanted) {
    free(bs.written), free(bs.wanted);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  }
  /* A node's dy is wanted when it has parameters or feeds one that wants its dy. (In eval mode
   * only the input's gradient is computed, but the same nodes carry it.) */
  for (int i = 0; i < net->node_count; i++) {
    const rp_node *n = &net->nodes[i];
    bs.wanted[i] = n->kind == RP_NODE_INPUT ? input_grad : has_params(n);
    for (int k = 0; k < 2; k++)
      if (n->in[k] >= 0 && bs.wanted[n->in[k]]) bs.wanted[i] = true;
  }
  bs.written[net->node_count - 1] = true; /* the loss wrote the logits' gradient */
  rp_status st = RP_OK;
  for (int i = net->node_count - 1; i >= 0 && !st; i--)
    if (bs.written[i] && net->nodes[i].kind != RP_NODE_INPUT) st = backward_node(net, rec, &bs, i);
  free(bs.written);
  free(bs.wanted);
  return st;
}

rp_status rp_net_record_update(rp_net *net, rp_recorder *rec, float momentum, float weight_decay,
                               bool nesterov) {
  for (int i = 0; i < net->param_count; i++) {
    rp_param *p = &net->params[i];
    if (!p->trainable) continue;
    rp_status st = rp_sgd_step(rec, &p->value, &p->grad, &p->momentum, &net->hyper, momentum,
                               weight_decay, nesterov);
    if (st) return st;
  }
  return RP_OK;
}
