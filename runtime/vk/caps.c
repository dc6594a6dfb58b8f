#include "vk/caps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *vendor_name(uint32_t vendor_id) {
  switch (vendor_id) {
  case 0x10DE: return "NVIDIA";
  case 0x1002: return "AMD";
  case 0x8086: return "Intel";
  case 0x13B5: return "ARM";
  case 0x5143: return "Qualcomm";
  case 0x106B: return "Apple";
  case 0x1010: return "ImgTec";
  case 0x10005: return "Mesa";
  default: return "unknown";
  }
}

static rp_device_class class_of(VkPhysicalDeviceType type) {
  switch (type) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return RP_CLASS_DISCRETE;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return RP_CLASS_INTEGRATED;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return RP_CLASS_VIRTUAL;
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return RP_CLASS_CPU;
  default: return RP_CLASS_OTHER;
  }
}

const char *rp_device_class_name(rp_device_class device_class) {
  static const char *names[] = {"discrete", "integrated", "virtual", "cpu", "other"};
  return names[device_class];
}

int rp_device_class_rank(rp_device_class device_class) { return (int)device_class; }

/* Whether the device offers any of the `count` extensions in `names`. */
static bool has_any_extension(VkPhysicalDevice phys, const char *const *names, int count) {
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL);
  VkExtensionProperties *props = calloc(n ? n : 1, sizeof *props);
  if (!props) return false;
  vkEnumerateDeviceExtensionProperties(phys, NULL, &n, props);
  bool found = false;
  for (uint32_t i = 0; i < n && !found; i++)
    for (int k = 0; k < count && !found; k++) found = strcmp(props[i].extensionName, names[k]) == 0;
  free(props);
  return found;
}

void rp_caps_query(VkPhysicalDevice phys, uint32_t index, rp_caps *caps) {
  memset(caps, 0, sizeof *caps);
  caps->index = index;

  VkPhysicalDeviceDriverProperties driver = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties subgroup = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &driver};
  VkPhysicalDeviceSubgroupSizeControlProperties size_control = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES,
      .pNext = &subgroup};
  VkPhysicalDeviceMaintenance3Properties maintenance3 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES, .pNext = &size_control};
  VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                        .pNext = &maintenance3};
  vkGetPhysicalDeviceProperties2(phys, &props2);
  const VkPhysicalDeviceProperties *p = &props2.properties;
  const VkPhysicalDeviceLimits *lim = &p->limits;

  snprintf(caps->name, sizeof caps->name, "%s", p->deviceName);
  caps->vendor_id = p->vendorID;
  caps->device_id = p->deviceID;
  caps->vendor = vendor_name(p->vendorID);
  caps->device_class = class_of(p->deviceType);
  caps->api_version = p->apiVersion;
  caps->driver_version = p->driverVersion;
  caps->driver_id = driver.driverID;
  snprintf(caps->driver_name, sizeof caps->driver_name, "%s", driver.driverName);
  snprintf(caps->driver_info, sizeof caps->driver_info, "%s", driver.driverInfo);
  memcpy(caps->pipeline_cache_uuid, p->pipelineCacheUUID, VK_UUID_SIZE);

  caps->subgroup_size = subgroup.subgroupSize;
  caps->min_subgroup_size =
      size_control.minSubgroupSize ? size_control.minSubgroupSize : subgroup.subgroupSize;
  caps->max_subgroup_size =
      size_control.maxSubgroupSize ? size_control.maxSubgroupSize : subgroup.subgroupSize;
  caps->subgroup_size_fixed = size_control.minSubgroupSize != 0 &&
                              size_control.minSubgroupSize == size_control.maxSubgroupSize;
  bool in_compute = subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT;
  caps->subgroup_arithmetic =
      in_compute && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
  caps->subgroup_shuffle =
      in_compute && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
  caps->shared_memory_bytes = lim->maxComputeSharedMemorySize;
  caps->max_workgroup_invocations = lim->maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; i++) {
    caps->max_workgroup_size[i] = lim->maxComputeWorkGroupSize[i];
    caps->max_workgroup_count[i] = lim->maxComputeWorkGroupCount[i];
  }
  caps->max_push_constants_bytes = lim->maxPushConstantsSize;
  caps->max_storage_buffers_per_stage = lim->maxPerStageDescriptorStorageBuffers;
  caps->max_sampled_per_stage = lim->maxPerStageDescriptorSampledImages;
  caps->max_storage_buffer_range = lim->maxStorageBufferRange;
  caps->max_allocation_bytes = maintenance3.maxMemoryAllocationSize;
  caps->min_storage_buffer_offset_alignment = lim->minStorageBufferOffsetAlignment;
  caps->max_texel_buffer_elements = lim->maxTexelBufferElements;
  caps->min_texel_buffer_offset_alignment = lim->minTexelBufferOffsetAlignment;
  caps->non_coherent_atom_size = lim->nonCoherentAtomSize;

  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(phys, &mem);
  caps->heap_count = mem.memoryHeapCount < RP_MAX_HEAPS ? mem.memoryHeapCount : RP_MAX_HEAPS;
  for (uint32_t i = 0; i < caps->heap_count; i++) {
    caps->heaps[i].size = mem.memoryHeaps[i].size;
    caps->heaps[i].device_local = mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
  }

  caps->compute_queue_family = UINT32_MAX;
  uint32_t nfam = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(phys, &nfam, NULL);
  VkQueueFamilyProperties fams[64];
  if (nfam > 64) nfam = 64;
  vkGetPhysicalDeviceQueueFamilyProperties(phys, &nfam, fams);
  /* Prefer a family that does compute; a compute-only one is no better for us, since we
   * submit nothing else, so take the first. */
  for (uint32_t i = 0; i < nfam; i++) {
    if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      caps->compute_queue_family = i;
      caps->timestamps = lim->timestampComputeAndGraphics && fams[i].timestampValidBits > 0;
      caps->timestamp_valid_bits = fams[i].timestampValidBits;
      break;
    }
  }
  caps->timestamp_period_ns = lim->timestampPeriod;

  VkPhysicalDeviceShaderFloat16Int8Features f16i8 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDevice16BitStorageFeatures s16 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES, .pNext = &f16i8};
  VkPhysicalDevice8BitStorageFeatures s8 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES, .pNext = &s16};
  VkPhysicalDeviceFeatures2 features = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                        .pNext = &s8};
  vkGetPhysicalDeviceFeatures2(phys, &features);
  caps->shader_float16 = f16i8.shaderFloat16;
  caps->shader_int8 = f16i8.shaderInt8;
  caps->storage_16bit = s16.storageBuffer16BitAccess;
  caps->storage_8bit = s8.storageBuffer8BitAccess;
  static const char *const cooperative_matrix[] = {"VK_KHR_cooperative_matrix",
                                                   "VK_NV_cooperative_matrix"};
  caps->cooperative_matrix = has_any_extension(phys, cooperative_matrix, 2);
}

void rp_format_api_version(uint32_t version, char *out, unsigned out_size) {
  snprintf(out, out_size, "%u.%u.%u", VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version),
           VK_API_VERSION_PATCH(version));
}

void rp_format_driver_version(const rp_caps *caps, char *out, unsigned out_size) {
  uint32_t v = caps->driver_version;
  if (caps->vendor_id == 0x10DE) /* NVIDIA: 10.8.8.6 bits */
    snprintf(out, out_size, "%u.%u.%u.%u", v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff, v & 0x3f);
  else
    rp_format_api_version(v, out, out_size);
}

void rp_format_device(const rp_caps *caps, char out[RP_DEVICE_TEXT]) {
  snprintf(out, RP_DEVICE_TEXT, "%s (%s)", caps->name, caps->driver_info);
}
