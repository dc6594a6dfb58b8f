/* The paper's networks have exactly the parameters of their PyTorch definitions in
 * bench/models.py: the trainable scalars and the number of state_dict entries (parameters,
 * running statistics and num_batches_tracked), which a checkpoint must match one for one.
 * The reference numbers were printed by PyTorch 1.13 from bench/models.py:
 *   m = models.build(name, mean, std, 10, channels)
 *   sum(p.numel() for p in m.parameters()), len(m.state_dict()) */
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
