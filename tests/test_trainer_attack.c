/* The adversarial evaluation end to end: rp_trainer_attack on a trained MNIST CNN against a
 * plain C transcription of the same attack, in double, image by image.
 *
 * test_attack.c checks the perturbation steps and test_net.c the input gradient, each on its
 * own. What only this checks is how the trainer puts them together: the batches of the split
 * (the last one partial), which tensor is attacked (the input batch, or the normalization's
 * output in normalized mode), the copy of the unperturbed input that PGD projects onto, the
 * gradient of the model's own loss (cross-entropy, or a TaylorGLO polynomial), eps = 0, the
 * count of correct predictions at the end, and for PGD the attacked pixels themselves.
 *
 * The device computes in float and the reference in double, so the two can disagree only where
 * a rounding error decides: a gradient element so small that its sign is uncertain, or final
 * logits whose top two are nearly equal. The reference counts the images where that can
 * happen, and the device's count of correct predictions must be the reference's within that
 * many (at most one of the 12 images, so far, and the counts have always been equal). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/loss_ref.h"
#include "ref/mnist_cnn_ref.h"
#include "support/fixture.h"
#include "support/synthetic.h"
#include "support/tmpfiles.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

TestSuite(trainer_attack, .fini = test_teardown);

/* 12 test images in batches of 8: one full batch and one with 4 real rows. Every other one
 * has a decoy square of brightness DECOY (tests/support/synthetic.h). */
enum { BATCH = 8, IMAGES = 12, DECOY = 170, PIXELS = REF_CNN_PIXELS, CLASSES = REF_CNN_CLASSES };

/* A gradient element smaller than this fraction of the sum of its terms' magnitudes may have
 * the other sign in float; final logits whose top two are closer than this fraction of the
 * largest may swap. The device's input gradients differ from the reference's by under 1e-8 of
 * that sum here (measured on lavapipe), so both leave a factor of 100 to spare. */
static const double SIGN_TOLERANCE = 1e-6, MARGIN_TOLERANCE = 1e-6;

static int argmax(const double *z, int n) {
  int best = 0;
  for (int j = 1; j < n; j++)
    if (z[j] > z[best]) best = j;
  return best;
}

static double sign_of(double g) { return g > 0 ? 1.0 : g < 0 ? -1.0 : 0.0; }
static double clamp(double v, double lo, double hi) { return fmin(fmax(v, lo), hi); }

/* The network in double and in absolute value (for the rounding scales), and its input
 * normalization on the [0, 1] scale. */
typedef struct reference {
  ref_cnn net, magnitude;
  double mean, std;
} reference;

/* The attack on one image as rp_trainer_attack documents it; returns whether the attacked
 * image is classified right, and sets *uncertain when rounding could decide otherwise: when
 * the elements whose gradient sign is uncertain, each moved by up to twice eps the other way,
 * could to first order (and with a factor of 2 to spare) close the gap between the top two
 * logits. */
static double x[PIXELS];         /* the last image attacked_correct attacked, */
static bool unsure_sign[PIXELS]; /* and its pixels whose moves rounding could change */

static bool attacked_correct(const reference *r, const rp_attack *at, const rp_loss *loss,
                             const uint8_t *image, uint32_t label, ref_cnn_pass *a,
                             bool *uncertain) {
  static double x0[PIXELS], grad[PIXELS], scale[PIXELS];
  /* The attacked tensor: pixels on the [0, 1] scale, or the normalized input. d(normalized)/
   * d(pixel) = 1 / std; `to_attacked` turns a normalized-input gradient into the attacked's. */
  const double to_attacked = at->normalized_space ? 1.0 : 1.0 / r->std;
  for (int i = 0; i < PIXELS; i++) {
    double pixel = (float)image[i] / 255.0f;
    x[i] = x0[i] = at->normalized_space ? (pixel - r->mean) / r->std : pixel;
    unsure_sign[i] = false;
  }
  int steps = at->kind == RP_ATTACK_FGSM ? 1 : at->steps;
  if (at->eps <= 0) steps = at->normalized_space ? 1 : 0; /* the quirk's clamp still acts */
  double d_logits[CLASSES], d_scale[CLASSES];
  for (int s = 0; s < steps; s++) {
    memset(grad, 0, sizeof grad); /* eps 0: whatever the gradient, no move but the clamp */
    if (at->eps > 0) {
      for (int i = 0; i < PIXELS; i++)
        a->input[i] = at->normalized_space ? x[i] : (x[i] - r->mean) / r->std;
      ref_cnn_forward(&r->net, a);
      ref_loss_row(loss, a->logits, CLASSES, label, NULL, NULL, d_logits);
      for (int j = 0; j < CLASSES; j++) d_scale[j] = fabs(d_logits[j]);
      ref_cnn_backward(&r->net, a, d_logits, grad); /* the signs are the attacked tensor's too */
      ref_cnn_backward(&r->magnitude, a, d_scale, scale);
    }
    for (int i = 0; i < PIXELS; i++) {
      if (fabs(grad[i]) <= SIGN_TOLERANCE * scale[i] && scale[i] > 0) unsure_sign[i] = true;
      if (at->kind == RP_ATTACK_FGSM)
        x[i] = clamp(x[i] + at->eps * sign_of(grad[i]), 0, 1);
      else
        x[i] = clamp(
            clamp(x[i] + at->step_size * sign_of(grad[i]), x0[i] - at->eps, x0[i] + at->eps), 0, 1);
    }
  }
  for (int i = 0; i < PIXELS; i++)
    a->input[i] = at->normalized_space ? x[i] : (x[i] - r->mean) / r->std;
  ref_cnn_forward(&r->net, a);
  int top = argmax(a->logits, CLASSES), second = top == 0 ? 1 : 0;
  double largest = 0;
  for (int j = 0; j < CLASSES; j++) {
    if (j != top && a->logits[j] > a->logits[second]) second = j;
    largest = fmax(largest, fabs(a->logits[j]));
  }
  /* How far the uncertain elements could move the gap z_top - z_second. */
  bool any_unsure = false;
  for (int i = 0; i < PIXELS; i++) any_unsure |= unsure_sign[i];
  double reach = 0;
  if (any_unsure) { /* (one more backward pass, only where it can matter) */
    for (int j = 0; j < CLASSES; j++) d_logits[j] = j == top ? 1 : j == second ? -1 : 0;
    ref_cnn_backward(&r->net, a, d_logits, grad);
    for (int i = 0; i < PIXELS; i++)
      if (unsure_sign[i]) reach += fabs(grad[i]) * to_attacked * 2 * at->eps;
  }
  double gap = a->logits[top] - a->logits[second];
  *uncertain = gap <= 2 * reach + MARGIN_TOLERANCE * largest;
  return top == (int)label;
}

/* ---- the trained network and its reference */

/* A parameter of `net` in double; in absolute value with `absolute`. */
static double *download_param(rp_net *net, const char *name, bool absolute) {
  int p = 0;
  while (p < net->param_count && strcmp(net->params[p].name, name) != 0) p++;
  cr_assert(p < net->param_count, "the MNIST CNN has no parameter %s", name);
  const rp_tensor *value = &net->params[p].value;
  int64_t n = rp_tensor_numel(value);
  float *f = malloc((size_t)n * sizeof *f);
  double *d = malloc((size_t)n * sizeof *d);
  cr_assert(f && d, "out of memory");
  ASSERT_OK(rp_tensor_download(net->ctx, value, f));
  for (int64_t i = 0; i < n; i++) d[i] = absolute ? fabsf(f[i]) : f[i];
  free(f);
  return d;
}

static reference reference_of(rp_trainer *t) {
  rp_net *net = rp_trainer_net(t);
  const rp_node *norm = &net->nodes[1];
  cr_assert_eq(norm->kind, RP_NODE_NORMALIZE, "node 1 is not the input normalization");
  reference r = {.mean = norm->mean[0], .std = norm->std[0]};
  ref_cnn *nets[2] = {&r.net, &r.magnitude};
  for (int k = 0; k < 2; k++) {
    /* (the magnitudes' backward pass reads only the weights) */
    bool absolute = k == 1;
    *nets[k] = (ref_cnn){
        .conv1_w = download_param(net, "conv1.weight", absolute),
        .conv1_b = download_param(net, "conv1.bias", absolute),
        .conv2_w = download_param(net, "conv2.weight", absolute),
        .conv2_b = download_param(net, "conv2.bias", absolute),
        .fc1_w = download_param(net, "fc1.weight", absolute),
        .fc1_b = download_param(net, "fc1.bias", absolute),
        .fc2_w = download_param(net, "fc2.weight", absolute),
        .fc2_b = download_param(net, "fc2.bias", absolute),
    };
  }
  return r;
}

static void ref_cnn_free(ref_cnn *m) {
  free(m->conv1_w), free(m->conv1_b), free(m->conv2_w), free(m->conv2_b);
  free(m->fc1_w), free(m->fc1_b), free(m->fc2_w), free(m->fc2_b);
}

/* The MNIST CNN on the synthetic set: 150 training images, 50 held out, the first IMAGES test
 * images evaluated. */
static rp_train_config config(const char *dir) {
  rp_train_config c = synthetic_config(dir);
  c.epochs = 3;
  c.lr = 0.03;
  c.seed = 3;
  c.split_seed = 5;
  c.test_images = IMAGES;
  c.skip_epoch_test = true;
  return c;
}

typedef struct test_images {
  uint8_t pixels[SYNTH_TEST_IMAGES * PIXELS], labels[SYNTH_TEST_IMAGES];
} test_images;

/* Device against reference for one attack; returns the reference's accuracy. */
static double check_attack(rp_trainer *t, const reference *r, const rp_loss *loss,
                           const test_images *images, const rp_attack *at, const char *what) {
  static ref_cnn_pass pass;
  int correct = 0, uncertain = 0;
  for (int i = 0; i < IMAGES; i++) {
    bool unsure;
    correct += attacked_correct(r, at, loss, images->pixels + (size_t)i * PIXELS, images->labels[i],
                                &pass, &unsure);
    uncertain += unsure;
  }
  double accuracy;
  ASSERT_OK(rp_trainer_attack(t, RP_SPLIT_TEST, at, &accuracy));
  double device_correct = accuracy * IMAGES;
  cr_log_info("%s: device %g of %d correct, reference %d (%d uncertain)", what, device_correct,
              IMAGES, correct, uncertain);
  cr_assert(fabs(device_correct - correct) <= uncertain + 1e-9,
            "%s: %g of %d test images correct on the device, %d by the reference (%d of whose "
            "results rounding could change)",
            what, device_correct, IMAGES, correct, uncertain);
  return (double)correct / IMAGES;
}

/* Pixel by pixel: the attacked images of the last batch (test images 8..11, the attacked input
 * batch's first rows once rp_trainer_attack returns) are the reference's, where rounding cannot
 * flip a gradient's sign. Accuracies alone let PGD's step and eps trade places. */
static void expect_attacked_pixels(rp_trainer *t, const reference *r, const rp_loss *loss,
                                   const test_images *images, const rp_attack *at) {
  static float device[BATCH * PIXELS];
  static ref_cnn_pass pass;
  ASSERT_OK(rp_tensor_download(test_ctx(), &rp_net_input_node(rp_trainer_net(t))->y, device));
  int compared = 0;
  for (int i = BATCH; i < IMAGES; i++) {
    bool unsure;
    attacked_correct(r, at, loss, images->pixels + (size_t)i * PIXELS, images->labels[i], &pass,
                     &unsure);
    for (int p = 0; p < PIXELS; p++) {
      if (unsure_sign[p]) continue;
      float got = device[(size_t)(i - BATCH) * PIXELS + p];
      cr_assert(fabs(got - x[p]) <= 1e-6, "image %d pixel %d: %.8g on the device, %.8g", i, p,
                (double)got, x[p]);
      compared++;
    }
  }
  cr_assert_gt(compared, (IMAGES - BATCH) * PIXELS / 2, "%d pixels compared", compared);
}

Test(trainer_attack, matches_a_plain_c_reference) {
  char *dir = synthetic_dataset();
  test_images *images = malloc(sizeof *images);
  /* Test images with decoys: the input clamp of normalized mode makes a decoy as bright as the
   * class's own square, which changes predictions (see below). */
  synthetic_write_split(dir, true, SYNTH_TEST_IMAGES, 2, DECOY);
  synthetic_split(SYNTH_TEST_IMAGES, 2, DECOY, images->pixels, images->labels);
  /* Trained in batches of 50 (quick), then attacked in batches of 8 */
  rp_train_config c = config(dir);
  rp_trainer *t = NULL;
  ASSERT_OK(rp_trainer_create(test_ctx(), &c, &t));
  ASSERT_OK(rp_trainer_run(t, NULL));
  char checkpoint[600];
  snprintf(checkpoint, sizeof checkpoint, "%s/ce.safetensors", dir);
  ASSERT_OK(rp_checkpoint_save(rp_trainer_net(t), checkpoint,
                               &(rp_checkpoint_info){.dataset = "fashion-mnist", .loss = "ce"}));
  rp_trainer_destroy(t);
  c.batch = BATCH;
  c.init_from = checkpoint;
  ASSERT_OK(rp_trainer_create(test_ctx(), &c, &t));
  reference r = reference_of(t);

  /* The clean evaluation, a loop of its own: the 4 padding rows of the last batch count for
   * nothing in the accuracy or the mean loss. */
  static ref_cnn_pass pass;
  int correct = 0, uncertain = 0;
  double loss_sum = 0;
  for (int i = 0; i < IMAGES; i++) {
    bool unsure;
    correct +=
        attacked_correct(&r, &(rp_attack){.kind = RP_ATTACK_FGSM}, &c.loss,
                         images->pixels + (size_t)i * PIXELS, images->labels[i], &pass, &unsure);
    uncertain += unsure;
    loss_sum += ref_loss_row(&c.loss, pass.logits, CLASSES, images->labels[i], NULL, NULL, NULL);
  }
  double accuracy, loss;
  ASSERT_OK(rp_trainer_evaluate(t, RP_SPLIT_TEST, &accuracy, &loss));
  cr_assert(fabs(accuracy * IMAGES - correct) <= uncertain + 1e-9,
            "evaluation: %g of %d correct, the reference %d (%d uncertain)", accuracy * IMAGES,
            IMAGES, correct, uncertain);
  cr_assert(fabs(loss - loss_sum / IMAGES) <= 1e-5 * fabs(loss_sum / IMAGES),
            "evaluation: mean loss %.8g, the reference %.8g", loss, loss_sum / IMAGES);

  /* Clean (eps 0 in pixel space): learned, so that an attack has something to take away. */
  double clean =
      check_attack(t, &r, &c.loss, images, &(rp_attack){.kind = RP_ATTACK_FGSM}, "clean");
  cr_assert_gt(clean, 0.75, "the network did not learn: clean accuracy %g", clean);
  double fgsm = check_attack(t, &r, &c.loss, images,
                             &(rp_attack){.kind = RP_ATTACK_FGSM, .eps = 0.1}, "FGSM eps 0.1");
  cr_assert_lt(fgsm, clean, "FGSM took nothing away (%g, clean %g)", fgsm, clean);
  /* PGD with the documented default step, 2.5 eps / steps. */
  rp_attack pgd = {.kind = RP_ATTACK_PGD, .eps = 0.25, .steps = 3, .step_size = 2.5 * 0.25 / 3};
  cr_assert_eq(rp_pgd_default_step(0.25, 3), pgd.step_size);
  check_attack(t, &r, &c.loss, images, &pgd, "PGD eps 0.25, 3 steps");
  expect_attacked_pixels(t, &r, &c.loss, images, &pgd);
  /* Normalized space, the official quirk: eps in normalized units, clamped to [0, 1] there,
   * that is pixels to [mean, mean + std], which changes the image even at eps 0. */
  check_attack(t, &r, &c.loss, images,
               &(rp_attack){.kind = RP_ATTACK_FGSM, .eps = 0.5, .normalized_space = true},
               "FGSM normalized eps 0.5");
  double clamped = check_attack(t, &r, &c.loss, images,
                                &(rp_attack){.kind = RP_ATTACK_FGSM, .normalized_space = true},
                                "FGSM normalized eps 0");
  cr_assert_lt(clamped, clean,
               "the clamp changed no prediction (%g, clean %g): a trainer that skipped it at "
               "eps 0 would pass",
               clamped, clean);
  rp_trainer_destroy(t);

  /* The same weights judged by a TaylorGLO loss: the attack follows that loss's gradient. */
  c.loss = (rp_loss){
      .kind = RP_LOSS_TAYLORGLO,
      .theta = {1.5742f, -1.4446f, 2.3616f, -0.6632f, -2.8569f, -1.1313f, 0.8439f, 1.4872f}};
  ASSERT_OK(rp_trainer_create(test_ctx(), &c, &t));
  check_attack(t, &r, &c.loss, images, &(rp_attack){.kind = RP_ATTACK_FGSM, .eps = 0.3},
               "FGSM eps 0.3, TaylorGLO loss");
  rp_trainer_destroy(t);
  ref_cnn_free(&r.net), ref_cnn_free(&r.magnitude);
  free(images);
  remove_tree(dir);
  free(dir);
}
