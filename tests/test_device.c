/* Device choice, capabilities, memory and the errors a user sees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/fixture.h"

TestSuite(device, .fini = test_teardown);

static rp_caps fake(uint32_t index, const char *name, rp_device_class cls) {
  rp_caps c;
  memset(&c, 0, sizeof c);
  c.index = index;
  snprintf(c.name, sizeof c.name, "%s", name);
  c.device_class = cls;
  c.api_version = VK_API_VERSION_1_3;
  return c;
}

Test(device, automatic_choice_prefers_discrete_then_integrated_then_cpu) {
  rp_caps list[4] = {
      fake(0, "llvmpipe", RP_CLASS_CPU), fake(1, "Intel UHD 770", RP_CLASS_INTEGRATED),
      fake(2, "NVIDIA H100", RP_CLASS_DISCRETE), fake(3, "AMD RX 7900", RP_CLASS_DISCRETE)};
  uint32_t chosen = 99;
  ASSERT_OK(rp_choose_device(list, 4, NULL, &chosen));
  cr_assert_eq(chosen, 2, "the first discrete GPU wins");
  ASSERT_OK(rp_choose_device(list, 2, "", &chosen));
  cr_assert_eq(chosen, 1);
  ASSERT_OK(rp_choose_device(list, 1, NULL, &chosen));
  cr_assert_eq(chosen, 0);
  list[2].compute_queue_family = list[3].compute_queue_family = UINT32_MAX;
  ASSERT_OK(rp_choose_device(list, 4, NULL, &chosen));
  cr_assert_eq(chosen, 1, "devices without compute are passed over");
  list[2].compute_queue_family = 0, list[2].api_version = VK_API_VERSION_1_0;
  ASSERT_OK(rp_choose_device(list, 4, NULL, &chosen));
  cr_assert_eq(chosen, 1, "devices without Vulkan 1.1 are passed over");
  list[0].api_version = list[1].api_version = VK_API_VERSION_1_0;
  cr_assert_eq(rp_choose_device(list, 4, NULL, &chosen), RP_ERR_NO_COMPUTE);
  cr_assert_str_eq(rp_error_message(), "no Vulkan device has a compute queue and Vulkan 1.1");
  ASSERT_OK(rp_choose_device(list, 4, "H100", &chosen)); /* asked for: its own error follows */
  cr_assert_eq(chosen, 2);
}

Test(device, override_by_index_or_name) {
  rp_caps list[3] = {fake(0, "llvmpipe (LLVM 15)", RP_CLASS_CPU),
                     fake(1, "NVIDIA H100", RP_CLASS_DISCRETE),
                     fake(2, "AMD RX 7900", RP_CLASS_DISCRETE)};
  uint32_t chosen = 99;
  ASSERT_OK(rp_choose_device(list, 3, "0", &chosen));
  cr_assert_eq(chosen, 0);
  ASSERT_OK(rp_choose_device(list, 3, "rx 79", &chosen));
  cr_assert_eq(chosen, 2, "names match in part, ignoring case");
  cr_assert_eq(rp_choose_device(list, 3, "7", &chosen), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), "device 7 requested, but there are 3 (see `repro devices`)");
  cr_assert_eq(rp_choose_device(list, 3, "quadro", &chosen), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(),
                   "no device whose name contains \"quadro\" (see `repro devices`)");
}

Test(device, unknown_device_is_a_clear_error) {
  rp_context *ctx = NULL;
  rp_status st = rp_context_create(&(rp_context_options){.device = "no-such-gpu"}, &ctx);
  cr_assert_eq(st, RP_ERR_INVALID_ARGUMENT);
  cr_assert_null(ctx);
  cr_assert(strstr(rp_error_message(), "no-such-gpu"), "%s", rp_error_message());
}

Test(device, capabilities_are_filled) {
  const rp_caps *c = rp_context_caps(test_ctx());
  cr_assert(strlen(c->name) > 0);
  cr_assert_neq(c->compute_queue_family, UINT32_MAX);
  cr_assert_geq(c->max_workgroup_invocations, 128u, "Vulkan guarantees 128");
  cr_assert_geq(c->max_storage_buffer_range, 1u << 27, "Vulkan guarantees 128 MiB");
  cr_assert_geq(c->shared_memory_bytes, 16384u);
  cr_assert_geq(c->subgroup_size, 1u);
  cr_assert_leq(c->min_subgroup_size, c->max_subgroup_size);
  if (c->subgroup_size_fixed)
    cr_assert(c->min_subgroup_size == c->subgroup_size && c->max_subgroup_size == c->subgroup_size,
              "a fixed subgroup size of %u, but %u..%u", c->subgroup_size, c->min_subgroup_size,
              c->max_subgroup_size);
  cr_assert_geq(c->heap_count, 1u);
  cr_assert_geq(c->api_version, VK_API_VERSION_1_1);
}

Test(device, tensor_beyond_max_storage_buffer_range_is_refused) {
  rp_context *ctx = test_ctx();
  uint64_t limit = rp_context_caps(ctx)->max_storage_buffer_range;
  int64_t n = (int64_t)(limit / sizeof(float)) + 1;
  rp_tensor t;
  cr_assert_eq(rp_tensor_create(ctx, 1, &n, &t), RP_ERR_TOO_LARGE);
  cr_assert(strstr(rp_error_message(), "maxStorageBufferRange"), "%s", rp_error_message());
  cr_assert_eq(rp_tensor_create(ctx, 2, (int64_t[]){3, 0}, &t), RP_ERR_INVALID_ARGUMENT);
}

Test(device, memory_is_suballocated_and_reused) {
  rp_context *ctx = test_ctx();
  uint64_t used0, reserved0, used, reserved;
  rp_memory_usage(ctx, &used0, &reserved0);
  rp_buffer b[10];
  for (int i = 0; i < 10; i++) ASSERT_OK(rp_buffer_create(ctx, 1000 + 17 * i, &b[i]));
  rp_memory_usage(ctx, &used, &reserved);
  cr_assert_gt(used, used0);
  cr_assert_leq(reserved - reserved0, (uint64_t)64 << 20, "ten small buffers share one block");
  for (int i = 1; i < 10; i++) cr_assert_eq(b[i].handle, b[0].handle);
  for (int i = 0; i < 10; i += 2) rp_buffer_destroy(ctx, &b[i]);
  for (int i = 1; i < 10; i += 2) rp_buffer_destroy(ctx, &b[i]);
  rp_memory_usage(ctx, &used, &reserved);
  cr_assert_eq(used, used0, "everything is returned");
  rp_buffer again;
  ASSERT_OK(rp_buffer_create(ctx, (uint64_t)10 * 1024, &again));
  rp_memory_usage(ctx, &used, &reserved);
  cr_assert_eq(reserved, reserved0 + (reserved0 ? 0 : 64u << 20), "freed space is reused");
  rp_buffer_destroy(ctx, &again);
  cr_assert_eq(rp_buffer_upload(ctx, &b[0], 0, "x", 1), RP_ERR_INVALID_ARGUMENT, "freed buffer");
}

Test(device, upload_and_download_round_trip_larger_than_staging) {
  rp_context *ctx = test_ctx();
  int64_t n = (20 << 20) / 4 + 3; /* 20 MiB: more than one 16 MiB staging chunk */
  float *src = malloc((size_t)n * 4), *dst = malloc((size_t)n * 4);
  fill_random(src, n, 42);
  rp_tensor t;
  ASSERT_OK(rp_tensor_create(ctx, 1, &n, &t));
  ASSERT_OK(rp_tensor_upload(ctx, &t, src));
  ASSERT_OK(rp_tensor_download(ctx, &t, dst));
  cr_assert(memcmp(src, dst, (size_t)n * 4) == 0);
  cr_assert_eq(rp_buffer_download(ctx, &t.buffer, 8, dst, rp_tensor_bytes(&t)),
               RP_ERR_INVALID_ARGUMENT);
  rp_tensor_destroy(ctx, &t);
  free(src), free(dst);
}

Test(device, pipeline_cache_is_saved_on_disk) {
  char dir[] = "/tmp/repro-cache-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  rp_context *ctx;
  ASSERT_OK(rp_context_create(&(rp_context_options){.cache_dir = dir}, &ctx));
  rp_recorder *rec;
  rp_tensor t;
  ASSERT_OK(rp_recorder_create(ctx, &rec));
  ASSERT_OK(rp_tensor_create(ctx, 1, (int64_t[]){10}, &t));
  ASSERT_OK(rp_rec_begin(rec));
  ASSERT_OK(rp_fill(rec, &t, 1.0f));
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  rp_recorder_destroy(rec);
  rp_context_destroy(ctx);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "test -s %s/pipelines-*.bin", dir);
  cr_assert_eq(system(cmd), 0, "no pipeline cache file in %s", dir);

  /* The file's header is this device's; with another version, vendor, device or UUID, or a
   * length shorter than the header or than the file says, it would not be used. */
  snprintf(cmd, sizeof cmd, "cat %s/pipelines-*.bin", dir);
  FILE *f = popen(cmd, "r");
  static uint8_t data[1 << 22];
  size_t size = fread(data, 1, sizeof data, f);
  pclose(f);
  const rp_caps *caps = rp_context_caps(test_ctx());
  cr_assert(rp_pipeline_cache_fits(caps, data, size), "the saved cache's header does not fit");
  cr_assert(size >= 32 && data[0] == 32 && data[1] == 0, "header length %u", data[0]);
  for (size_t at = 4; at < 32; at++) {
    data[at] ^= 0x40;
    cr_assert(!rp_pipeline_cache_fits(caps, data, size), "header byte %zu changed, still fits", at);
    data[at] ^= 0x40;
  }
  data[0] = 16;
  cr_assert(!rp_pipeline_cache_fits(caps, data, size), "a header of 16 bytes fits");
  data[0] = 32;
  cr_assert(!rp_pipeline_cache_fits(caps, data, 31), "a cut header fits");
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_assert_eq(system(cmd), 0);
}
