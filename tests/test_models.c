/* The paper's networks have exactly the parameters of their PyTorch definitions in
 * bench/models.py: the trainable scalars and the number of state_dict entries (parameters,
 * running statistics and num_batches_tracked), which a checkpoint must match one for one.
 * The reference numbers were printed by PyTorch 1.13 from bench/models.py:
 *   m = models.build(name, mean, std, 10, channels)
 *   sum(p.numel() for p in m.parameters()), len(m.state_dict()) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/models.h"
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
  const char *bad[] = {"resnet21", "wrn-15-8", "vgg16", "resnet20x"};
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
