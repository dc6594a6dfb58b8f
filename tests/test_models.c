/* The paper's networks have exactly the parameters of their PyTorch definitions in
 * bench/models.py: the trainable scalars and the number of state_dict entries (parameters,
 * running statistics and num_batches_tracked), which a checkpoint must match one for one; they
 * start from the values the official code gives them; and they are wired as their papers
 * define them: the eval forward pass of each CIFAR family against a double-precision
 * reference written from those definitions (test_pytorch checks them against PyTorch too).
 * The parameter counts were printed by PyTorch 1.13 from bench/models.py:
 *   m = models.build(name, mean, std, 10, channels)
 *   sum(p.numel() for p in m.parameters()), len(m.state_dict()) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/models.h"
#include "ref/activation_ref.h"
#include "ref/batchnorm_ref.h"
#include "ref/conv2d_ref.h"
#include "ref/pool_ref.h"
#include "support/fixture.h"

TestSuite(models, .fini = test_teardown);

static const struct {
  const char *name;
  int64_t parameters;
  int state_dict_entries;
} expected[] = {
    {"mnist_cnn", 3274634, 8}, {"allcnn_c", 1369738, 18},    {"resnet20", 272474, 128},
    {"resnet32", 466906, 200}, {"preresnet20", 272282, 118}, {"wrn-16-8", 10961370, 83},
    {"wrn-10-2", 303706, 47},
};

Test(models, parameters_match_pytorch) {
  static const float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.5f, 0.5f, 0.5f};
  for (size_t i = 0; i < sizeof expected / sizeof *expected; i++) {
    bool mnist = i == 0;
    rp_model_input in = {2, mnist ? 1 : 3, mnist ? 28 : 32, mnist ? 28 : 32, 10, mean, std};
    rp_net net;
    ASSERT_OK(rp_model_build(test_ctx(), expected[i].name, &in, 1, &net));
    cr_expect_eq(rp_net_parameter_count(&net), expected[i].parameters, "%s: %lld parameters",
                 expected[i].name, (long long)rp_net_parameter_count(&net));
    cr_expect_eq(net.param_count + net.bn_count, expected[i].state_dict_entries,
                 "%s: %d state_dict entries", expected[i].name, net.param_count + net.bn_count);
    rp_net_destroy(&net);
  }
}

Test(models, unknown_names_are_refused) {
  static const float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.5f, 0.5f, 0.5f};
  rp_model_input in = {2, 3, 32, 32, 10, mean, std};
  const char *bad[] = {"resnet21", "wrn-15-8", "vgg16", "resnet20x", "resnet020", "wrn-16-08"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    rp_net net;
    cr_assert_eq(rp_model_build(test_ctx(), bad[i], &in, 1, &net), RP_ERR_INVALID_ARGUMENT, "%s",
                 bad[i]);
    cr_assert(strstr(rp_error_message(), bad[i]), "message: %s", rp_error_message());
  }
}

/* ---- initialization ---- */

/* The distribution a parameter should start from, written from the PyTorch code it follows:
 * PyTorch's reset_parameters (conv and linear: uniform in ±1/sqrt(fan_in)) unless the official
 * TaylorGLO models/cifar/{resnet,preresnet,wrn}.py set it: conv weights normal with std
 * sqrt(2 / (k*k*out_channels)), and in wrn.py linear biases 0. Batch norm starts at 1 and 0. */
typedef struct expected_init {
  char kind; /* 'u' uniform, 'n' normal, 'c' constant */
  double scale;
} expected_init;

static int64_t fan_in_of(const rp_param *weight) { /* [out, in, kh, kw] or [out, in] */
  return weight->shape[1] * (weight->ndim == 4 ? weight->shape[2] * weight->shape[3] : 1);
}

/* Parameter k of a `model`: a conv or linear weight, the bias that follows its weight, or a
 * batch norm's weight, bias or running statistics. */
static expected_init expected_init_of(const char *model, const rp_param *params, int k) {
  bool wrn = strncmp(model, "wrn-", 4) == 0;
  bool official = wrn || strncmp(model, "resnet", 6) == 0 || strncmp(model, "preresnet", 9) == 0;
  const rp_param *p = &params[k], *before = k > 0 ? &params[k - 1] : NULL;
  if (p->ndim == 4 && official)
    return (expected_init){'n', sqrt(2.0 / (double)(p->shape[0] * p->shape[2] * p->shape[3]))};
  if (p->ndim >= 2) return (expected_init){'u', 1.0 / sqrt((double)fan_in_of(p))};
  const char *what = strrchr(p->name, '.') + 1;
  if (strcmp(what, "bias") == 0 && before && before->ndim >= 2) /* a conv or linear bias */
    return wrn && before->ndim == 2 ? (expected_init){'c', 0.0}
                                    : (expected_init){'u', 1.0 / sqrt((double)fan_in_of(before))};
  bool one = strcmp(what, "weight") == 0 || strcmp(what, "running_var") == 0; /* batch norm */
  return (expected_init){'c', one ? 1.0 : 0.0};
}

/* Checks n samples against the distribution: a constant exactly; a uniform within its bound
 * with the variance bound^2 / 3; a normal with its variance and 8.3% of samples beyond
 * sqrt(3) std, where a uniform of the same variance has none. The tolerances are 5 standard
 * errors of each statistic. */
static void expect_drawn_from(const char *name, const float *w, int64_t n, expected_init e) {
  double sum = 0, sum2 = 0, largest = 0;
  int64_t beyond = 0;
  for (int64_t k = 0; k < n; k++) {
    sum += w[k], sum2 += (double)w[k] * w[k];
    largest = fmax(largest, fabs(w[k]));
    beyond += fabs(w[k]) > sqrt(3.0) * e.scale;
  }
  if (e.kind == 'c') {
    for (int64_t k = 0; k < n; k++)
      cr_expect_eq(w[k], (float)e.scale, "%s[%lld] = %g, not %g", name, (long long)k, w[k],
                   e.scale);
    return;
  }
  double variance = e.kind == 'u' ? e.scale * e.scale / 3 : e.scale * e.scale;
  double mean = sum / (double)n, mean_square = sum2 / (double)n;
  /* the standard error of the mean square: sqrt(E[w^4] - variance^2) / sqrt(n), E[w^4] being
   * 1.8 variance^2 for a uniform and 3 variance^2 for a normal */
  double fourth = e.kind == 'u' ? 1.8 : 3.0;
  cr_expect_lt(fabs(mean), 5 * sqrt(variance / (double)n), "%s: mean %g", name, mean);
  cr_expect_lt(fabs(mean_square - variance), 5 * variance * sqrt((fourth - 1) / (double)n),
               "%s: mean square %g, expected %g", name, mean_square, variance);
  if (e.kind == 'u') {
    cr_expect_leq(largest, e.scale, "%s: %g beyond the bound %g", name, largest, e.scale);
  } else {
    double p = 0.0833, share = (double)beyond / (double)n; /* P(|z| > sqrt 3) */
    cr_expect_lt(fabs(share - p), 5 * sqrt(p * (1 - p) / (double)n) + 1.0 / (double)n,
                 "%s: %.4f of its values beyond sqrt(3) std, a normal has %.4f", name, share, p);
  }
}

Test(models, initial_values_follow_pytorch_and_the_official_code) {
  static const float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.5f, 0.5f, 0.5f};
  const char *names[] = {"mnist_cnn", "allcnn_c", "resnet20", "preresnet20", "wrn-10-2"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    bool mnist = i == 0;
    rp_model_input in = {2, mnist ? 1 : 3, mnist ? 28 : 32, mnist ? 28 : 32, 10, mean, std};
    rp_net net;
    ASSERT_OK(rp_model_build(test_ctx(), names[i], &in, 7, &net));
    for (int k = 0; k < net.param_count; k++) {
      const rp_param *p = &net.params[k];
      int64_t n = rp_tensor_numel(&p->value);
      float *w = malloc((size_t)n * sizeof *w);
      cr_assert_not_null(w);
      ASSERT_OK(rp_tensor_download(test_ctx(), &p->value, w));
      expected_init e = expected_init_of(names[i], net.params, k);
      char name[160];
      snprintf(name, sizeof name, "%s %s", names[i], p->name);
      expect_drawn_from(name, w, n, e);
      free(w);
    }
    rp_net_destroy(&net);
  }
}

/* ---- the eval-mode forward pass against a plain C reference ---- */

/* The parameter counts cannot see how the layers are wired: a ReLU before the residual add
 * instead of after it, a pre-activation block's BN and ReLU swapped, a projection fed the wrong
 * input, a stride on the wrong conv, a missing final BN all keep every parameter. So the
 * device's eval-mode logits of each CIFAR model are compared with a forward pass in double,
 * written below from the architectures' definitions (the papers, as the comments of
 * runtime/nn/models.c cite them), not from the device's graph: it fetches each weight by its
 * PyTorch state_dict name and is made of the ops' own references in tests/ref. Weights, biases
 * and the batch-norm running statistics are all random, so that no layer is an identity behind
 * which a miswiring could hide. */

enum { IMAGES = 2, CLASSES = 10 };

static const double BN_EPSILON = 1e-5; /* PyTorch's BatchNorm2d default */

/* The normalization the models start with: CIFAR-10's per-channel mean and std. */
static const float CIFAR_MEAN[3] = {0.4914f, 0.4822f, 0.4465f};
static const float CIFAR_STD[3] = {0.2470f, 0.2435f, 0.2616f};

/* Random values for parameter `p`, by its role: conv and linear weights uniform with the
 * variance 2 / fan_in of He et al. 2015, which keeps the activations' scale through the ReLUs
 * so that the logits are of order 1 at any depth; biases (conv, linear, batch norm's beta) in
 * ±0.2; batch norm's gamma in [0.5, 1.5), running mean in ±0.5 (the activations are of order
 * 1) and running variance in [0.5, 2). */
static void random_values(const rp_param *p, uint32_t seed, float *v) {
  int64_t n = rp_tensor_numel(&p->value);
  fill_random(v, n, seed); /* in [-1, 1) */
  const char *what = strrchr(p->name, '.') + 1;
  double scale = 0.2, offset = 0;
  if (p->ndim >= 2)
    scale = sqrt(6.0 / (double)fan_in_of(p));
  else if (strcmp(what, "running_var") == 0)
    scale = 0.75, offset = 1.25;
  else if (strcmp(what, "running_mean") == 0)
    scale = 0.5;
  else if (strcmp(what, "weight") == 0)
    scale = 0.5, offset = 1.0;
  for (int64_t k = 0; k < n; k++) v[k] = (float)(offset + scale * v[k]);
}

/* Overwrites every parameter and running statistic of `net` with random_values. */
static void set_random_parameters(rp_net *net, uint32_t seed) {
  for (int k = 0; k < net->param_count; k++) {
    const rp_param *p = &net->params[k];
    float *v = malloc((size_t)rp_tensor_bytes(&p->value));
    cr_assert_not_null(v);
    random_values(p, seed + (uint32_t)k, v);
    ASSERT_OK(rp_tensor_upload(net->ctx, &p->value, v));
    free(v);
  }
}

/* Random pixels in [0, 1] into the mapped input batch. */
static void set_random_images(rp_net *net, uint32_t seed) {
  const rp_node *in = rp_net_input_node(net);
  float *px = in->y.buffer.mapped;
  fill_random(px, rp_tensor_numel(&in->y), seed);
  for (int64_t k = 0; k < rp_tensor_numel(&in->y); k++) px[k] = 0.5f + 0.5f * px[k];
}

/* The device's eval-mode logits [IMAGES, CLASSES] of the input batch. */
static void device_logits(rp_net *net, float *logits) {
  rp_recorder *rec = test_recorder();
  ASSERT_OK(rp_net_record_forward(net, rec, RP_EVAL));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  ASSERT_OK(rp_tensor_download(net->ctx, &rp_net_output(net)->y, logits));
}

/* One state_dict entry in double, and how many times the reference read it. */
typedef struct state_entry {
  char name[96];
  int64_t numel;
  double *values;
  int reads;
} state_entry;

/* The reference's weights (the device's, downloaded) and the activations it allocated, all
 * freed together by reference_free. */
typedef struct reference {
  state_entry *entries;
  int entry_count;
  double **blocks;
  int block_count, block_capacity;
} reference;

/* IMAGES images of c channels of h x w, NCHW. */
typedef struct ref_tensor {
  int c, h, w;
  double *v;
} ref_tensor;

/* The reference's state_dict: the device's parameters and running statistics, downloaded. */
static reference reference_of(rp_net *net) {
  reference r = {.entries = calloc((size_t)net->param_count, sizeof(state_entry)),
                 .entry_count = net->param_count};
  cr_assert_not_null(r.entries);
  for (int k = 0; k < net->param_count; k++) {
    const rp_param *p = &net->params[k];
    state_entry *e = &r.entries[k];
    snprintf(e->name, sizeof e->name, "%s", p->name);
    e->numel = rp_tensor_numel(&p->value);
    float *f = malloc((size_t)e->numel * sizeof *f);
    e->values = malloc((size_t)e->numel * sizeof *e->values);
    cr_assert(f && e->values, "out of memory");
    ASSERT_OK(rp_tensor_download(net->ctx, &p->value, f));
    for (int64_t i = 0; i < e->numel; i++) e->values[i] = f[i];
    free(f);
  }
  return r;
}

static void reference_free(reference *r) {
  for (int k = 0; k < r->entry_count; k++) free(r->entries[k].values);
  for (int k = 0; k < r->block_count; k++) free(r->blocks[k]);
  free(r->entries), free(r->blocks);
}

/* A new activation tensor, owned by the reference. */
static ref_tensor ref_new(reference *r, int c, int h, int w) {
  if (r->block_count == r->block_capacity) {
    r->block_capacity = r->block_capacity ? 2 * r->block_capacity : 64;
    r->blocks = realloc(r->blocks, (size_t)r->block_capacity * sizeof *r->blocks);
    cr_assert_not_null(r->blocks);
  }
  ref_tensor t = {c, h, w, calloc((size_t)IMAGES * c * h * w, sizeof(double))};
  cr_assert_not_null(t.v);
  r->blocks[r->block_count++] = t.v;
  return t;
}

static int64_t ref_numel(ref_tensor t) { return (int64_t)IMAGES * t.c * t.h * t.w; }

/* The state_dict entry `layer`.`what`, which must have `numel` values (the shape the
 * definition gives it). */
static const double *ref_param(reference *r, const char *layer, const char *what, int64_t numel) {
  char name[128];
  snprintf(name, sizeof name, "%s.%s", layer, what);
  for (int k = 0; k < r->entry_count; k++) {
    state_entry *e = &r->entries[k];
    if (strcmp(e->name, name) != 0) continue;
    cr_assert_eq(e->numel, numel, "%s: %lld values, the definition has %lld", name,
                 (long long)e->numel, (long long)numel);
    e->reads++;
    return e->values;
  }
  cr_assert_fail("the model has no %s", name);
  return NULL;
}

/* "prefix.name" in buf, for the layers of a block. */
static const char *layer_name(char *buf, size_t size, const char *prefix, const char *name) {
  snprintf(buf, size, "%s.%s", prefix, name);
  return buf;
}

/* ---- the reference's layers ---- */

/* (x - mean[c]) / std[c], the model's first step. */
static ref_tensor ref_normalize(reference *r, ref_tensor x, const float *mean, const float *std) {
  cr_assert_eq(x.c, 3, "%d channels", x.c);
  double m[3], s[3];
  for (int c = 0; c < 3; c++) m[c] = mean[c], s[c] = std[c];
  ref_tensor y = ref_new(r, x.c, x.h, x.w);
  ref_normalize_forward(x.v, IMAGES, x.c, (int64_t)x.h * x.w, m, s, y.v);
  return y;
}

/* A square conv of `out` channels, padded by kernel / 2 (3x3: 1, 1x1: 0, as every conv of
 * these models), with a bias or without. */
static ref_tensor ref_conv(reference *r, ref_tensor x, const char *layer, int out, int kernel,
                           int stride, bool bias) {
  ref_conv_shape sh = {IMAGES, x.c, x.h, x.w, out, kernel, kernel, stride, kernel / 2};
  const double *w = ref_param(r, layer, "weight", (int64_t)out * x.c * kernel * kernel);
  const double *b = bias ? ref_param(r, layer, "bias", out) : NULL;
  ref_tensor y = ref_new(r, out, ref_conv_p(&sh), ref_conv_q(&sh));
  ref_conv2d_forward(&sh, x.v, w, b, y.v);
  return y;
}

/* Batch norm in eval mode: its running statistics. */
static ref_tensor ref_bn(reference *r, ref_tensor x, const char *layer) {
  const double *gamma = ref_param(r, layer, "weight", x.c),
               *beta = ref_param(r, layer, "bias", x.c);
  const double *mean = ref_param(r, layer, "running_mean", x.c);
  const double *variance = ref_param(r, layer, "running_var", x.c);
  ref_tensor y = ref_new(r, x.c, x.h, x.w);
  ref_batchnorm_eval(x.v, IMAGES, x.c, (int64_t)x.h * x.w, gamma, beta, mean, variance, BN_EPSILON,
                     y.v);
  return y;
}

static ref_tensor ref_relu(reference *r, ref_tensor x) {
  ref_tensor y = ref_new(r, x.c, x.h, x.w);
  ref_relu_forward(x.v, ref_numel(x), y.v);
  return y;
}

/* A residual sum: both terms must have one shape. */
static ref_tensor ref_add(reference *r, ref_tensor a, ref_tensor b) {
  cr_assert(a.c == b.c && a.h == b.h && a.w == b.w, "adding %dx%dx%d to %dx%dx%d", b.c, b.h, b.w,
            a.c, a.h, a.w);
  ref_tensor y = ref_new(r, a.c, a.h, a.w);
  for (int64_t i = 0; i < ref_numel(a); i++) y.v[i] = a.v[i] + b.v[i];
  return y;
}

/* Each channel's mean over its plane: [IMAGES, c, 1, 1]. */
static ref_tensor ref_global_avgpool(reference *r, ref_tensor x) {
  ref_tensor y = ref_new(r, x.c, 1, 1);
  ref_global_avgpool_forward(x.v, IMAGES * x.c, x.h, x.w, y.v);
  return y;
}

/* A fully connected layer on [IMAGES, c, 1, 1]: weight [out, c], bias [out]. */
static ref_tensor ref_linear(reference *r, ref_tensor x, const char *layer, int out) {
  cr_assert(x.h == 1 && x.w == 1, "%s: a %dx%d input", layer, x.h, x.w);
  const double *w = ref_param(r, layer, "weight", (int64_t)out * x.c);
  const double *b = ref_param(r, layer, "bias", out);
  ref_tensor y = ref_new(r, out, 1, 1);
  for (int i = 0; i < IMAGES; i++)
    for (int o = 0; o < out; o++) {
      double sum = b[o];
      for (int c = 0; c < x.c; c++) sum += w[(int64_t)o * x.c + c] * x.v[(int64_t)i * x.c + c];
      y.v[(int64_t)i * out + o] = sum;
    }
  return y;
}

/* ---- the architectures, from their definitions ---- */

/* He et al. 2016 (Deep residual learning), the CIFAR basic block:
 * y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), both convs 3x3, conv1 carrying the
 * block's stride; the shortcut the identity, or where the shape changes (a stride or another
 * width) a 1x1 conv of that stride and a bn, "shortcut.0" and "shortcut.1" (option B). */
static ref_tensor ref_basic_block(reference *r, ref_tensor x, const char *prefix, int planes,
                                  int stride) {
  char name[96];
  ref_tensor y =
      ref_conv(r, x, layer_name(name, sizeof name, prefix, "conv1"), planes, 3, stride, false);
  y = ref_relu(r, ref_bn(r, y, layer_name(name, sizeof name, prefix, "bn1")));
  y = ref_conv(r, y, layer_name(name, sizeof name, prefix, "conv2"), planes, 3, 1, false);
  y = ref_bn(r, y, layer_name(name, sizeof name, prefix, "bn2"));
  ref_tensor shortcut = x;
  if (stride != 1 || x.c != planes) {
    shortcut = ref_conv(r, x, layer_name(name, sizeof name, prefix, "shortcut.0"), planes, 1,
                        stride, false);
    shortcut = ref_bn(r, shortcut, layer_name(name, sizeof name, prefix, "shortcut.1"));
  }
  return ref_relu(r, ref_add(r, y, shortcut));
}

/* He et al. 2016 (Identity mappings), the pre-activation block: a = relu(bn1(x)),
 * y = conv2(relu(bn2(conv1(a)))) + shortcut, conv1 carrying the stride; the shortcut x, or
 * where the shape changes a 1x1 conv of the pre-activated a (named `shortcut_name`). Wide
 * ResNets put dropout between the convs: the identity in eval mode. */
static ref_tensor ref_preact_block(reference *r, ref_tensor x, const char *prefix, int planes,
                                   int stride, const char *shortcut_name) {
  char name[96];
  ref_tensor a = ref_relu(r, ref_bn(r, x, layer_name(name, sizeof name, prefix, "bn1")));
  ref_tensor y =
      ref_conv(r, a, layer_name(name, sizeof name, prefix, "conv1"), planes, 3, stride, false);
  y = ref_relu(r, ref_bn(r, y, layer_name(name, sizeof name, prefix, "bn2")));
  y = ref_conv(r, y, layer_name(name, sizeof name, prefix, "conv2"), planes, 3, 1, false);
  ref_tensor shortcut = x;
  if (stride != 1 || x.c != planes)
    shortcut = ref_conv(r, a, layer_name(name, sizeof name, prefix, shortcut_name), planes, 1,
                        stride, false);
  return ref_add(r, y, shortcut);
}

/* The CIFAR ResNet-(6n+2) of He et al. 2016 (section 4.2) and the PreResNet of the identity
 * mappings paper: a 3x3 conv of 16 channels ("conv1"), in the ResNet followed by bn1 and a
 * ReLU; three stages of n blocks of 16, 32 and 64 channels ("layerS.B"), the first block of the
 * second and third stages of stride 2; in the PreResNet a final bn and ReLU ("bn"), its blocks
 * ending in an unactivated sum; a global average pool and a linear layer ("linear"). */
static ref_tensor ref_resnet(reference *r, ref_tensor x, int depth, bool preact) {
  int n = (depth - 2) / 6;
  x = ref_conv(r, x, "conv1", 16, 3, 1, false);
  if (!preact) x = ref_relu(r, ref_bn(r, x, "bn1"));
  for (int stage = 0; stage < 3; stage++)
    for (int b = 0; b < n; b++) {
      char prefix[32];
      snprintf(prefix, sizeof prefix, "layer%d.%d", stage + 1, b);
      int planes = 16 << stage, stride = stage > 0 && b == 0 ? 2 : 1;
      x = preact ? ref_preact_block(r, x, prefix, planes, stride, "shortcut.0")
                 : ref_basic_block(r, x, prefix, planes, stride);
    }
  if (preact) x = ref_relu(r, ref_bn(r, x, "bn"));
  return ref_linear(r, ref_global_avgpool(r, x), "linear", CLASSES);
}

/* Wide ResNet-D-K (Zagoruyko & Komodakis 2016): a 3x3 conv of 16 channels ("conv1"); three
 * stages of n = (D - 4) / 6 pre-activation blocks of 16K, 32K and 64K channels
 * ("blockS.layer.B", projections "convShortcut"), the first of the second and third stages of
 * stride 2; a final bn and ReLU ("bn1"), a global average pool and a linear layer ("fc"). */
static ref_tensor ref_wrn(reference *r, ref_tensor x, int depth, int k) {
  int n = (depth - 4) / 6;
  x = ref_conv(r, x, "conv1", 16, 3, 1, false);
  for (int stage = 0; stage < 3; stage++)
    for (int b = 0; b < n; b++) {
      char prefix[40];
      snprintf(prefix, sizeof prefix, "block%d.layer.%d", stage + 1, b);
      x = ref_preact_block(r, x, prefix, (16 * k) << stage, stage > 0 && b == 0 ? 2 : 1,
                           "convShortcut");
    }
  x = ref_relu(r, ref_bn(r, x, "bn1"));
  return ref_linear(r, ref_global_avgpool(r, x), "fc", CLASSES);
}

/* All-CNN-C (Springenberg et al. 2015) as taylorglo.md section 7 gives it: 3x3 convs of 96, 96
 * and 96 of stride 2, 192, 192 and 192 of stride 2, a 3x3 conv of 192, 1x1 convs of 192 and of
 * the classes ("conv1".."conv9"), each with a bias and followed by a ReLU; a global average
 * pool. Its two dropouts are the identity in eval mode. */
static ref_tensor ref_allcnn_c(reference *r, ref_tensor x) {
  static const struct {
    int channels, kernel, stride;
  } convs[9] = {{96, 3, 1},  {96, 3, 1},  {96, 3, 2},  {192, 3, 1},    {192, 3, 1},
                {192, 3, 2}, {192, 3, 1}, {192, 1, 1}, {CLASSES, 1, 1}};
  for (int i = 0; i < 9; i++) {
    char name[16];
    snprintf(name, sizeof name, "conv%d", i + 1);
    x = ref_relu(r,
                 ref_conv(r, x, name, convs[i].channels, convs[i].kernel, convs[i].stride, true));
  }
  return ref_global_avgpool(r, x);
}

/* The logits [IMAGES, CLASSES] of model `name` on the device's input, IMAGES images of
 * 3 x side x side pixels in [0, 1]. */
static ref_tensor ref_model(reference *r, const char *name, const float *pixels, int side) {
  ref_tensor x = ref_new(r, 3, side, side);
  for (int64_t i = 0; i < ref_numel(x); i++) x.v[i] = pixels[i];
  x = ref_normalize(r, x, CIFAR_MEAN, CIFAR_STD);
  rp_model_spec m;
  cr_assert(rp_model_parse(name, &m), "%s", name);
  switch (m.family) {
  case RP_MODEL_RESNET: return ref_resnet(r, x, m.depth, false);
  case RP_MODEL_PRERESNET: return ref_resnet(r, x, m.depth, true);
  case RP_MODEL_WRN: return ref_wrn(r, x, m.depth, m.width);
  case RP_MODEL_ALLCNN_C: return ref_allcnn_c(r, x);
  case RP_MODEL_MNIST_CNN: break; /* test_trainer_attack.c has its reference */
  }
  cr_assert_fail("%s: no reference here", name);
  return x;
}

/* Every state_dict entry of the device's model was read once by the reference: none that the
 * definition lacks (the running statistics included), none read twice. */
static void expect_every_entry_read_once(const char *model, const reference *r) {
  for (int k = 0; k < r->entry_count; k++)
    cr_expect_eq(r->entries[k].reads, 1, "%s: %s read %d times by the reference", model,
                 r->entries[k].name, r->entries[k].reads);
}

/* The device's logits within rounding of the reference's. Each layer computes in fp32 (unit
 * roundoff u = 6e-8) sums of up to K = 192 * 9 = 1728 products: at worst K u = 1e-4 of the sum
 * of their magnitudes, typically sqrt(K) u = 2.5e-6 of it, the roundings being as often up as
 * down. The random layers keep the activations of order 1 (random_values), so each layer's
 * error is of the order of the logits' and the layers' errors add along the deepest path: the
 * tolerance allows 1e-5, four times the typical error, per layer of `depth`, relative to the
 * largest logit. A miswired layer changes the logits by their own order. On lavapipe the worst
 * error is 0.2% to 0.5% of the tolerance, and each miswiring tried was hundreds of times it. */
static void expect_logits_match(const char *model, const float *device, ref_tensor reference_logits,
                                int depth) {
  double largest = 0, worst = 0;
  for (int i = 0; i < IMAGES * CLASSES; i++) largest = fmax(largest, fabs(reference_logits.v[i]));
  double tolerance = 1e-5 * depth * largest;
  for (int i = 0; i < IMAGES * CLASSES; i++) {
    double err = fabs(device[i] - reference_logits.v[i]);
    worst = fmax(worst, err);
    cr_expect(err <= tolerance, "%s: logit %d of image %d is %.8g, the reference's %.8g", model,
              i % CLASSES, i / CLASSES, (double)device[i], reference_logits.v[i]);
  }
  cr_log_info("%s: largest |logit| %.3g, worst error %.3g, %.4f of the tolerance", model, largest,
              worst, worst / tolerance);
}

/* The weight layers on a model's deepest path, at most: a ResNet's or WRN's depth, AllCNN-C's
 * 9 convs. */
static int depth_of(const char *name) {
  rp_model_spec m;
  cr_assert(rp_model_parse(name, &m), "%s", name);
  return m.family == RP_MODEL_ALLCNN_C ? 9 : m.depth;
}

/* Model `name` with random parameters on random images of side x side pixels: the device
 * against the reference. */
static void check_model(const char *name, int side, uint32_t seed) {
  rp_model_input in = {IMAGES, 3, side, side, CLASSES, CIFAR_MEAN, CIFAR_STD};
  rp_net net;
  ASSERT_OK(rp_model_build(test_ctx(), name, &in, 1, &net));
  set_random_parameters(&net, seed);
  set_random_images(&net, seed);
  float logits[IMAGES * CLASSES];
  device_logits(&net, logits);
  reference r = reference_of(&net);
  ref_tensor reference_logits = ref_model(&r, name, rp_net_input_node(&net)->y.buffer.mapped, side);
  cr_assert(reference_logits.c == CLASSES && reference_logits.h == 1 && reference_logits.w == 1,
            "%s: %d outputs", name, reference_logits.c * reference_logits.h * reference_logits.w);
  expect_every_entry_read_once(name, &r);
  expect_logits_match(name, logits, reference_logits, depth_of(name));
  reference_free(&r);
  rp_net_destroy(&net);
}

/* The smallest of each family on CIFAR's 32x32 images: a ResNet and a PreResNet of one block
 * a stage (an identity shortcut in the first stage, strided projections in the others),
 * WRN-10-1 (the same) and WRN-10-2 (whose first block widens 16 to 32 channels: a projection of
 * stride 1). AllCNN-C, all convs and a global pool, is wired the same at any size: on 16x16
 * images (a 4x4 map at the pool) its reference's convolutions take a quarter of the 2 s they
 * take on 32x32 ones, which were most of the test's time. */
Test(models, eval_forward_matches_a_plain_c_reference) {
  check_model("resnet8", 32, 1);
  check_model("preresnet8", 32, 2);
  check_model("wrn-10-1", 32, 3);
  check_model("wrn-10-2", 32, 4);
  check_model("allcnn_c", 16, 5);
}
