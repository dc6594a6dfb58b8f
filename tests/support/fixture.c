#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rp_context *ctx;
static rp_recorder *rec;

rp_context *test_ctx(void) {
  if (!ctx) {
    /* Bindings reach into the guard regions after the tensors (vk/recorder.h), so that an
     * access past a tensor's end is seen on lavapipe too. */
    _Static_assert(GUARD_FLOATS * sizeof(float) == RP_BIND_SLACK_BYTES,
                   "the slack covers the guard region exactly");
    setenv("REPRO_BIND_SLACK", "1", 0);
    /* Validation is on unless REPRO_VALIDATE=0 says otherwise (a GPU machine without the
     * layer installed). */
    const char *v = getenv("REPRO_VALIDATE");
    bool validate = !(v && strcmp(v, "0") == 0);
    rp_status st = rp_context_create(&(rp_context_options){.validate = validate}, &ctx);
    cr_assert_eq(st, RP_OK, "cannot create a Vulkan context: %s", rp_error_message());
  }
  return ctx;
}

rp_recorder *test_recorder(void) {
  if (!rec) ASSERT_OK(rp_recorder_create(test_ctx(), &rec));
  ASSERT_OK(rp_rec_begin(rec));
  return rec;
}

void test_use_texel(bool texel) {
  setenv("REPRO_PROFILE", "1", 1);
  setenv("REPRO_TEXEL", texel ? "1" : "0", 1);
}

rp_recorder *test_profiled_recorder(void) {
  rp_recorder *r = test_recorder();
  cr_assert_geq(rp_rec_timestamp(r), 0, "no timestamps on this device");
  return r;
}

bool test_ran_shader(rp_recorder *r, const char *shader) {
  for (uint32_t i = 0; i < rp_rec_profile_count(r); i++) {
    const char *name;
    double ms;
    ASSERT_OK(rp_rec_profile_entry(r, i, &name, &ms));
    if (strcmp(name, shader) == 0) return true;
  }
  return false;
}

void test_limit_workgroups(uint32_t max_x, uint32_t max_z) {
  /* the caps are filled once per context and read at every dispatch */
  rp_caps *caps = (rp_caps *)rp_context_caps(test_ctx());
  caps->max_workgroup_count[0] = max_x;
  if (max_z) caps->max_workgroup_count[2] = max_z;
}

void test_as_gpu(void) {
  rp_caps *caps = (rp_caps *)rp_context_caps(test_ctx()); /* as test_limit_workgroups */
  caps->device_class = RP_CLASS_DISCRETE;
}

void test_teardown(void) {
  if (!ctx) return;
  rp_recorder_destroy(rec);
  rec = NULL;
  uint64_t messages = rp_context_validation_messages(ctx);
  rp_context_destroy(ctx); /* destruction can be reported on too */
  ctx = NULL;
  /* An assertion in a fini does not change Criterion's verdict, so a report from the
   * validation layer fails the test the way a crash does. */
  if (messages != 0) {
    fprintf(stderr, "FAILED: the validation layer reported %llu messages (above)\n",
            (unsigned long long)messages);
    abort();
  }
}

guarded guarded_create(int ndim, const int64_t *shape) {
  static uint32_t created;
  guarded g;
  memset(&g, 0, sizeof g);
  rp_tensor probe = {.ndim = ndim};
  memcpy(probe.shape, shape, (size_t)ndim * sizeof *shape);
  int64_t n = rp_tensor_numel(&probe) + (int64_t)2 * GUARD_FLOATS;
  ASSERT_OK(rp_tensor_create(test_ctx(), 1, &n, &g.whole));
  g.view = probe;
  g.view.buffer = g.whole.buffer;
  g.view.buffer.offset += GUARD_FLOATS * sizeof(float);
  g.view.buffer.size = rp_tensor_bytes(&probe);
  g.guard = 0x7fc00000u | (0x5a000u + (++created & 0xfffu)); /* a quiet NaN, payload its own */
  return g;
}

void guarded_upload(const guarded *g, const float *src) {
  int64_t n = rp_tensor_numel(&g->whole);
  float *all = malloc((size_t)n * sizeof *all);
  for (int64_t i = 0; i < n; i++) memcpy(&all[i], &g->guard, sizeof(float));
  memcpy(all + GUARD_FLOATS, src, rp_tensor_bytes(&g->view));
  ASSERT_OK(rp_tensor_upload(test_ctx(), &g->whole, all));
  free(all);
}

void guarded_download(const guarded *g, float *dst) {
  int64_t n = rp_tensor_numel(&g->whole), inner = rp_tensor_numel(&g->view);
  float *all = malloc((size_t)n * sizeof *all);
  ASSERT_OK(rp_tensor_download(test_ctx(), &g->whole, all));
  for (int64_t i = 0; i < GUARD_FLOATS; i++) {
    uint32_t before, after; /* bits: the guards are NaN */
    memcpy(&before, &all[i], sizeof before);
    memcpy(&after, &all[GUARD_FLOATS + inner + i], sizeof after);
    cr_assert_eq(before, g->guard, "write before the output, %lld floats ahead (bits %08x)",
                 (long long)(GUARD_FLOATS - i), before);
    cr_assert_eq(after, g->guard, "write past the output, at +%lld (bits %08x)", (long long)i,
                 after);
  }
  memcpy(dst, all + GUARD_FLOATS, (size_t)inner * sizeof *dst);
  free(all);
}

void guarded_destroy(guarded *g) { rp_tensor_destroy(test_ctx(), &g->whole); }

void fill_random(float *x, int64_t n, uint32_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    x[i] = (float)((s >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
  }
}
