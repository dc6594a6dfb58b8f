/* The recorder: barriers exactly where hazards are, re-submission without re-recording,
 * timestamps, and the errors it reports. Synchronization validation (on in the tests) checks
 * that no barrier is missing; the counts below check that none is wasted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/dispatch.h"
#include "support/fixture.h"
#include "vk/context_internal.h" /* to watch the barriers the recorder records */

/* The barrier counts below are of the bindings' own ranges: without the slack the other tests
 * bind with (support/fixture.c), which recorder.bind_slack_is_tracked_as_bound checks. */
static void without_slack(void) { setenv("REPRO_BIND_SLACK", "0", 1); }

TestSuite(recorder, .init = without_slack, .fini = test_teardown);

static rp_tensor make(int64_t n) {
  rp_tensor t;
  ASSERT_OK(rp_tensor_create(test_ctx(), 1, &n, &t));
  return t;
}

/* Every element of `t` is `value` (NaN: any NaN). */
static void expect_all(const rp_tensor *t, float value) {
  int64_t n = rp_tensor_numel(t);
  float *host = malloc((size_t)n * sizeof *host);
  ASSERT_OK(rp_tensor_download(test_ctx(), t, host));
  for (int64_t i = 0; i < n; i++)
    cr_assert(host[i] == value || (isnan(value) && isnan(host[i])), "[%lld] = %g, want %g",
              (long long)i, host[i], value);
  free(host);
}

/* A recorder of the test's own, begun, created with `variable`=1 (which a recorder reads when
 * it is created). */
static rp_recorder *recorder_with(const char *variable) {
  setenv(variable, "1", 1);
  rp_recorder *rec;
  ASSERT_OK(rp_recorder_create(test_ctx(), &rec));
  unsetenv(variable);
  ASSERT_OK(rp_rec_begin(rec));
  return rec;
}

Test(recorder, barriers_only_on_hazards) {
  rp_tensor a = make(1000), b = make(1000), c = make(1000);
  rp_recorder *rec = test_recorder();
  ASSERT_OK(rp_fill(rec, &a, 1.0f)); /* independent writes: no barrier */
  ASSERT_OK(rp_fill(rec, &b, 2.0f));
  cr_expect_eq(rp_rec_barrier_count(rec), 0);
  ASSERT_OK(rp_add(rec, &a, &b, &c)); /* reads what both wrote: read after write */
  cr_expect_eq(rp_rec_barrier_count(rec), 1);
  ASSERT_OK(rp_scale(rec, 3.0f, &b, &b)); /* rewrites b, which the add read: write after read */
  cr_expect_eq(rp_rec_barrier_count(rec), 2);
  ASSERT_OK(rp_fill(rec, &a, 5.0f)); /* a was last read before the previous barrier: free */
  cr_expect_eq(rp_rec_barrier_count(rec), 2);
  ASSERT_OK(rp_fill(rec, &a, 6.0f)); /* write after write */
  cr_expect_eq(rp_rec_barrier_count(rec), 3);
  cr_expect_eq(rp_rec_dispatch_count(rec), 6);
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  expect_all(&a, 6.0f);
  expect_all(&b, 6.0f);
  expect_all(&c, 3.0f);
  rp_tensor_destroy(test_ctx(), &a), rp_tensor_destroy(test_ctx(), &b),
      rp_tensor_destroy(test_ctx(), &c);
}

/* The barriers a recording records, as the command buffer gets them. Neither end's shows in its
 * results on lavapipe, whose queue runs in order on coherent memory, nor to the validation layer,
 * which checks hazards within one command buffer and not the host's reads; on a GPU, without
 * them the next step's reads race this one's writes and the host reads stale metrics. */
typedef struct seen_barrier {
  VkPipelineStageFlags src, dst;
  VkAccessFlags src_access, dst_access;
} seen_barrier;
static seen_barrier seen[16];
static int seen_count;
static PFN_vkCmdPipelineBarrier recorded_barrier;

static VKAPI_ATTR void VKAPI_CALL
watch_barrier(VkCommandBuffer cmd, VkPipelineStageFlags src, VkPipelineStageFlags dst,
              VkDependencyFlags flags, uint32_t memory_count, const VkMemoryBarrier *memory,
              uint32_t buffer_count, const VkBufferMemoryBarrier *buffers, uint32_t image_count,
              const VkImageMemoryBarrier *images) {
  if (seen_count < 16)
    seen[seen_count++] = (seen_barrier){src, dst, memory_count ? memory[0].srcAccessMask : 0,
                                        memory_count ? memory[0].dstAccessMask : 0};
  recorded_barrier(cmd, src, dst, flags, memory_count, memory, buffer_count, buffers, image_count,
                   images);
}

/* A recording begins with a barrier after whatever earlier submissions and uploads wrote (and
 * read), and ends with one that makes its writes visible to the host. */
Test(recorder, a_recording_follows_earlier_work_and_hands_its_writes_to_the_host) {
  rp_context *ctx = test_ctx();
  rp_tensor a = make(1000);
  rp_recorder *rec;
  ASSERT_OK(rp_recorder_create(ctx, &rec));
  recorded_barrier = ctx->vk.vkCmdPipelineBarrier;
  ctx->vk.vkCmdPipelineBarrier = watch_barrier;
  seen_count = 0;
  rp_status st = rp_rec_begin(rec);
  if (!st) st = rp_fill(rec, &a, 4.0f); /* the first dispatch: no hazard barrier */
  if (!st) st = rp_rec_end(rec);
  ctx->vk.vkCmdPipelineBarrier = recorded_barrier;
  ASSERT_OK(st);
  cr_assert_eq(seen_count, 2, "%d barriers, not one at each end", seen_count);
  const VkPipelineStageFlags compute = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
  cr_expect_eq(seen[0].src, compute | VK_PIPELINE_STAGE_TRANSFER_BIT);
  cr_expect_eq(seen[0].dst, compute);
  cr_expect_eq(seen[0].src_access, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
  cr_expect_eq(seen[0].dst_access, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
  cr_expect_eq(seen[1].src, compute);
  cr_expect_eq(seen[1].dst, VK_PIPELINE_STAGE_HOST_BIT);
  cr_expect_eq(seen[1].src_access, VK_ACCESS_SHADER_WRITE_BIT);
  cr_expect_eq(seen[1].dst_access, VK_ACCESS_HOST_READ_BIT);
  ASSERT_OK(rp_rec_run(rec));
  expect_all(&a, 4.0f);
  rp_recorder_destroy(rec);
  rp_tensor_destroy(ctx, &a);
}

/* The two halves of `whole` (2 x 256 floats) as tensors of their own: 1 KiB each, so both are
 * aligned for binding. */
static void halves(const rp_tensor *whole, rp_tensor *lo, rp_tensor *hi) {
  *lo = *hi = *whole;
  lo->shape[0] = hi->shape[0] = 256;
  lo->buffer.size = hi->buffer.size = 256 * sizeof(float);
  hi->buffer.offset += 256 * sizeof(float);
}

Test(recorder, disjoint_ranges_of_one_buffer_need_no_barrier) {
  rp_tensor whole = make((int64_t)2 * 256), lo, hi;
  halves(&whole, &lo, &hi);
  rp_recorder *rec = test_recorder();
  ASSERT_OK(rp_fill(rec, &lo, 1.0f));
  ASSERT_OK(rp_fill(rec, &hi, 2.0f));
  cr_expect_eq(rp_rec_barrier_count(rec), 0);
  ASSERT_OK(rp_copy(rec, &lo, &hi));
  cr_expect_eq(rp_rec_barrier_count(rec), 1);
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  expect_all(&whole, 1.0f);
  rp_tensor_destroy(test_ctx(), &whole);
}

/* With REPRO_BIND_SLACK every binding reaches RP_BIND_SLACK_BYTES past its tensor, and the
 * hazards are tracked over that reach, as the validation layer checks them: the two halves
 * above now overlap. */
Test(recorder, bind_slack_is_tracked_as_bound) {
  rp_tensor whole = make((int64_t)2 * 256), lo, hi;
  halves(&whole, &lo, &hi);
  rp_recorder *rec = recorder_with("REPRO_BIND_SLACK");
  ASSERT_OK(rp_fill(rec, &lo, 1.0f));
  ASSERT_OK(rp_fill(rec, &hi, 2.0f)); /* lo's reach covers hi's first 256 bytes */
  cr_expect_eq(rp_rec_barrier_count(rec), 1);
  ASSERT_OK(rp_copy(rec, &hi, &lo));
  cr_expect_eq(rp_rec_barrier_count(rec), 2);
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  expect_all(&whole, 2.0f);
  rp_recorder_destroy(rec);
  rp_tensor_destroy(test_ctx(), &whole);
}

Test(recorder, full_barriers_switch) {
  rp_recorder *rec = recorder_with("REPRO_FULL_BARRIERS");
  rp_tensor a = make(64), b = make(64);
  ASSERT_OK(rp_fill(rec, &a, 1.0f));
  ASSERT_OK(rp_fill(rec, &b, 1.0f));
  ASSERT_OK(rp_fill(rec, &a, 4.0f));
  cr_expect_eq(rp_rec_barrier_count(rec), 2);
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  expect_all(&a, 4.0f);
  rp_recorder_destroy(rec);
  rp_tensor_destroy(test_ctx(), &a), rp_tensor_destroy(test_ctx(), &b);
}

/* REPRO_POISON_SCRATCH=1: scratch comes filled with NaN at every request, also when the buffer
 * handed out is one a dispatch has written since (synchronization validation checks the
 * barriers around the fill). */
Test(recorder, poisoned_scratch) {
  rp_recorder *rec = recorder_with("REPRO_POISON_SCRATCH");
  rp_tensor first = make(1000), second = make(1000);
  const rp_buffer *scratch, *again;
  ASSERT_OK(rp_rec_scratch(rec, 4000, &scratch));
  rp_tensor view = {.buffer = *scratch, .dtype = RP_F32, .ndim = 1, .shape = {1000}};
  ASSERT_OK(rp_copy(rec, &view, &first));
  ASSERT_OK(rp_fill(rec, &view, 2.0f));
  ASSERT_OK(rp_rec_scratch(rec, 4000, &again));
  cr_assert(again == scratch, "a second request of the same size got another buffer");
  ASSERT_OK(rp_copy(rec, &view, &second));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  expect_all(&first, NAN);
  expect_all(&second, NAN);
  rp_recorder_destroy(rec);
  rp_tensor_destroy(test_ctx(), &first), rp_tensor_destroy(test_ctx(), &second);
}

Test(recorder, resubmits_without_recording_again) {
  rp_tensor x = make(333), y = make(333);
  rp_recorder *rec = test_recorder();
  ASSERT_OK(rp_fill(rec, &x, 0.5f));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  rec = test_recorder();
  ASSERT_OK(rp_fill(rec, &y, 0.0f));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  /* y += x, recorded once, submitted five times */
  rec = test_recorder();
  ASSERT_OK(rp_axpy(rec, 1.0f, &x, &y));
  ASSERT_OK(rp_rec_end(rec));
  for (int i = 0; i < 5; i++) ASSERT_OK(rp_rec_submit(rec));
  ASSERT_OK(rp_rec_wait(rec));
  expect_all(&y, 2.5f);
  rp_tensor_destroy(test_ctx(), &x), rp_tensor_destroy(test_ctx(), &y);
}

Test(recorder, timestamps) {
  if (!rp_context_caps(test_ctx())->timestamps) cr_skip_test("device has no timestamps");
  rp_tensor x = make(1 << 20);
  rp_recorder *rec = test_recorder();
  int t0 = rp_rec_timestamp(rec);
  ASSERT_OK(rp_fill(rec, &x, 1.0f));
  int t1 = rp_rec_timestamp(rec);
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  double ms = -1;
  ASSERT_OK(rp_rec_elapsed_ms(rec, t0, t1, &ms));
  cr_assert(ms > 0.0 && ms < 10000.0, "filling 4 MiB took %g ms", ms);
  cr_assert_eq(rp_rec_elapsed_ms(rec, t0, 7, &ms), RP_ERR_INVALID_ARGUMENT);
  rp_tensor_destroy(test_ctx(), &x);
}

/* A pipeline beyond the device's limits is refused before the driver sees it, saying which
 * limit: the workgroup size (constant 0) and the buffers a shader binds. The buffer limits of
 * this device are lowered for the test to Vulkan's guarantees and below. */
Test(recorder, pipelines_beyond_device_limits_are_refused) {
  rp_context *ctx = test_ctx();
  rp_caps *caps = (rp_caps *)rp_context_caps(ctx);
  const rp_pipeline *p;
  uint32_t too_wide[] = {caps->max_workgroup_size[0] + 1}, none[] = {0};
  cr_assert_eq(rp_pipeline_get(ctx, &(rp_pipeline_key){"copy", 2, too_wide, 1, 0, 0}, &p),
               RP_ERR_TOO_LARGE);
  char want[512];
  snprintf(want, sizeof want, "copy: a workgroup of %u invocations; %s allows 1 to %u (%u in x)",
           too_wide[0], caps->name, caps->max_workgroup_invocations, caps->max_workgroup_size[0]);
  cr_assert_str_eq(rp_error_message(), want);
  cr_assert_eq(rp_pipeline_get(ctx, &(rp_pipeline_key){"copy", 2, none, 1, 0, 0}, &p),
               RP_ERR_TOO_LARGE);

  uint32_t storage = caps->max_storage_buffers_per_stage, sampled = caps->max_sampled_per_stage;
  uint32_t odd[] = {96}; /* a size no other test compiles: not found in the context's cache */
  caps->max_storage_buffers_per_stage = 1;
  cr_assert_eq(rp_pipeline_get(ctx, &(rp_pipeline_key){"copy", 2, odd, 1, 0, 0}, &p),
               RP_ERR_TOO_LARGE);
  snprintf(want, sizeof want, "copy: 2 storage and 0 texel buffers; %s allows 1 and %u in a shader",
           caps->name, sampled);
  cr_assert_str_eq(rp_error_message(), want);
  caps->max_sampled_per_stage = 0; /* a texel binding counts against the sampled limit */
  cr_assert_eq(rp_pipeline_get(ctx, &(rp_pipeline_key){"copy_texel", 2, odd, 1, 1u, 0}, &p),
               RP_ERR_TOO_LARGE);
  caps->max_sampled_per_stage = 1;
  ASSERT_OK(rp_pipeline_get(ctx, &(rp_pipeline_key){"copy_texel", 2, odd, 1, 1u, 0}, &p));
  caps->max_storage_buffers_per_stage = storage, caps->max_sampled_per_stage = sampled;
  ASSERT_OK(rp_pipeline_get(ctx, &(rp_pipeline_key){"copy", 2, odd, 1, 0, 0}, &p));
}

/* A counter narrower than 64 bits wraps, and the bits above its width are undefined. */
Test(recorder, timestamp_ticks_wrap) {
  uint64_t top36 = UINT64_C(1) << 36;
  cr_assert_eq(rp_timestamp_ticks(100, 250, 64), 150);
  cr_assert_eq(rp_timestamp_ticks(100, 250, 36), 150);
  cr_assert_eq(rp_timestamp_ticks(top36 - 10, 5, 36), 15);
  cr_assert_eq(rp_timestamp_ticks(UINT64_C(0xabc) << 48 | 7, UINT64_C(0x123) << 48 | 9, 48), 2);
  cr_assert_eq(rp_timestamp_ticks(UINT64_MAX - 1, 3, 64), 5);
  uint32_t bits = rp_context_caps(test_ctx())->timestamp_valid_bits;
  if (rp_context_caps(test_ctx())->timestamps)
    cr_assert(bits >= 36 && bits <= 64, "timestampValidBits %u", bits);
}

Test(recorder, refuses_misuse) {
  rp_tensor x = make(16);
  rp_recorder *rec = test_recorder();
  ASSERT_OK(rp_rec_end(rec));
  cr_assert_eq(rp_fill(rec, &x, 1.0f), RP_ERR_INVALID_ARGUMENT); /* not recording */
  rp_recorder *fresh;
  ASSERT_OK(rp_recorder_create(test_ctx(), &fresh));
  cr_assert_eq(rp_rec_submit(fresh), RP_ERR_INVALID_ARGUMENT); /* nothing recorded */
  rp_recorder_destroy(fresh);
  rp_tensor_destroy(test_ctx(), &x);
}

/* Texel bindings (vk/pipeline.h): a view at an offset of a buffer, its range rounded up to
 * whole texels, read correctly; a view the device cannot make, a texel binding written, and a
 * key whose vec4 bindings are not texel bindings are refused with an error saying so. */
Test(recorder, texel_bindings) {
  rp_context *ctx = test_ctx();
  int64_t n = 64;
  rp_tensor src = make(n), dst = make(n);
  float host[64], back[64];
  for (int i = 0; i < 64; i++) host[i] = (float)i + 0.25f;
  ASSERT_OK(rp_tensor_upload(ctx, &src, host));
  uint32_t spec[] = {RP_ELEMENTWISE_WORKGROUP};
  const rp_pipeline *copy;
  ASSERT_OK(rp_pipeline_get(ctx, &(rp_pipeline_key){"copy_texel", 2, spec, 1, 1u, 1u}, &copy));

  /* 7 floats from float 4 on (byte 16, aligned for a texel view on every device that allows
   * 16): two whole vec4 texels read, the second only in part. */
  uint32_t seven = 7, groups[3] = {1, 1, 1};
  rp_arg args[] = {{&src.buffer, 16, 7 * sizeof(float), RP_READ},
                   {&dst.buffer, 0, 7 * sizeof(float), RP_WRITE}};
  const rp_caps *caps = rp_context_caps(ctx);
  if (caps->min_texel_buffer_offset_alignment <= 16) {
    rp_recorder *rec = test_recorder();
    ASSERT_OK(rp_rec_dispatch(rec, copy, args, 2, &seven, sizeof seven, groups));
    ASSERT_OK(rp_rec_end(rec));
    ASSERT_OK(rp_rec_run(rec));
    ASSERT_OK(rp_tensor_download(ctx, &dst, back));
    for (int i = 0; i < 7; i++)
      cr_assert_eq(back[i], host[4 + i], "[%d] = %g, want %g", i, back[i], host[4 + i]);
  }

  rp_recorder *rec = test_recorder();
  args[0].offset = 4; /* not a whole vec4 texel from the start */
  cr_assert_eq(rp_rec_dispatch(rec, copy, args, 2, &seven, sizeof seven, groups), RP_ERR_TOO_LARGE);
  cr_assert(strstr(rp_error_message(), "does not fit a texel buffer") != NULL, "%s",
            rp_error_message());
  rec = test_recorder();
  args[0].offset = 0;
  args[0].access = RP_READ_WRITE;
  cr_assert_eq(rp_rec_dispatch(rec, copy, args, 2, &seven, sizeof seven, groups),
               RP_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(rp_error_message(), "can only read") != NULL, "%s", rp_error_message());
  ASSERT_OK(rp_rec_end(test_recorder()));

  const rp_pipeline *bad;
  cr_assert_eq(rp_pipeline_get(ctx, &(rp_pipeline_key){"copy_texel", 2, spec, 1, 1u, 3u}, &bad),
               RP_ERR_INVALID_ARGUMENT);
  rp_tensor_destroy(ctx, &src);
  rp_tensor_destroy(ctx, &dst);
}
