/* Networks as static graphs.
 *
 * A network is a list of nodes in execution order, each producing one tensor from at most two
 * earlier ones (a residual add takes two). Shapes are fixed when the graph is built — the batch
 * size included — so every activation, gradient and parameter buffer is allocated once, and a
 * whole training step (forward, loss, backward, update) is recorded once and submitted again
 * and again: the host only rewrites the mapped input, label, learning-rate and RNG buffers.
 *
 * Parameters carry the names of PyTorch's state_dict for the equivalent torch.nn module
 * (docs/models.md), so checkpoints load there with load_state_dict(strict=True). */
#ifndef RP_NET_H
#define RP_NET_H

#include <stdbool.h>

#include "ops/loss.h"
#include "ops/tensor.h"

typedef enum rp_node_kind {
  RP_NODE_INPUT,     /* the batch, [B, C, H, W] on the [0, 1] pixel scale (a mapped tensor) */
  RP_NODE_NORMALIZE, /* (x - mean[c]) / std[c], inside the model so attacks see pixels */
  RP_NODE_CONV,
  RP_NODE_BATCHNORM,
  RP_NODE_RELU,
  RP_NODE_MAXPOOL,
  RP_NODE_AVGPOOL,
  RP_NODE_GLOBAL_AVGPOOL, /* [B, C, H, W] -> [B, C] */
  RP_NODE_DROPOUT,
  RP_NODE_FLATTEN, /* [B, C, H, W] -> [B, C*H*W], a view of the same memory */
  RP_NODE_LINEAR,
  RP_NODE_ADD, /* residual: y = in[0] + in[1] */
} rp_node_kind;

typedef struct rp_node {
  rp_node_kind kind;
  char name[72]; /* PyTorch module path of a layer with parameters ("layer1.0.conv1") */
  int in[2];     /* producing nodes; -1 when unused */
  int ndim;
  int64_t shape[RP_MAX_DIMS]; /* of the output */

  /* Hyper-parameters of the node's kind. */
  int kernel, stride, pad;
  float p;         /* dropout probability */
  uint32_t stream; /* dropout: which random stream */
  float mean[4], std[4];

  /* Indices into rp_net.params: weight and bias (conv, linear, batch-norm gamma and beta),
   * running mean and variance (batch norm); -1 when absent. */
  int weight, bias, running_mean, running_var;
  int bn_index; /* batch norm: index of its num_batches_tracked counter */

  rp_tensor y;         /* output (a view of the input's for FLATTEN) */
  rp_tensor dy;        /* gradient of the loss with respect to y */
  rp_tensor aux, aux2; /* maxpool indices / dropout mask / batch-norm saved mean and invstd */
} rp_node;

/* How a parameter's initial values are drawn (nn/init.c). */
typedef enum rp_init_kind {
  RP_INIT_CONSTANT, /* every element `scale` */
  RP_INIT_UNIFORM,  /* uniform in ±scale */
  RP_INIT_NORMAL,   /* normal, mean 0, standard deviation `scale` */
} rp_init_kind;

typedef struct rp_init {
  rp_init_kind kind;
  double scale;
} rp_init;

/* How a network's convolution weights and linear biases start: PyTorch's defaults unless
 * the model's official code sets them (models.c). */
typedef enum rp_conv_init {
  RP_CONV_INIT_PYTORCH,    /* uniform in ±1/sqrt(fan_in), kaiming_uniform with a = sqrt(5) */
  RP_CONV_INIT_HE_FAN_OUT, /* normal with std sqrt(2 / (k*k*out_channels)), He et al. 2015 */
} rp_conv_init;

/* A parameter or a persistent buffer (running statistics), with its PyTorch name. */
typedef struct rp_param {
  char name[96];
  int ndim;
  int64_t shape[RP_MAX_DIMS];
  bool trainable; /* false for running statistics */
  rp_init init;
  rp_tensor value, grad, momentum;
} rp_param;

typedef enum rp_mode { RP_TRAIN, RP_EVAL } rp_mode;

typedef struct rp_net {
  rp_context *ctx;
  char model[32];
  int batch, classes;
  int rows; /* of the batch that recordings process now: `batch` unless rp_net_set_rows */
  rp_node *nodes;
  int node_count, node_capacity;
  rp_param *params;
  int param_count, param_capacity;
  int64_t *bn_batches; /* num_batches_tracked of each batch-norm layer, counted on the host */
  int bn_count;
  uint32_t dropout_streams;
  /* Initialization rules, set before the layers they govern are added. */
  rp_conv_init conv_init;
  bool linear_bias_zero; /* linear biases 0 instead of PyTorch's uniform */

  /* Per-step inputs the host rewrites between submissions (mapped memory). */
  rp_tensor labels; /* RP_U32 [B] */
  rp_tensor hyper;  /* F32 [4]: learning rate */
  rp_tensor rng;    /* RP_U32 [4]: seed low, seed high, step, 0 */

  rp_tensor stats, stat_sums; /* [3, B] per-sample loss statistics and their sums [3] */
  rp_tensor grad_tmp;         /* a gradient for a tensor that already has one, before adding */
  rp_tensor zeros;            /* [largest channel count] of 0: the eval-mode batch-norm backward */
  rp_mode recorded_mode;      /* of the forward pass recorded last: what the backward pass undoes */
  bool allocated;
} rp_net;

/* ---- building: each returns the new node's index, or -1 with the error in *st ---- */

void rp_net_init(rp_net *net, rp_context *ctx, const char *model, int batch, int classes);
int rp_net_input(rp_net *net, int channels, int height, int width, rp_status *st);
int rp_net_normalize(rp_net *net, int in, const float *mean, const float *std, rp_status *st);
int rp_net_conv(rp_net *net, int in, const char *name, int64_t out_channels, int kernel, int stride,
                int pad, bool bias, rp_status *st);
int rp_net_batchnorm(rp_net *net, int in, const char *name, rp_status *st);
int rp_net_relu(rp_net *net, int in, rp_status *st);
int rp_net_maxpool(rp_net *net, int in, int kernel, int stride, int pad, rp_status *st);
int rp_net_avgpool(rp_net *net, int in, int kernel, int stride, int pad, rp_status *st);
int rp_net_global_avgpool(rp_net *net, int in, rp_status *st);
int rp_net_dropout(rp_net *net, int in, float p, rp_status *st);
int rp_net_flatten(rp_net *net, int in, rp_status *st);
int rp_net_linear(rp_net *net, int in, const char *name, int64_t out_features, rp_status *st);
int rp_net_add(rp_net *net, int a, int b, rp_status *st);

/* Allocates every buffer (after the last node is added) and initializes the parameters from
 * `seed` by the rules each was added with: PyTorch's defaults (conv and linear weights and
 * biases uniform in ±1/sqrt(fan_in); batch norm 1 and 0; running mean 0, variance 1) unless
 * conv_init or linear_bias_zero said otherwise. */
rp_status rp_net_allocate(rp_net *net, uint64_t seed);
void rp_net_destroy(rp_net *net);

/* The node whose output is the logits (the last) and the input node (the first). */
const rp_node *rp_net_output(const rp_net *net);
const rp_node *rp_net_input_node(const rp_net *net);

/* ---- recording ---- */

/* Makes the recordings that follow process the first `rows` (1..batch) rows of every batch
 * tensor: each node's output and gradient (and max-pool indices, dropout mask), the labels
 * and the loss statistics become views of that many rows, in the same memory; batch norm then
 * takes its statistics over those rows only. For the partial last batch of an epoch, trained
 * as the official trainer does, as a batch of its own size. rp_net_set_rows(net, net->batch)
 * restores the whole batch. */
rp_status rp_net_set_rows(rp_net *net, int rows);

/* The forward pass: batch norm uses batch statistics and updates its running ones in
 * RP_TRAIN, its running statistics in RP_EVAL; dropout is the identity in RP_EVAL. */
rp_status rp_net_record_forward(rp_net *net, rp_recorder *rec, rp_mode mode);
/* The same from node `first` on, the earlier nodes' outputs taken as they are (an attack in
 * normalized space rewrites the normalization's output and runs the rest). */
rp_status rp_net_record_forward_from(rp_net *net, rp_recorder *rec, rp_mode mode, int first);

/* The loss on the logits with the mapped labels: per-sample stats into net->stats [3, B],
 * their sums over the batch added to `accumulator` (F32 [3]: loss, correct, true-class
 * probability), and, when `backward`, the gradient of the mean loss over `valid` rows into the
 * logits' dy. */
rp_status rp_net_record_loss(rp_net *net, rp_recorder *rec, const rp_loss *loss, uint32_t valid,
                             bool backward, const rp_tensor *accumulator);

/* The backward pass from the logits' dy, of the forward pass recorded last and in its mode:
 * in RP_TRAIN every trainable parameter's grad and, when `input_grad`, the gradient with
 * respect to the input batch (in the input node's dy); in RP_EVAL — where dropout is the
 * identity and batch norm a constant affine map — only the input's gradient, for attacks. */
rp_status rp_net_record_backward(rp_net *net, rp_recorder *rec, bool input_grad);

/* SGD with momentum and weight decay on every trainable parameter (rp_sgd_step), with the
 * learning rate read from net->hyper. */
rp_status rp_net_record_update(rp_net *net, rp_recorder *rec, float momentum, float weight_decay,
                               bool nesterov);

/* Host side of one recorded training step: the batch-norm layers' num_batches_tracked. */
void rp_net_count_step(rp_net *net);

/* Number of trainable scalars. */
int64_t rp_net_parameter_count(const rp_net *net);

#endif
