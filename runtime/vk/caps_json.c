#include "vk/caps_json.h"

#include <stdio.h>

static cJSON *add_object(cJSON *parent, const char *name) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(parent, name, o);
  return o;
}

cJSON *rp_caps_to_json(const rp_caps *caps) {
  char api[32], driver[32], uuid[2 * VK_UUID_SIZE + 1];
  rp_format_api_version(caps->api_version, api, sizeof api);
  rp_format_driver_version(caps, driver, sizeof driver);
  for (unsigned i = 0; i < VK_UUID_SIZE; i++)
    snprintf(uuid + (size_t)2 * i, 3, "%02x", caps->pipeline_cache_uuid[i]);

  cJSON *j = cJSON_CreateObject();
  cJSON_AddNumberToObject(j, "index", caps->index);
  cJSON_AddStringToObject(j, "name", caps->name);
  cJSON_AddStringToObject(j, "vendor", caps->vendor);
  cJSON_AddNumberToObject(j, "vendor_id", caps->vendor_id);
  cJSON_AddNumberToObject(j, "device_id", caps->device_id);
  cJSON_AddStringToObject(j, "type", rp_device_class_name(caps->device_class));
  cJSON_AddStringToObject(j, "api_version", api);
  cJSON_AddStringToObject(j, "driver_name", caps->driver_name);
  cJSON_AddStringToObject(j, "driver_info", caps->driver_info);
  cJSON_AddStringToObject(j, "driver_version", driver);
  cJSON_AddNumberToObject(j, "driver_id", caps->driver_id);
  cJSON_AddStringToObject(j, "pipeline_cache_uuid", uuid);

  cJSON *sg = add_object(j, "subgroup");
  cJSON_AddNumberToObject(sg, "size", caps->subgroup_size);
  cJSON_AddNumberToObject(sg, "min_size", caps->min_subgroup_size);
  cJSON_AddNumberToObject(sg, "max_size", caps->max_subgroup_size);
  cJSON_AddBoolToObject(sg, "fixed_size", caps->subgroup_size_fixed);
  cJSON_AddBoolToObject(sg, "arithmetic", caps->subgroup_arithmetic);
  cJSON_AddBoolToObject(sg, "shuffle", caps->subgroup_shuffle);

  cJSON *lim = add_object(j, "limits");
  cJSON_AddNumberToObject(lim, "shared_memory_bytes", caps->shared_memory_bytes);
  cJSON_AddNumberToObject(lim, "max_workgroup_invocations", caps->max_workgroup_invocations);
  cJSON *wg = cJSON_AddArrayToObject(lim, "max_workgroup_size");
  cJSON *wc = cJSON_AddArrayToObject(lim, "max_workgroup_count");
  for (int i = 0; i < 3; i++) {
    cJSON_AddItemToArray(wg, cJSON_CreateNumber(caps->max_workgroup_size[i]));
    cJSON_AddItemToArray(wc, cJSON_CreateNumber(caps->max_workgroup_count[i]));
  }
  cJSON_AddNumberToObject(lim, "max_push_constants_bytes", caps->max_push_constants_bytes);
  cJSON_AddNumberToObject(lim, "max_storage_buffers_per_stage",
                          caps->max_storage_buffers_per_stage);
  cJSON_AddNumberToObject(lim, "max_sampled_per_stage", caps->max_sampled_per_stage);
  cJSON_AddNumberToObject(lim, "max_storage_buffer_range", (double)caps->max_storage_buffer_range);
  cJSON_AddNumberToObject(lim, "max_allocation_bytes", (double)caps->max_allocation_bytes);
  cJSON_AddNumberToObject(lim, "min_storage_buffer_offset_alignment",
                          (double)caps->min_storage_buffer_offset_alignment);
  cJSON_AddNumberToObject(lim, "max_texel_buffer_elements",
                          (double)caps->max_texel_buffer_elements);
  cJSON_AddNumberToObject(lim, "min_texel_buffer_offset_alignment",
                          (double)caps->min_texel_buffer_offset_alignment);

  cJSON *heaps = cJSON_AddArrayToObject(j, "memory_heaps");
  for (uint32_t i = 0; i < caps->heap_count; i++) {
    cJSON *h = cJSON_CreateObject();
    cJSON_AddNumberToObject(h, "bytes", (double)caps->heaps[i].size);
    cJSON_AddBoolToObject(h, "device_local", caps->heaps[i].device_local);
    cJSON_AddItemToArray(heaps, h);
  }

  cJSON *ts = add_object(j, "timestamps");
  cJSON_AddBoolToObject(ts, "supported", caps->timestamps);
  cJSON_AddNumberToObject(ts, "period_ns", caps->timestamp_period_ns);
  cJSON_AddNumberToObject(ts, "valid_bits", caps->timestamp_valid_bits);

  cJSON *f = add_object(j, "features");
  cJSON_AddBoolToObject(f, "shader_float16", caps->shader_float16);
  cJSON_AddBoolToObject(f, "storage_buffer_16bit", caps->storage_16bit);
  cJSON_AddBoolToObject(f, "shader_int8", caps->shader_int8);
  cJSON_AddBoolToObject(f, "storage_buffer_8bit", caps->storage_8bit);
  cJSON_AddBoolToObject(f, "subgroup_arithmetic", caps->subgroup_arithmetic);
  cJSON_AddBoolToObject(f, "cooperative_matrix", caps->cooperative_matrix);
  cJSON_AddBoolToObject(j, "has_compute_queue", caps->compute_queue_family != UINT32_MAX);
  return j;
}
