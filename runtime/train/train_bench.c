#include "train/train_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/models.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

rp_status rp_bench_train_step(rp_context *ctx, const char *model, int batch, int steps, int repeats,
                              rp_bench_result *out, rp_profile_fn profile, void *user) {
  memset(out, 0, sizeof *out);
  bool mnist = strcmp(model, "mnist_cnn") == 0;
  static const float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.25f, 0.25f, 0.25f};
  rp_model_input in = {batch, mnist ? 1 : 3, mnist ? 28 : 32, mnist ? 28 : 32, 10, mean, std};
  rp_net net;
  rp_status st = rp_model_build(ctx, model, &in, 1, &net);
  if (st) return st;
  /* Synthetic batch: pixels and labels from a fixed generator, the same every step. */
  const rp_node *input = rp_net_input_node(&net);
  float *pixels = input->y.buffer.mapped;
  uint32_t *labels = net.labels.buffer.mapped;
  uint32_t state = 12345u;
  for (int64_t i = 0; i < rp_tensor_numel(&input->y); i++) {
    state = state * 1664525u + 1013904223u;
    pixels[i] = (float)(state >> 8) * 0x1.0p-24f;
  }
  for (int i = 0; i < batch; i++) labels[i] = (uint32_t)i % 10u;
  ((float *)net.hyper.buffer.mapped)[0] = 0.01f;

  rp_recorder *rec = NULL;
  rp_loss ce = {.kind = RP_LOSS_CE};
  st = rp_recorder_create(ctx, &rec);
  if (!st) st = rp_rec_begin(rec);
  if (!st) rp_rec_timestamp(rec); /* the start of the profile, when there is one */
  if (!st) st = rp_net_record_forward(&net, rec, RP_TRAIN);
  if (!st) st = rp_net_record_loss(&net, rec, &ce, (uint32_t)batch, true, NULL);
  if (!st) st = rp_net_record_backward(&net, rec, false);
  if (!st) st = rp_net_record_update(&net, rec, 0.9f, 5e-4f, false);
  if (!st) st = rp_rec_end(rec);
  if (!st) st = rp_rec_run(rec); /* warm-up: pipelines, caches, first-touch of memory */
  double *ms = calloc((size_t)repeats, sizeof *ms);
  if (!st && !ms) st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  uint32_t *rng = net.rng.buffer.mapped;
  for (int r = 0; ms && r < repeats && !st; r++) {
    double start = now_ms();
    for (int s = 0; s < steps && !st; s++) {
      rng[2] = (uint32_t)(r * steps + s);
      st = rp_rec_run(rec); /* as training does: one submit and wait per step */
    }
    ms[r] = now_ms() - start;
  }
  if (!st && ms) {
    qsort(ms, (size_t)repeats, sizeof *ms, compare_doubles);
    snprintf(out->name, sizeof out->name, "train_%s", model);
    snprintf(out->unit, sizeof out->unit, "images/s");
    out->median_ms = ms[repeats / 2];
    out->min_ms = ms[0];
    out->max_ms = ms[repeats - 1];
    out->repeats = repeats;
    out->work = (double)batch * steps;
    out->value = out->work / (out->median_ms * 1e-3);
    snprintf(out->detail, sizeof out->detail, "batch %d, %d steps per run, %u dispatches/step",
             batch, steps, rp_rec_dispatch_count(rec));
  }
  for (uint32_t i = 0; !st && profile && i < rp_rec_profile_count(rec); i++) {
    const char *shader;
    double t;
    st = rp_rec_profile_entry(rec, i, &shader, &t);
    if (!st) profile(shader, t, user);
  }
  free(ms);
  rp_recorder_destroy(rec);
  rp_net_destroy(&net);
  return st;
}
