/* repro devices [--json]: every Vulkan device, the one repro would choose marked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/json.h"
#include "vk/caps_json.h"
#include "vk/context.h"

static void print_device(const rp_caps *c, bool chosen) {
  char api[32], driver[32];
  rp_format_api_version(c->api_version, api, sizeof api);
  rp_format_driver_version(c, driver, sizeof driver);
  printf("%s %u: %s\n", chosen ? "*" : " ", c->index, c->name);
  printf("    type %s, vendor %s (0x%04x), device 0x%04x, Vulkan %s\n",
         rp_device_class_name(c->device_class), c->vendor, c->vendor_id, c->device_id, api);
  printf("    driver %s %s (%s)\n", c->driver_name, driver, c->driver_info);
  printf("    subgroup %u (%u..%u)%s, shared memory %u KiB, workgroup <= %u invocations\n",
         c->subgroup_size, c->min_subgroup_size, c->max_subgroup_size,
         c->subgroup_arithmetic ? " with arithmetic" : "", c->shared_memory_bytes / 1024,
         c->max_workgroup_invocations);
  printf("    maxStorageBufferRange %llu MiB, maxMemoryAllocationSize %llu MiB\n",
         (unsigned long long)(c->max_storage_buffer_range >> 20),
         (unsigned long long)(c->max_allocation_bytes >> 20));
  for (uint32_t h = 0; h < c->heap_count; h++)
    printf("    heap %u: %llu MiB%s\n", h, (unsigned long long)(c->heaps[h].size >> 20),
           c->heaps[h].device_local ? " device-local" : "");
  printf("    timestamps %s", c->timestamps ? "yes" : "no");
  if (c->timestamps) printf(" (%.3g ns/tick)", c->timestamp_period_ns);
  printf("; fp16 %s, int8 %s, cooperative matrix %s\n", c->shader_float16 ? "yes" : "no",
         c->shader_int8 ? "yes" : "no", c->cooperative_matrix ? "yes" : "no");
}

int rp_cmd_devices(int argc, char **argv) {
  bool json = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      json = true;
    } else {
      bool help = strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
      if (!help) return rp_cli_usage_error("devices", "unknown argument '%s'", argv[i]);
      printf("usage: repro devices [--json]\n"
             "  every Vulkan device and its capabilities; * marks the one repro would use\n"
             "  (REPRO_DEVICE=N|NAME chooses another)\n");
      return 0;
    }
  }
  rp_caps devices[32];
  uint32_t count = 0, chosen = UINT32_MAX;
  rp_status st = rp_enumerate_devices(devices, 32, &count);
  if (st) return rp_cli_error(st);
  const char *request = rp_device_request(NULL);
  /* A REPRO_DEVICE that matches nothing is an error (every other command would fail on it),
   * said on stderr after the list, which is what one needs to fix it. */
  char mismatch[512] = "";
  int code = 0;
  if ((st = rp_choose_device(devices, count, request, &chosen)) != RP_OK) {
    chosen = UINT32_MAX;
    snprintf(mismatch, sizeof mismatch, "%s", rp_error_message());
    code = st == RP_ERR_INVALID_ARGUMENT ? 2 : 1; /* a request naming none: bad input */
  }

  if (json) {
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(root, "devices");
    for (uint32_t i = 0; i < count; i++) {
      cJSON *d = rp_caps_to_json(&devices[i]);
      cJSON_AddBoolToObject(d, "chosen", i == chosen);
      cJSON_AddItemToArray(list, d);
    }
    if (chosen != UINT32_MAX)
      cJSON_AddNumberToObject(root, "chosen", chosen);
    else
      cJSON_AddNullToObject(root, "chosen");
    char *text = rp_json_print(root, true);
    printf("%s\n", text ? text : "null");
    cJSON_free(text);
    cJSON_Delete(root);
  } else {
    for (uint32_t i = 0; i < count; i++) print_device(&devices[i], i == chosen);
  }
  fflush(stdout);
  if (code && request && *request && count == 0)
    fprintf(stderr, "repro: REPRO_DEVICE=%s, but there is no Vulkan device\n", request);
  else if (code && request && *request)
    fprintf(stderr,
            "repro: REPRO_DEVICE=%s matches none of the %u device(s) listed (give an index "
            "0..%u or part of a name)\n",
            request, count, count - 1);
  else if (code)
    fprintf(stderr, "repro: %s\n", mismatch);
  return code;
}
