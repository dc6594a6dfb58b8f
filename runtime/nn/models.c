#include "nn/models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rp_model_names =
    "mnist_cnn, allcnn_c, resnetD or preresnetD (D = 6n+2 in 8..10000), wrn-D-K (D = 6n+4 in "
    "10..10000, K in 1..10000)";

/* Chains of layers read best as a sequence of calls that stop at the first failure: each
 * builder step takes and returns the index of the node it appends, -1 once anything failed. */
#define TRY(expr) (x >= 0 ? (expr) : -1)

/* The MNIST CNN of the TaylorGLO paper: conv5x5 32 (pad 2), max-pool 2, conv5x5 64 (pad 2),
 * max-pool 2, fc 1024, dropout 0.4, fc 10. */
static int mnist_cnn(rp_net *net, int x, rp_status *st) {
  x = TRY(rp_net_conv(net, x, "conv1", 32, 5, 1, 2, true, st));
  x = TRY(rp_net_relu(net, x, st));
  x = TRY(rp_net_maxpool(net, x, 2, 2, 0, st));
  x = TRY(rp_net_conv(net, x, "conv2", 64, 5, 1, 2, true, st));
  x = TRY(rp_net_relu(net, x, st));
  x = TRY(rp_net_maxpool(net, x, 2, 2, 0, st));
  x = TRY(rp_net_flatten(net, x, st));
  x = TRY(rp_net_linear(net, x, "fc1", 1024, st));
  x = TRY(rp_net_relu(net, x, st));
  x = TRY(rp_net_dropout(net, x, 0.4f, st));
  return TRY(rp_net_linear(net, x, "fc2", net->classes, st));
}

/* AllCNN-C (Springenberg et al.) as taylorglo.md section 7 describes it: 3x3 convs 96, 96, 96/2,
 * dropout 0.5, 192, 192, 192/2, dropout 0.5, 3x3 192, 1x1 192, 1x1 classes, ReLU after every
 * conv (the last one too), global average pool; no batch norm. The official TaylorGLO code
 * (fumanchu/models/cifar/allcnnc.py) differs in two places: no ReLU after the two stride-2
 * convs, and AvgPool2d(6, 10), which on the final 8x8 map averages only its top-left 6x6. */
static int allcnn_c(rp_net *net, int x, rp_status *st) {
  static const struct {
    int channels, kernel, stride, pad;
    bool dropout_after;
  } layers[] = {{96, 3, 1, 1, false},  {96, 3, 1, 1, false},  {96, 3, 2, 1, true},
                {192, 3, 1, 1, false}, {192, 3, 1, 1, false}, {192, 3, 2, 1, true},
                {192, 3, 1, 1, false}, {192, 1, 1, 0, false}, {0, 1, 1, 0, false}};
  for (int i = 0; i < 9; i++) {
    char name[16];
    snprintf(name, sizeof name, "conv%d", i + 1);
    int channels = layers[i].channels ? layers[i].channels : net->classes;
    x = TRY(rp_net_conv(net, x, name, channels, layers[i].kernel, layers[i].stride, layers[i].pad,
                        true, st));
    x = TRY(rp_net_relu(net, x, st));
    if (layers[i].dropout_after) x = TRY(rp_net_dropout(net, x, 0.5f, st));
  }
  return TRY(rp_net_global_avgpool(net, x, st));
}

/* A CIFAR ResNet basic block (He et al. 2016), post-activation: conv-bn-relu-conv-bn, plus the
 * input or, where the shape changes, a 1x1 conv + bn projection ("shortcut.0", "shortcut.1"). */
static int basic_block(rp_net *net, int x, const char *prefix, int64_t planes, int stride,
                       rp_status *st) {
  char name[80];
  int in = x;
  snprintf(name, sizeof name, "%s.conv1", prefix);
  x = TRY(rp_net_conv(net, x, name, planes, 3, stride, 1, false, st));
  snprintf(name, sizeof name, "%s.bn1", prefix);
  x = TRY(rp_net_batchnorm(net, x, name, st));
  x = TRY(rp_net_relu(net, x, st));
  snprintf(name, sizeof name, "%s.conv2", prefix);
  x = TRY(rp_net_conv(net, x, name, planes, 3, 1, 1, false, st));
  snprintf(name, sizeof name, "%s.bn2", prefix);
  x = TRY(rp_net_batchnorm(net, x, name, st));
  int shortcut = in;
  if (x >= 0 && (stride != 1 || net->nodes[in].shape[1] != planes)) {
    snprintf(name, sizeof name, "%s.shortcut.0", prefix);
    shortcut = rp_net_conv(net, in, name, planes, 1, stride, 0, false, st);
    snprintf(name, sizeof name, "%s.shortcut.1", prefix);
    if (shortcut >= 0) shortcut = rp_net_batchnorm(net, shortcut, name, st);
    if (shortcut < 0) return -1;
  }
  x = TRY(rp_net_add(net, x, shortcut, st));
  return TRY(rp_net_relu(net, x, st));
}

/* A pre-activation block (He et al., identity mappings): bn-relu-conv-bn-relu-conv, with an
 * optional dropout between the convs (Wide ResNets), the projection (a 1x1 conv named
 * `shortcut`, where the width or the stride changes) taking the pre-activated input. */
static int preact_block(rp_net *net, int x, const char *prefix, int64_t planes, int stride,
                        float dropout, const char *shortcut_name, rp_status *st) {
  char name[80];
  int in = x;
  snprintf(name, sizeof name, "%s.bn1", prefix);
  x = TRY(rp_net_batchnorm(net, x, name, st));
  x = TRY(rp_net_relu(net, x, st));
  int activated = x;
  snprintf(name, sizeof name, "%s.conv1", prefix);
  x = TRY(rp_net_conv(net, x, name, planes, 3, stride, 1, false, st));
  snprintf(name, sizeof name, "%s.bn2", prefix);
  x = TRY(rp_net_batchnorm(net, x, name, st));
  x = TRY(rp_net_relu(net, x, st));
  if (dropout > 0) x = TRY(rp_net_dropout(net, x, dropout, st));
  snprintf(name, sizeof name, "%s.conv2", prefix);
  x = TRY(rp_net_conv(net, x, name, planes, 3, 1, 1, false, st));
  int shortcut = in;
  if (x >= 0 && (stride != 1 || net->nodes[in].shape[1] != planes)) {
    snprintf(name, sizeof name, "%s.%s", prefix, shortcut_name);
    shortcut = rp_net_conv(net, activated, name, planes, 1, stride, 0, false, st);
    if (shortcut < 0) return -1;
  }
  return TRY(rp_net_add(net, x, shortcut, st));
}

/* CIFAR ResNet-(6n+2) and PreResNet-(6n+2): 16, 32, 64 channels in three stages of n blocks. */
static int resnet(rp_net *net, int x, int depth, bool preact, rp_status *st) {
  int n = (depth - 2) / 6;
  net->conv_init = RP_CONV_INIT_HE_FAN_OUT; /* as the official resnet.py and preresnet.py */
  x = TRY(rp_net_conv(net, x, "conv1", 16, 3, 1, 1, false, st));
  if (!preact) {
    x = TRY(rp_net_batchnorm(net, x, "bn1", st));
    x = TRY(rp_net_relu(net, x, st));
  }
  for (int stage = 0; stage < 3; stage++)
    for (int b = 0; b < n; b++) {
      char prefix[32];
      snprintf(prefix, sizeof prefix, "layer%d.%d", stage + 1, b);
      int stride = stage > 0 && b == 0 ? 2 : 1;
      int64_t planes = 16 << stage;
      x = preact ? TRY(preact_block(net, x, prefix, planes, stride, 0, "shortcut.0", st))
                 : TRY(basic_block(net, x, prefix, planes, stride, st));
    }
  if (preact) {
    x = TRY(rp_net_batchnorm(net, x, "bn", st));
    x = TRY(rp_net_relu(net, x, st));
  }
  x = TRY(rp_net_global_avgpool(net, x, st));
  return TRY(rp_net_linear(net, x, "linear", net->classes, st));
}

/* Wide ResNet-D-K (Zagoruyko & Komodakis), names as in the widely used PyTorch port:
 * pre-activation blocks with dropout 0.3 between the convs and "convShortcut" projections. */
static int wrn(rp_net *net, int x, int depth, int k, rp_status *st) {
  int n = (depth - 4) / 6;
  net->conv_init = RP_CONV_INIT_HE_FAN_OUT; /* as the official wrn.py, which zeroes fc.bias too */
  net->linear_bias_zero = true;
  x = TRY(rp_net_conv(net, x, "conv1", 16, 3, 1, 1, false, st));
  for (int stage = 0; stage < 3; stage++)
    for (int b = 0; b < n; b++) {
      char prefix[40];
      snprintf(prefix, sizeof prefix, "block%d.layer.%d", stage + 1, b);
      x = TRY(preact_block(net, x, prefix, (int64_t)(16 * k) << stage, stage > 0 && b == 0 ? 2 : 1,
                           0.3f, "convShortcut", st));
    }
  x = TRY(rp_net_batchnorm(net, x, "bn1", st));
  x = TRY(rp_net_relu(net, x, st));
  x = TRY(rp_net_global_avgpool(net, x, st));
  return TRY(rp_net_linear(net, x, "fc", net->classes, st));
}

/* A positive decimal number of at most 10000 at *s (digits only, no leading zero), advancing *s
 * past it. */
static bool parse_count(const char **s, int *out) {
  /* One spelling a number: "resnet020" would be resnet20 under another name, and the records
   * and states that name their model would not match the same network's. */
  if (**s == '0') return false;
  int v = 0, digits = 0;
  for (; **s >= '0' && **s <= '9' && digits < 6; (*s)++, digits++) v = v * 10 + (**s - '0');
  if (digits == 0 || v < 1 || v > 10000) return false;
  *out = v;
  return true;
}

bool rp_model_parse(const char *name, rp_model_spec *out) {
  rp_model_spec m = {0};
  const char *p = name;
  if (strcmp(name, "mnist_cnn") == 0) {
    m.family = RP_MODEL_MNIST_CNN;
  } else if (strcmp(name, "allcnn_c") == 0) {
    m.family = RP_MODEL_ALLCNN_C;
  } else if (strncmp(name, "resnet", 6) == 0 || strncmp(name, "preresnet", 9) == 0) {
    m.family = name[0] == 'p' ? RP_MODEL_PRERESNET : RP_MODEL_RESNET;
    p += name[0] == 'p' ? 9 : 6;
    if (!parse_count(&p, &m.depth) || *p || m.depth < 8 || (m.depth - 2) % 6) return false;
  } else if (strncmp(name, "wrn-", 4) == 0) {
    m.family = RP_MODEL_WRN;
    p += 4;
    if (!parse_count(&p, &m.depth) || *p++ != '-' || !parse_count(&p, &m.width) || *p ||
        m.depth < 10 || (m.depth - 4) % 6)
      return false;
  } else {
    return false;
  }
  if (out) *out = m;
  return true;
}

rp_status rp_model_build(rp_context *ctx, const char *name, const rp_model_input *in, uint64_t seed,
                         rp_net *net) {
  rp_net_init(net, ctx, name, in->batch, in->classes);
  rp_status st = RP_OK;
  int x = rp_net_input(net, in->channels, in->height, in->width, &st);
  x = TRY(rp_net_normalize(net, x, in->mean, in->std, &st));
  int logits = -1;
  rp_model_spec m;
  if (x < 0) {
  } else if (!rp_model_parse(name, &m)) {
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "unknown model '%s' (models: %s)", name, rp_model_names);
  } else {
    switch (m.family) {
    case RP_MODEL_MNIST_CNN: logits = mnist_cnn(net, x, &st); break;
    case RP_MODEL_ALLCNN_C: logits = allcnn_c(net, x, &st); break;
    case RP_MODEL_RESNET: logits = resnet(net, x, m.depth, false, &st); break;
    case RP_MODEL_PRERESNET: logits = resnet(net, x, m.depth, true, &st); break;
    case RP_MODEL_WRN: logits = wrn(net, x, m.depth, m.width, &st); break;
    }
  }
  if (!st && logits < 0) st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: could not be built", name);
  if (!st) st = rp_net_allocate(net, seed);
  if (st) rp_net_destroy(net);
  return st;
}
