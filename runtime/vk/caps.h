/* What a Vulkan device can do, read once when it is enumerated.
 *
 * Every decision that depends on the device (tile sizes, whether timestamps can be used, how
 * large one buffer binding may be) reads this struct, never the driver again. */
#ifndef RP_CAPS_H
#define RP_CAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <volk.h>

#define RP_MAX_HEAPS 16

typedef enum rp_device_class {
  RP_CLASS_DISCRETE, /* discrete GPU: ranked first */
  RP_CLASS_INTEGRATED,
  RP_CLASS_VIRTUAL,
  RP_CLASS_CPU, /* lavapipe, SwiftShader: chosen only when nothing else is there */
  RP_CLASS_OTHER,
} rp_device_class;

typedef struct rp_heap {
  uint64_t size;
  bool device_local;
} rp_heap;

typedef struct rp_caps {
  uint32_t index; /* position in vkEnumeratePhysicalDevices */
  char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
  uint32_t vendor_id, device_id;
  const char *vendor; /* "NVIDIA", "AMD", "Intel", "Mesa", ... */
  rp_device_class device_class;
  uint32_t api_version, driver_version;
  VkDriverId driver_id;
  char driver_name[VK_MAX_DRIVER_NAME_SIZE];
  char driver_info[VK_MAX_DRIVER_INFO_SIZE];
  uint8_t pipeline_cache_uuid[VK_UUID_SIZE];

  uint32_t subgroup_size, min_subgroup_size, max_subgroup_size;
  bool subgroup_arithmetic; /* subgroupAdd & co. in compute shaders */
  bool subgroup_shuffle;    /* subgroupShuffle in compute shaders */
  /* Every compute subgroup has subgroup_size invocations: the device reports its size range
   * (subgroup size control) and it is one size. Unreported, the size may vary per pipeline
   * (Intel compiles SIMD8/16/32), so the lanes kernels are not used. */
  bool subgroup_size_fixed;
  uint32_t shared_memory_bytes;
  uint32_t max_workgroup_invocations;
  uint32_t max_workgroup_size[3];
  uint32_t max_workgroup_count[3];
  uint32_t max_push_constants_bytes;
  uint32_t max_storage_buffers_per_stage; /* Vulkan guarantees only 4 */
  uint32_t max_sampled_per_stage;         /* uniform texel buffers count here; 16 guaranteed */
  uint64_t max_storage_buffer_range;
  uint64_t max_allocation_bytes;
  uint64_t min_storage_buffer_offset_alignment;
  uint64_t max_texel_buffer_elements;         /* texels a uniform texel buffer view may span */
  uint64_t min_texel_buffer_offset_alignment; /* where such a view may start */
  uint64_t non_coherent_atom_size;

  rp_heap heaps[RP_MAX_HEAPS];
  uint32_t heap_count;

  bool timestamps; /* timestampComputeAndGraphics and valid bits on the compute queue */
  double timestamp_period_ns;
  uint32_t timestamp_valid_bits; /* of the compute queue: 36 to 64, the counter wraps there */
  uint32_t compute_queue_family; /* UINT32_MAX if the device has none */

  bool shader_float16, storage_16bit, shader_int8, storage_8bit, cooperative_matrix;
} rp_caps;

/* Reads everything above from `phys`. */
void rp_caps_query(VkPhysicalDevice phys, uint32_t index, rp_caps *caps);

const char *rp_device_class_name(rp_device_class device_class);

/* Rank for automatic device choice: lower is preferred. */
int rp_device_class_rank(rp_device_class device_class);

/* "1.3.230" style version string of a Vulkan API version. */
void rp_format_api_version(uint32_t version, char *out, unsigned out_size);

/* The driver version decoded as its vendor does (NVIDIA packs it differently). */
void rp_format_driver_version(const rp_caps *caps, char *out, unsigned out_size);

/* "name (driver info)", the device and driver a saved training state names: room for both of
 * rp_caps's strings. */
#define RP_DEVICE_TEXT (VK_MAX_PHYSICAL_DEVICE_NAME_SIZE + VK_MAX_DRIVER_INFO_SIZE + 4)
void rp_format_device(const rp_caps *caps, char out[RP_DEVICE_TEXT]);

#endif
