/* repro's networks against their PyTorch definitions (bench/models.py), end to end: each model
 * trained a few steps by repro (so that its weights and batch-norm running statistics are no
 * longer their initial values, under which a block's batch norms are the identity and a
 * misplaced one would not show), saved as a checkpoint, then evaluated on the same test images
 * by repro and by tools/check_checkpoint.py, which loads the checkpoint into the PyTorch model
 * with load_state_dict(strict=True). The two test losses (mean cross-entropy) must agree to
 * fp32 rounding: a block wired otherwise (a ReLU before the residual add instead of after it,
 * the projection shortcut from the wrong tensor, batch norm and ReLU swapped), a parameter
 * stored under another name or layout, or another input normalization, moves them apart.
 *
 * Needs python3 with torch (scripts/install-deps.sh --torch); skipped, saying so, without it,
 * except in CI, which requires it (REPRO_REQUIRE_TORCH=1). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn/net.h"
#include "support/fixture.h"
#include "support/synthetic.h"
#include "support/tmpfiles.h"
#include "support/torch_python.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

TestSuite(pytorch, .fini = test_teardown);

enum { CIFAR_TRAIN = 64, CIFAR_TEST = 32 };

/* `count` CIFAR-10 records of noise (a label byte, 3,072 pixel bytes) into DIR/NAME. */
static void write_cifar(const char *dir, const char *name, int count, uint32_t seed) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  cr_assert(f, "cannot write %s", path);
  uint32_t x = seed;
  for (int i = 0; i < count; i++) {
    fputc(i % 10, f);
    for (int k = 0; k < 3072; k++) {
      x = x * 1664525u + 1013904223u; /* Numerical Recipes' LCG: enough for noise */
      fputc((int)(x >> 24), f);
    }
  }
  cr_assert_eq(fclose(f), 0);
}

/* A directory with a small CIFAR-10 of noise (REPRO_DATA_ANY_SIZE=1 lets repro take it). */
static char *noise_cifar(void) {
  char *dir = strdup("/tmp/repro-test-pytorch-XXXXXX");
  cr_assert(mkdtemp(dir), "mkdtemp failed");
  write_cifar(dir, "data_batch_1.bin", CIFAR_TRAIN, 1);
  write_cifar(dir, "test_batch.bin", CIFAR_TEST, 2);
  setenv("REPRO_DATA_ANY_SIZE", "1", 1);
  return dir;
}

/* Multiplies the net's last layer (its weight and bias, the last parameters made) by `factor`.
 * A network near its initialization gives logits near 0, and a loss near ln(classes) whatever
 * its wiring (AllCNN-C's, at 2.30318, hides a ReLU taken away): larger logits make the loss
 * tell one network from another. */
static void scale_last_layer(rp_net *net, float factor) {
  const rp_param *bias = &net->params[net->param_count - 1], *weight = bias - 1;
  const char *dot = strrchr(bias->name, '.');
  cr_assert(dot && strcmp(dot, ".bias") == 0 &&
                strncmp(weight->name, bias->name, dot - bias->name) == 0 &&
                strcmp(weight->name + (dot - bias->name), ".weight") == 0,
            "the last parameters are %s and %s, not a layer's weight and bias", weight->name,
            bias->name);
  const rp_param *layer[] = {weight, bias};
  for (int i = 0; i < 2; i++) {
    int64_t n = rp_tensor_numel(&layer[i]->value);
    float *v = malloc((size_t)n * sizeof *v);
    ASSERT_OK(rp_tensor_download(net->ctx, &layer[i]->value, v));
    for (int64_t k = 0; k < n; k++) v[k] *= factor;
    ASSERT_OK(rp_tensor_upload(net->ctx, &layer[i]->value, v));
    free(v);
  }
}

/* Trains `model` on `dataset` in `dir` for three steps of 16 images, scales its last layer,
 * saves it into `ckpt` and returns repro's test accuracy and loss of those weights. */
static void train_and_save(const char *model, const char *dataset, const char *dir,
                           const char *ckpt, double *accuracy, double *loss) {
  rp_train_config c;
  rp_train_config_defaults(&c, model, dataset);
  c.data_dir = dir;
  c.epochs = 1;
  c.max_steps = 3;
  c.batch = 16;
  c.lr = 0.01;
  c.validation = 0;
  c.seed = 5;
  c.skip_epoch_test = true;
  c.augment = (rp_augment){0};
  rp_trainer *t = NULL;
  ASSERT_OK(rp_trainer_create(test_ctx(), &c, &t));
  ASSERT_OK(rp_trainer_run(t, NULL));
  scale_last_layer(rp_trainer_net(t), 30);
  ASSERT_OK(rp_trainer_evaluate(t, RP_SPLIT_TEST, accuracy, loss));
  rp_checkpoint_info info = {dataset, "ce", c.epochs, c.seed};
  ASSERT_OK(rp_checkpoint_save(rp_trainer_net(t), ckpt, &info));
  rp_trainer_destroy(t);
}

/* tools/check_checkpoint.py's test accuracy and loss of `ckpt` on the test split in `dir`. */
static void torch_evaluate(const char *python, const char *ckpt, const char *dataset,
                           const char *dir, double *accuracy, double *loss) {
  char tools[400], out[720], cmd[3000];
  torch_tools_dir(tools, sizeof tools);
  snprintf(out, sizeof out, "%s.torch.json", ckpt);
  snprintf(cmd, sizeof cmd, "'%s' '%s/check_checkpoint.py' '%s' --data '%s' --dataset %s > '%s'",
           python, tools, ckpt, dir, dataset, out);
  int rc = system(cmd);
  cr_assert(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "failed: %s", cmd);
  char *text = read_file(out);
  cJSON *j = text ? cJSON_Parse(text) : NULL;
  const cJSON *a = cJSON_GetObjectItem(j, "test_accuracy"),
              *l = cJSON_GetObjectItem(j, "test_loss_ce");
  cr_assert(cJSON_IsNumber(a) && cJSON_IsNumber(l), "%s wrote:\n%s", cmd, text ? text : "");
  *accuracy = a->valuedouble, *loss = l->valuedouble;
  cJSON_Delete(j);
  free(text);
}

/* Repro's and PyTorch's evaluations of `model`, trained and saved by repro, agree: the loss to
 * fp32 rounding (2e-5 of it is a hundred times the rounding seen, and far below what a
 * miswired layer moves it), the accuracy to within one image (a near-tie of two logits may
 * fall either way). */
static void check_model(const char *python, const char *model, const char *dataset, const char *dir,
                        int test_images) {
  char ckpt[700];
  snprintf(ckpt, sizeof ckpt, "%s/%s.safetensors", dir, model);
  double acc, loss, torch_acc, torch_loss;
  train_and_save(model, dataset, dir, ckpt, &acc, &loss);
  torch_evaluate(python, ckpt, dataset, dir, &torch_acc, &torch_loss);
  cr_log_info("%s: test loss %.7f (PyTorch %.7f), accuracy %.4f (PyTorch %.4f)", model, loss,
              torch_loss, acc, torch_acc);
  cr_expect(isfinite(loss) && fabs(loss - torch_loss) <= 2e-5 * (1 + fabs(torch_loss)),
            "%s: test loss %.7f, PyTorch's %.7f", model, loss, torch_loss);
  cr_expect_leq(fabs(acc - torch_acc) * test_images, 1.0 + 1e-9,
                "%s: test accuracy %.4f, PyTorch's %.4f", model, acc, torch_acc);
}

Test(pytorch, cifar_models_evaluate_as_their_pytorch_definitions, .timeout = 600) {
  const char *python = torch_python_or_skip("that repro's CIFAR models are PyTorch's");
  char *dir = noise_cifar();
  /* the smallest of each family: the blocks, shortcuts and stems are those of the larger; and
   * the MNIST CNN, which repro builds on CIFAR's three channels of 32x32 too */
  const char *models[] = {"resnet8", "preresnet8", "wrn-10-1", "allcnn_c", "mnist_cnn"};
  for (size_t i = 0; i < sizeof models / sizeof *models; i++)
    check_model(python, models[i], "cifar10", dir, CIFAR_TEST);
  remove_tree(dir);
  free(dir);
}

/* On Fashion-MNIST's one channel of 28x28: the MNIST CNN, and a ResNet as repro builds it there. */
Test(pytorch, fashion_models_evaluate_as_their_pytorch_definitions, .timeout = 300) {
  const char *python = torch_python_or_skip("that repro's Fashion-MNIST models are PyTorch's");
  char *dir = synthetic_dataset();
  check_model(python, "mnist_cnn", "fashion-mnist", dir, SYNTH_TEST_IMAGES);
  check_model(python, "resnet8", "fashion-mnist", dir, SYNTH_TEST_IMAGES);
  remove_tree(dir);
  free(dir);
}
