/* Networks end to end on tiny shapes: the graph's backward pass against finite differences of
 * its own forward pass (every layer kind, a residual add, a flatten), that SGD makes the loss
 * fall, that one seed gives the same bits twice, and that a checkpoint reloads exactly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/models.h"
#include "nn/net.h"
#include "support/fixture.h"
#include "train/checkpoint.h"

TestSuite(net, .fini = test_teardown);

enum { BATCH = 4, CLASSES = 3 };

/* Every layer kind on a 2x6x6 input: normalize, conv+bn+relu, a residual block, max-pool, with
 * `dropout` > 0 a dropout layer, avg-pool, conv, global pool, and a flatten+linear head through a
 * second branch. */
static void build_tiny_of(rp_net *net, int batch, uint64_t seed, float dropout) {
  rp_status st = RP_OK;
  static const float mean[2] = {0.4f, 0.5f}, std[2] = {0.3f, 0.2f};
  rp_net_init(net, test_ctx(), "tiny", batch, CLASSES);
  int x = rp_net_input(net, 2, 6, 6, &st);
  x = rp_net_normalize(net, x, mean, std, &st);
  x = rp_net_conv(net, x, "conv1", 4, 3, 1, 1, true, &st);
  x = rp_net_batchnorm(net, x, "bn1", &st);
  x = rp_net_relu(net, x, &st);
  int r = rp_net_conv(net, x, "res.conv", 4, 3, 1, 1, false, &st);
  r = rp_net_batchnorm(net, r, "res.bn", &st);
  x = rp_net_add(net, x, r, &st);
  x = rp_net_maxpool(net, x, 2, 2, 0, &st);
  if (dropout > 0) x = rp_net_dropout(net, x, dropout, &st);
  int a = rp_net_avgpool(net, x, 3, 1, 1, &st);
  a = rp_net_conv(net, a, "conv2", 5, 1, 1, 0, true, &st);
  a = rp_net_global_avgpool(net, a, &st);
  int f = rp_net_flatten(net, x, &st);
  f = rp_net_linear(net, f, "fc1", 5, &st);
  x = rp_net_add(net, a, f, &st);
  x = rp_net_relu(net, x, &st);
  x = rp_net_linear(net, x, "fc2", CLASSES, &st);
  cr_assert(x >= 0, "building: %s", rp_error_message());
  ASSERT_OK(rp_net_allocate(net, seed));
}

static void build_tiny(rp_net *net, uint64_t seed, float dropout) {
  build_tiny_of(net, BATCH, seed, dropout);
}

static void set_batch(rp_net *net, uint32_t seed) {
  const rp_node *in = rp_net_input_node(net);
  float *px = in->y.buffer.mapped;
  fill_random(px, rp_tensor_numel(&in->y), seed);
  for (int64_t i = 0; i < rp_tensor_numel(&in->y); i++) px[i] = 0.5f + 0.5f * px[i];
  uint32_t *labels = net->labels.buffer.mapped;
  for (int i = 0; i < BATCH; i++) labels[i] = (uint32_t)(i * 7 + seed) % CLASSES;
}

static float *download_param(rp_net *net, int i) {
  float *h = malloc((size_t)rp_tensor_bytes(&net->params[i].value));
  cr_assert_not_null(h);
  ASSERT_OK(rp_tensor_download(net->ctx, &net->params[i].value, h));
  return h;
}

/* The mean loss of the batch in training mode (batch statistics), by running forward + loss. */
static double forward_loss(rp_net *net, rp_recorder *rec, const rp_tensor *sums) {
  memset(sums->buffer.mapped, 0, 3 * sizeof(float));
  ASSERT_OK(rp_rec_run(rec));
  return ((float *)sums->buffer.mapped)[RP_STAT_LOSS] / BATCH;
}

/* Two recordings of `mode`: `fwd` gives the batch's loss into `sums`, `bwd` every gradient
 * (the input's included) of the mean loss; `bwd` has run once when this returns. */
typedef struct grad_check {
  rp_recorder *fwd, *bwd;
  rp_tensor sums;
} grad_check;

static grad_check record_gradients(rp_net *net, rp_mode mode) {
  grad_check g;
  rp_loss ce = {.kind = RP_LOSS_CE};
  int64_t three = 3;
  ASSERT_OK(rp_tensor_create_mapped(net->ctx, 1, &three, &g.sums));
  ASSERT_OK(rp_recorder_create(net->ctx, &g.bwd));
  ASSERT_OK(rp_rec_begin(g.bwd));
  ASSERT_OK(rp_net_record_forward(net, g.bwd, mode));
  ASSERT_OK(rp_net_record_loss(net, g.bwd, &ce, BATCH, true, NULL));
  ASSERT_OK(rp_net_record_backward(net, g.bwd, true));
  ASSERT_OK(rp_rec_end(g.bwd));
  ASSERT_OK(rp_rec_run(g.bwd));
  ASSERT_OK(rp_recorder_create(net->ctx, &g.fwd));
  ASSERT_OK(rp_rec_begin(g.fwd));
  ASSERT_OK(rp_net_record_forward(net, g.fwd, mode));
  ASSERT_OK(rp_net_record_loss(net, g.fwd, &ce, BATCH, false, &g.sums));
  ASSERT_OK(rp_rec_end(g.fwd));
  return g;
}

static void grad_check_free(rp_net *net, grad_check *g) {
  rp_recorder_destroy(g->fwd);
  rp_recorder_destroy(g->bwd);
  rp_tensor_destroy(net->ctx, &g->sums);
}

/* The gradients of one tensor against central differences, sampled: elementwise within a
 * loose bound (a gross error at one element), and as vectors within 5% of the differences'
 * norm plus their noise, which they must stand well above, so that a gradient of zeros, or one
 * off by a fraction everywhere, fails. The noise: the loss is summed in fp32 (about 1e-7
 * relative, 1e-7 absolute at a loss near 1), divided by the step 2 eps (6e-3): some 3e-5 per
 * difference; FD_NOISE is a few times that. */
#define FD_NOISE 1e-4

typedef struct fd_compare {
  double err2, fd2; /* sums of squares: backward - FD, FD */
  int count;
} fd_compare;

static void fd_add(fd_compare *c, const char *what, long long k, double backward, double fd) {
  cr_expect(fabs(fd - backward) <= 2e-3 + 0.05 * fabs(fd), "%s[%lld]: backward %.6g, FD %.6g", what,
            k, backward, fd);
  c->err2 += (backward - fd) * (backward - fd);
  c->fd2 += fd * fd;
  c->count++;
}

/* `vanishing`: a gradient that is 0 by the network's form (a bias that batch norm cancels),
 * whose differences are all noise and whose backward must be 0 within it. */
static void fd_expect(const fd_compare *c, const char *what, bool vanishing) {
  double noise = FD_NOISE * sqrt((double)c->count), err = sqrt(c->err2), norm = sqrt(c->fd2);
  cr_log_info("%s: %d samples, |FD| %.3g, |backward - FD| %.3g", what, c->count, norm, err);
  if (vanishing) {
    cr_expect(norm <= noise && err <= 2 * noise, "%s: |FD| %.3g and |backward - FD| %.3g, not 0",
              what, norm, err);
    return;
  }
  cr_expect(norm >= 10 * noise, "%s: |FD| %.3g over %d samples, too near its noise %.3g to check",
            what, norm, c->count, noise);
  cr_expect(err <= 0.05 * norm + noise, "%s: |backward - FD| %.3g against |FD| %.3g", what, err,
            norm);
}

/* Central differences (step eps, in float, through the device's forward pass) of the loss
 * with respect to every `stride`-th input pixel against the input gradient; returns the
 * largest |FD| seen. */
static double check_input_gradient(rp_net *net, grad_check *g, int64_t stride, double eps) {
  const rp_node *in = rp_net_input_node(net);
  float *dx = malloc((size_t)rp_tensor_bytes(&in->dy));
  ASSERT_OK(rp_tensor_download(net->ctx, &in->dy, dx));
  float *px = in->y.buffer.mapped;
  double largest = 0;
  fd_compare c = {0};
  for (int64_t k = 0; k < rp_tensor_numel(&in->y); k += stride) {
    float saved = px[k];
    px[k] = saved + (float)eps;
    double up = forward_loss(net, g->fwd, &g->sums);
    px[k] = saved - (float)eps;
    double down = forward_loss(net, g->fwd, &g->sums);
    px[k] = saved;
    double fd = (up - down) / (2 * eps);
    if (fabs(fd) > largest) largest = fabs(fd);
    fd_add(&c, "input", (long long)k, dx[k], fd);
  }
  fd_expect(&c, "input", false);
  free(dx);
  return largest;
}

/* Every trainable parameter's gradient, and the input's, against central differences of the
 * training-mode loss; with `dropout`, a dropout layer after the max-pool, whose mask every
 * forward pass draws again from the same random state (seed and step), so it is the same one. */
static void check_backward(float dropout) {
  rp_net net;
  build_tiny(&net, 7, dropout);
  set_batch(&net, 3);
  uint32_t *rng = net.rng.buffer.mapped;
  rng[0] = 12345, rng[1] = 6, rng[2] = 9; /* seed low, high, step */
  grad_check g = record_gradients(&net, RP_TRAIN);

  /* Every trainable parameter tensor: a few of its elements, central differences in float
   * through the device's own forward pass. eps trades truncation against rounding: at 1e-2
   * the kinks of ReLU and max-pool, steeper behind dropout's scale of 2, bias the differences
   * by up to 20%. */
  const double eps = 3e-3;
  int checked = 0;
  for (int p = 0; p < net.param_count; p++) {
    rp_param *prm = &net.params[p];
    if (!prm->trainable) continue;
    int64_t n = rp_tensor_numel(&prm->value);
    float *w = download_param(&net, p);
    float *grad = malloc((size_t)n * sizeof *grad);
    ASSERT_OK(rp_tensor_download(net.ctx, &prm->grad, grad));
    fd_compare c = {0};
    for (int64_t k = 0; k < n; k += n / 8 + 1) {
      float saved = w[k];
      w[k] = saved + (float)eps;
      ASSERT_OK(rp_tensor_upload(net.ctx, &prm->value, w));
      double up = forward_loss(&net, g.fwd, &g.sums);
      w[k] = saved - (float)eps;
      ASSERT_OK(rp_tensor_upload(net.ctx, &prm->value, w));
      double down = forward_loss(&net, g.fwd, &g.sums);
      w[k] = saved;
      ASSERT_OK(rp_tensor_upload(net.ctx, &prm->value, w));
      double fd = (up - down) / (2 * eps);
      fd_add(&c, prm->name, (long long)k, grad[k], fd);
      checked++;
    }
    /* conv1's bias is followed by batch norm, which subtracts the channel's mean: it cancels */
    fd_expect(&c, prm->name, strcmp(prm->name, "conv1.bias") == 0);
    free(w), free(grad);
  }
  cr_assert(checked > 20);

  /* The input gradient too (what FGSM needs): perturb a few input pixels. */
  check_input_gradient(&net, &g, 37, eps);
  grad_check_free(&net, &g);
  rp_net_destroy(&net);
}

Test(net, backward_matches_finite_differences) { check_backward(0); }

Test(net, backward_through_dropout_matches_finite_differences) { check_backward(0.5f); }

/* One training-mode forward, loss and backward pass of `rows` rows (the net's batch, or fewer
 * through rp_net_set_rows); the loss statistics' sums into `sums`. */
static void record_and_run_rows(rp_net *net, int rows, rp_tensor *sums) {
  rp_loss ce = {.kind = RP_LOSS_CE};
  int64_t three = 3;
  ASSERT_OK(rp_tensor_create_mapped(net->ctx, 1, &three, sums));
  memset(sums->buffer.mapped, 0, 3 * sizeof(float));
  rp_recorder *rec;
  ASSERT_OK(rp_recorder_create(net->ctx, &rec));
  ASSERT_OK(rp_rec_begin(rec));
  ASSERT_OK(rp_net_record_forward(net, rec, RP_TRAIN));
  ASSERT_OK(rp_net_record_loss(net, rec, &ce, (uint32_t)rows, true, sums));
  ASSERT_OK(rp_net_record_backward(net, rec, true));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  rp_recorder_destroy(rec);
}

static void expect_close(const char *what, const float *a, const float *b, int64_t n) {
  for (int64_t k = 0; k < n; k++)
    cr_expect(fabsf(a[k] - b[k]) <= 1e-5f + 1e-4f * fabsf(b[k]), "%s[%lld]: %.8g, not %.8g", what,
              (long long)k, (double)a[k], (double)b[k]);
}

/* The partial last batch of an epoch: a batch of 4 set to 3 rows computes what a batch of 3
 * computes on the same rows, batch norm's statistics and running statistics included (over 3
 * rows, not 4), every gradient and the input's, and the loss; then the whole batch again. */
Test(net, fewer_rows_compute_as_a_smaller_batch) {
  rp_net four, three;
  build_tiny_of(&four, 4, 7, 0);
  build_tiny_of(&three, 3, 7, 0);
  set_batch(&four, 5);
  const rp_node *in4 = rp_net_input_node(&four), *in3 = rp_net_input_node(&three);
  memcpy(in3->y.buffer.mapped, in4->y.buffer.mapped, (size_t)rp_tensor_bytes(&in3->y));
  memcpy(three.labels.buffer.mapped, four.labels.buffer.mapped, 3 * sizeof(uint32_t));
  cr_assert_eq(rp_net_set_rows(&four, 0), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_net_set_rows(&four, 5), RP_ERR_INVALID_ARGUMENT);
  ASSERT_OK(rp_net_set_rows(&four, 3));
  rp_tensor sums4, sums3;
  record_and_run_rows(&four, 3, &sums4);
  record_and_run_rows(&three, 3, &sums3);
  expect_close("loss sums", sums4.buffer.mapped, sums3.buffer.mapped, 3);
  for (int p = 0; p < four.param_count; p++) {
    rp_param *a = &four.params[p], *b = &three.params[p];
    int64_t n = rp_tensor_numel(&a->value);
    float *ha = malloc((size_t)n * sizeof *ha), *hb = malloc((size_t)n * sizeof *hb);
    /* the gradients, and batch norm's running statistics updated by the forward pass */
    const rp_tensor *ta = a->trainable ? &a->grad : &a->value;
    const rp_tensor *tb = b->trainable ? &b->grad : &b->value;
    ASSERT_OK(rp_tensor_download(four.ctx, ta, ha));
    ASSERT_OK(rp_tensor_download(three.ctx, tb, hb));
    expect_close(a->name, ha, hb, n);
    free(ha), free(hb);
  }
  int64_t n = rp_tensor_numel(&in3->dy);
  float *da = malloc((size_t)n * sizeof *da), *db = malloc((size_t)n * sizeof *db);
  ASSERT_OK(rp_tensor_download(four.ctx, &in4->dy, da)); /* a view of 3 rows */
  ASSERT_OK(rp_tensor_download(three.ctx, &in3->dy, db));
  expect_close("input gradient", da, db, n);
  free(da), free(db);
  ASSERT_OK(rp_net_set_rows(&four, 4));
  cr_assert(in4->y.shape[0] == 4 && four.labels.shape[0] == 4 && four.stats.shape[1] == 4);
  cr_assert(rp_net_output(&four)->dy.shape[0] == 4);
  rp_tensor_destroy(four.ctx, &sums4);
  rp_tensor_destroy(three.ctx, &sums3);
  rp_net_destroy(&four);
  rp_net_destroy(&three);
}

/* Trains the tiny net for `steps` SGD steps on fixed batches; returns the losses. */
static void train_steps(rp_net *net, int steps, double *losses) {
  rp_loss ce = {.kind = RP_LOSS_CE};
  rp_tensor sums;
  int64_t three = 3;
  ASSERT_OK(rp_tensor_create_mapped(net->ctx, 1, &three, &sums));
  rp_recorder *rec;
  ASSERT_OK(rp_recorder_create(net->ctx, &rec));
  ASSERT_OK(rp_rec_begin(rec));
  ASSERT_OK(rp_net_record_forward(net, rec, RP_TRAIN));
  ASSERT_OK(rp_net_record_loss(net, rec, &ce, BATCH, true, &sums));
  ASSERT_OK(rp_net_record_backward(net, rec, false));
  ASSERT_OK(rp_net_record_update(net, rec, 0.9f, 1e-3f, false));
  ASSERT_OK(rp_rec_end(rec));
  ((float *)net->hyper.buffer.mapped)[0] = 0.05f;
  uint32_t *rng = net->rng.buffer.mapped;
  rng[0] = 99;
  for (int s = 0; s < steps; s++) {
    set_batch(net, (uint32_t)(s % 2));
    rng[2] = (uint32_t)s;
    memset(sums.buffer.mapped, 0, 3 * sizeof(float));
    ASSERT_OK(rp_rec_run(rec));
    rp_net_count_step(net);
    losses[s] = ((float *)sums.buffer.mapped)[RP_STAT_LOSS] / BATCH;
  }
  rp_recorder_destroy(rec);
  rp_tensor_destroy(net->ctx, &sums);
}

Test(net, sgd_makes_the_loss_fall) {
  rp_net net;
  build_tiny(&net, 11, 0.25f);
  double losses[40];
  train_steps(&net, 40, losses);
  double first = (losses[0] + losses[1]) / 2, last = (losses[38] + losses[39]) / 2;
  cr_assert(last < 0.5 * first, "loss %.4f at the start, %.4f after 40 steps", first, last);
  rp_net_destroy(&net);
}

/* Same seed, same device: bit-identical parameters (dropout masks included) after N steps. */
Test(net, one_seed_gives_identical_bits) {
  float *params[2][64] = {{0}};
  int count = 0;
  for (int run = 0; run < 2; run++) {
    rp_net net;
    build_tiny(&net, 5, 0.25f);
    double losses[6];
    train_steps(&net, 6, losses);
    count = net.param_count;
    cr_assert(count <= 64);
    for (int p = 0; p < count; p++) params[run][p] = download_param(&net, p);
    if (run == 1) {
      for (int p = 0; p < count; p++)
        cr_assert(params[0][p] && params[1][p] &&
                      memcmp(params[0][p], params[1][p],
                             (size_t)rp_tensor_bytes(&net.params[p].value)) == 0,
                  "%s differs between two runs with one seed", net.params[p].name);
    }
    rp_net_destroy(&net);
  }
  /* and a different seed gives different weights */
  rp_net other;
  build_tiny(&other, 6, 0.25f);
  float *w = download_param(&other, 0);
  cr_assert(params[0][0] &&
            memcmp(w, params[0][0], (size_t)rp_tensor_bytes(&other.params[0].value)) != 0);
  free(w);
  rp_net_destroy(&other);
  for (int run = 0; run < 2; run++)
    for (int p = 0; p < count; p++) free(params[run][p]);
}

/* Logits of the current batch in eval mode. */
static float *eval_logits(rp_net *net) {
  rp_loss ce = {.kind = RP_LOSS_CE};
  rp_recorder *rec;
  ASSERT_OK(rp_recorder_create(net->ctx, &rec));
  ASSERT_OK(rp_rec_begin(rec));
  ASSERT_OK(rp_net_record_forward(net, rec, RP_EVAL));
  ASSERT_OK(rp_net_record_loss(net, rec, &ce, BATCH, false, NULL));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  const rp_tensor *y = &rp_net_output(net)->y;
  float *h = malloc((size_t)rp_tensor_bytes(y));
  ASSERT_OK(rp_tensor_download(net->ctx, y, h));
  rp_recorder_destroy(rec);
  return h;
}

Test(net, checkpoint_reloads_exactly) {
  rp_net net, fresh;
  build_tiny(&net, 21, 0);
  double losses[3];
  train_steps(&net, 3, losses); /* moves weights and running statistics off their init */
  set_batch(&net, 9);
  float *want = eval_logits(&net);
  char path[] = "/tmp/repro-test-ckpt-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  rp_checkpoint_info info = {"synthetic", "ce", 1, 21};
  ASSERT_OK(rp_checkpoint_save(&net, path, &info));
  build_tiny(&fresh, 22, 0);
  ASSERT_OK(rp_checkpoint_load(&fresh, path));
  cr_assert_eq(fresh.bn_batches[0], 3, "num_batches_tracked %lld", (long long)fresh.bn_batches[0]);
  set_batch(&fresh, 9);
  float *got = eval_logits(&fresh);
  /* the same bits, not merely equal values: */
  // NOLINTNEXTLINE(bugprone-suspicious-memory-comparison)
  cr_assert(memcmp(want, got, (size_t)BATCH * CLASSES * sizeof(float)) == 0,
            "eval logits differ after a reload");
  free(want), free(got);
  /* a checkpoint of another model is refused with its name in the message */
  rp_net other;
  rp_net_init(&other, test_ctx(), "other", BATCH, CLASSES);
  rp_status st = RP_OK;
  int x = rp_net_input(&other, 2, 6, 6, &st);
  x = rp_net_flatten(&other, x, &st);
  x = rp_net_linear(&other, x, "fc", CLASSES, &st);
  cr_assert(x >= 0, "building: %s", rp_error_message());
  ASSERT_OK(rp_net_allocate(&other, 1));
  cr_assert_neq(rp_checkpoint_load(&other, path), RP_OK);
  cr_assert(strstr(rp_error_message(), path), "message: %s", rp_error_message());
  remove(path);
  rp_net_destroy(&other);
  rp_net_destroy(&net);
  rp_net_destroy(&fresh);
}

/* What FGSM needs: the input gradient of the eval-mode loss, where dropout is the identity
 * (and so is its gradient, whatever mask the last training step left behind). */
Test(net, eval_mode_input_gradient_matches_finite_differences) {
  rp_net net;
  build_tiny(&net, 13, 0.5f);
  double losses[3];
  train_steps(&net, 3, losses); /* leaves a dropout mask and running statistics behind */
  set_batch(&net, 4);
  grad_check g = record_gradients(&net, RP_EVAL);
  double largest = check_input_gradient(&net, &g, 7, 1e-2);
  cr_assert(largest > 1e-3, "the input gradient is ~0 everywhere: nothing for FGSM to follow");
  grad_check_free(&net, &g);
  rp_net_destroy(&net);
}
