/* Compute pipelines, created on first use from the embedded SPIR-V.
 *
 * One binding model serves every shader: bindings 0..n-1 of set 0 are storage buffers, in the
 * order of the op's arguments, and per-dispatch parameters travel as push constants
 * (at most RP_PUSH_BYTES). Workgroup and tile sizes are specialization constants 0..k-1, so
 * one shader yields a pipeline per tuning without #define variants. Pipelines are cached
 * per (shader, specialization) for the life of the context, and their compiled code on disk
 * in a VkPipelineCache keyed by the device's pipelineCacheUUID. */
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
  VkPipeline handle;
  VkPipelineLayout layout;
  VkDescriptorSetLayout set_layout;
} rp_pipeline;

typedef struct rp_pipeline_key {
  const char *shader;     /* file name under shaders/ without .comp */
  uint32_t binding_count; /* storage buffers the shader declares */
  const uint32_t *spec;   /* values for constant_id 0..spec_count-1 */
  uint32_t spec_count;
} rp_pipeline_key;

/* The pipeline for `key`, compiled now if this is its first use. The pointer stays valid
 * for the life of the context. */
rp_status rp_pipeline_get(rp_context *ctx, const rp_pipeline_key *key, const rp_pipeline **out);

/* ---- inside the device layer ---- */

typedef struct rp_pipelines {
  rp_pipeline **items;
  uint32_t count, capacity;
  VkDescriptorSetLayout set_layouts[RP_MAX_BINDINGS + 1]; /* by binding count */
  VkPipelineLayout layouts[RP_MAX_BINDINGS + 1];
  VkPipelineCache cache;
  char cache_path[1024]; /* "" when the on-disk cache is off */
} rp_pipelines;

rp_status rp_pipelines_init(rp_context *ctx, const char *cache_dir);
void rp_pipelines_release(rp_context *ctx); /* saves the cache file atomically */

#endif
