/* Compute pipelines, created on first use from the embedded SPIR-V.
 *
 * One binding model serves every shader: bindings 0..n-1 of set 0 are storage buffers, in the
 * order of the op's arguments, and per-dispatch parameters travel as push constants
 * (at most RP_PUSH_BYTES). A shader may instead read an input through a uniform texel buffer
 * (a samplerBuffer) of fp32 texels, one float or four: the key names those bindings, and the
 * recorder makes the view when the dispatch is recorded. On lavapipe such reads are the CPU's
 * vector gathers where a storage-buffer read is a loop over SIMD lanes (ops/dispatch.h). Workgroup
 * and tile sizes are specialization constants 0..k-1, so one shader yields a pipeline per tuning
 * without #define variants. Pipelines are cached per (shader, specialization) for the life of the
 * context, and their compiled code on disk in a VkPipelineCache keyed by the device's
 * pipelineCacheUUID. */
#ifndef RP_PIPELINE_H
#define RP_PIPELINE_H

#include <stdint.h>
#include <volk.h>

#include "vk/status.h"

#define RP_PUSH_BYTES 128
#define RP_MAX_BINDINGS 8
#define RP_MAX_SPEC 8

typedef struct rp_context rp_context;

typedef struct rp_pipeline {
  char shader[48];
  uint32_t spec[RP_MAX_SPEC];
  uint32_t spec_count;
  uint32_t binding_count;
  uint32_t texel_bindings, texel_vec4; /* as in rp_pipeline_key */
  VkPipeline handle;
  VkPipelineLayout layout;
  VkDescriptorSetLayout set_layout;
} rp_pipeline;

typedef struct rp_pipeline_key {
  const char *shader;     /* file name under shaders/ without .comp */
  uint32_t binding_count; /* buffers the shader declares */
  const uint32_t *spec;   /* values for constant_id 0..spec_count-1 */
  uint32_t spec_count;
  /* Bit i: binding i is a uniform texel buffer (read-only) of R32_SFLOAT texels, or of
   * R32G32B32A32_SFLOAT ones where bit i of texel_vec4 is set too. 0 for most shaders. */
  uint32_t texel_bindings, texel_vec4;
} rp_pipeline_key;

/* The pipeline for `key`, compiled now if this is its first use. The pointer stays valid
 * for the life of the context. */
rp_status rp_pipeline_get(rp_context *ctx, const rp_pipeline_key *key, const rp_pipeline **out);

/* The bytes of a texel of texel binding i given a key's texel_vec4: four floats or one. */
static inline uint64_t rp_texel_size(uint32_t texel_vec4, uint32_t i) {
  return (texel_vec4 >> i & 1u) ? 4 * sizeof(float) : sizeof(float);
}

/* The descriptor type of binding i given a key's texel_bindings. */
static inline VkDescriptorType rp_binding_type(uint32_t texel_bindings, uint32_t i) {
  return (texel_bindings >> i & 1u) ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                    : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}

/* ---- inside the device layer ---- */

#define RP_MAX_LAYOUTS 32

/* The layouts of one binding count and one set of texel bindings, shared by every shader
 * that binds so. */
typedef struct rp_layout {
  uint32_t binding_count, texel_bindings;
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout layout;
} rp_layout;

typedef struct rp_pipelines {
  rp_pipeline **items;
  uint32_t count, capacity;
  rp_layout layouts[RP_MAX_LAYOUTS];
  uint32_t layout_count;
  VkPipelineCache cache;
  char cache_path[1024]; /* "" when the on-disk cache is off */
} rp_pipelines;

rp_status rp_pipelines_init(rp_context *ctx, const char *cache_dir);
/* Whether `data` (a pipeline cache file) starts with a version-one header written for this
 * device: vendor, device and pipelineCacheUUID. */
bool rp_pipeline_cache_fits(const rp_caps *caps, const void *data, size_t size);
void rp_pipelines_release(rp_context *ctx); /* saves the cache file atomically */

#endif
