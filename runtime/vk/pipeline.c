#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk/context_internal.h"
#include "vk/spirv.h"

/* ---- the on-disk pipeline cache ---- */

static void make_dirs(const char *path) {
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    mkdir(tmp, 0755);
    *p = '/';
  }
  mkdir(tmp, 0755);
}

static void cache_path_for(const rp_context *ctx, const char *dir, char *out, size_t size) {
  char base[900];
  if (dir) {
    snprintf(base, sizeof base, "%s", dir);
  } else if (getenv("REPRO_CACHE_DIR")) {
    snprintf(base, sizeof base, "%s", getenv("REPRO_CACHE_DIR"));
  } else if (getenv("XDG_CACHE_HOME")) {
    snprintf(base, sizeof base, "%s/repro", getenv("XDG_CACHE_HOME"));
  } else if (getenv("HOME")) {
    snprintf(base, sizeof base, "%s/.cache/repro", getenv("HOME"));
  } else {
    base[0] = '\0';
  }
  if (!base[0]) {
    out[0] = '\0';
    return;
  }
  char uuid[2 * VK_UUID_SIZE + 1];
  for (unsigned i = 0; i < VK_UUID_SIZE; i++)
    snprintf(uuid + (size_t)2 * i, 3, "%02x", ctx->caps.pipeline_cache_uuid[i]);
  snprintf(out, size, "%s/pipelines-%s.bin", base, uuid);
}

static void *read_whole_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  void *data = NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n)) &&
        fread(data, 1, (size_t)n, f) != (size_t)n) {
      free(data);
      data = NULL;
    }
    *size = n > 0 ? (size_t)n : 0;
  }
  fclose(f);
  return data;
}

/* The header's fields are little-endian whatever the host (Vulkan spec,
 * VkPipelineCacheHeaderVersionOne). */
static uint32_t le32(const uint8_t *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

bool rp_pipeline_cache_fits(const rp_caps *caps, const void *data, size_t size) {
  const uint8_t *b = data;
  if (!b || size < 16 + VK_UUID_SIZE) return false;
  uint32_t header_size = le32(b);
  return header_size >= 16 + VK_UUID_SIZE && header_size <= size &&
         le32(b + 4) == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && le32(b + 8) == caps->vendor_id &&
         le32(b + 12) == caps->device_id &&
         memcmp(b + 16, caps->pipeline_cache_uuid, VK_UUID_SIZE) == 0;
}

rp_status rp_pipelines_init(rp_context *ctx, const char *cache_dir) {
  rp_pipelines *p = &ctx->pipelines;
  cache_path_for(ctx, cache_dir, p->cache_path, sizeof p->cache_path);
  size_t size = 0;
  void *data = p->cache_path[0] ? read_whole_file(p->cache_path, &size) : NULL;
  /* A file written by another device or driver version is not handed to the driver: drivers
   * must check the header themselves, but one that does not could crash on it. Starting
   * empty costs only compile time. */
  if (data && !rp_pipeline_cache_fits(&ctx->caps, data, size)) {
    free(data);
    data = NULL;
  }
  VkPipelineCacheCreateInfo info = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                    .initialDataSize = data ? size : 0,
                                    .pInitialData = data};
  VkResult r = ctx->vk.vkCreatePipelineCache(ctx->device, &info, NULL, &p->cache);
  free(data);
  if (r != VK_SUCCESS) {
    info.initialDataSize = 0;
    info.pInitialData = NULL;
    r = ctx->vk.vkCreatePipelineCache(ctx->device, &info, NULL, &p->cache);
  }
  return r == VK_SUCCESS ? RP_OK : rp_vk_fail(r, "vkCreatePipelineCache");
}

/* Writes the cache next to its final name and renames it, so that a crash or a concurrent
 * process never leaves a torn file. */
static void save_cache(rp_context *ctx) {
  rp_pipelines *p = &ctx->pipelines;
  size_t size = 0;
  if (!p->cache_path[0] ||
      ctx->vk.vkGetPipelineCacheData(ctx->device, p->cache, &size, NULL) != VK_SUCCESS || !size)
    return;
  void *data = malloc(size);
  if (!data) return;
  if (ctx->vk.vkGetPipelineCacheData(ctx->device, p->cache, &size, data) == VK_SUCCESS) {
    char dir[1024], tmp[1100];
    snprintf(dir, sizeof dir, "%s", p->cache_path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    make_dirs(dir);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", p->cache_path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (f) {
      bool ok = fwrite(data, 1, size, f) == size;
      ok = (fclose(f) == 0) && ok;
      if (!ok || rename(tmp, p->cache_path) != 0) remove(tmp);
    }
  }
  free(data);
}

void rp_pipelines_release(rp_context *ctx) {
  rp_pipelines *p = &ctx->pipelines;
  if (p->cache) {
    save_cache(ctx);
    ctx->vk.vkDestroyPipelineCache(ctx->device, p->cache, NULL);
  }
  for (uint32_t i = 0; i < p->count; i++) {
    ctx->vk.vkDestroyPipeline(ctx->device, p->items[i]->handle, NULL);
    free(p->items[i]);
  }
  free(p->items);
  for (uint32_t n = 0; n < p->layout_count; n++) {
    ctx->vk.vkDestroyPipelineLayout(ctx->device, p->layouts[n].layout, NULL);
    ctx->vk.vkDestroyDescriptorSetLayout(ctx->device, p->layouts[n].set_layout, NULL);
  }
  memset(p, 0, sizeof *p);
}

/* ---- layouts: one per (binding count, texel bindings), shared by the shaders that bind so ---- */

/* The layout, created on first use; NULL with *st set when that fails. */
static const rp_layout *layout_for(rp_context *ctx, uint32_t bindings, uint32_t texel,
                                   rp_status *st) {
  rp_pipelines *p = &ctx->pipelines;
  for (uint32_t i = 0; i < p->layout_count; i++)
    if (p->layouts[i].binding_count == bindings && p->layouts[i].texel_bindings == texel)
      return &p->layouts[i];
  if (p->layout_count == RP_MAX_LAYOUTS) {
    *st = rp_fail(RP_ERR_INVALID_ARGUMENT, "more than %d pipeline layouts", RP_MAX_LAYOUTS);
    return NULL;
  }
  rp_layout *l = &p->layouts[p->layout_count];
  *l = (rp_layout){.binding_count = bindings, .texel_bindings = texel};
  VkDescriptorSetLayoutBinding b[RP_MAX_BINDINGS];
  for (uint32_t i = 0; i < bindings; i++)
    b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                          .descriptorType = rp_binding_type(texel, i),
                                          .descriptorCount = 1,
                                          .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
  VkDescriptorSetLayoutCreateInfo set_info = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .bindingCount = bindings,
      .pBindings = b};
  VkResult r = ctx->vk.vkCreateDescriptorSetLayout(ctx->device, &set_info, NULL, &l->set_layout);
  if (r != VK_SUCCESS) {
    *st = rp_vk_fail(r, "vkCreateDescriptorSetLayout");
    return NULL;
  }
  VkPushConstantRange push = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = RP_PUSH_BYTES};
  VkPipelineLayoutCreateInfo info = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                     .setLayoutCount = 1,
                                     .pSetLayouts = &l->set_layout,
                                     .pushConstantRangeCount = 1,
                                     .pPushConstantRanges = &push};
  r = ctx->vk.vkCreatePipelineLayout(ctx->device, &info, NULL, &l->layout);
  if (r != VK_SUCCESS) {
    ctx->vk.vkDestroyDescriptorSetLayout(ctx->device, l->set_layout, NULL);
    *st = rp_vk_fail(r, "vkCreatePipelineLayout");
    return NULL;
  }
  p->layout_count++;
  return l;
}

static bool same_key(const rp_pipeline *p, const rp_pipeline_key *key) {
  return strcmp(p->shader, key->shader) == 0 && p->spec_count == key->spec_count &&
         p->texel_bindings == key->texel_bindings && p->texel_vec4 == key->texel_vec4 &&
         memcmp(p->spec, key->spec, key->spec_count * sizeof *key->spec) == 0;
}

/* What the device must allow for a pipeline, checked before it is compiled (a driver need not
 * say why creation fails, and Vulkan guarantees little: workgroups of 128 in x, 4 storage
 * buffers a stage). Constant 0 is every shader's workgroup size (shaders/common.glsl). */
static rp_status check_device_limits(const rp_caps *caps, const rp_pipeline_key *key) {
  if (key->spec_count > 0) {
    uint32_t size = key->spec[0];
    if (size == 0 || size > caps->max_workgroup_size[0] || size > caps->max_workgroup_invocations)
      return rp_fail(RP_ERR_TOO_LARGE,
                     "%s: a workgroup of %u invocations; %s allows 1 to %u (%u in x)", key->shader,
                     size, caps->name, caps->max_workgroup_invocations,
                     caps->max_workgroup_size[0]);
  }
  uint32_t texel = 0;
  for (uint32_t i = 0; i < key->binding_count; i++) texel += key->texel_bindings >> i & 1u;
  uint32_t storage = key->binding_count - texel;
  if (storage > caps->max_storage_buffers_per_stage || texel > caps->max_sampled_per_stage)
    return rp_fail(RP_ERR_TOO_LARGE,
                   "%s: %u storage and %u texel buffers; %s allows %u and %u in a shader",
                   key->shader, storage, texel, caps->name, caps->max_storage_buffers_per_stage,
                   caps->max_sampled_per_stage);
  return RP_OK;
}

rp_status rp_pipeline_get(rp_context *ctx, const rp_pipeline_key *key, const rp_pipeline **out) {
  rp_pipelines *p = &ctx->pipelines;
  for (uint32_t i = 0; i < p->count; i++) {
    if (same_key(p->items[i], key)) {
      *out = p->items[i];
      return RP_OK;
    }
  }
  if (key->spec_count > RP_MAX_SPEC || key->binding_count > RP_MAX_BINDINGS ||
      strlen(key->shader) >= sizeof p->items[0]->shader)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "pipeline %s: too many bindings or constants",
                   key->shader);
  if ((key->texel_bindings >> key->binding_count) != 0 ||
      (key->texel_vec4 & ~key->texel_bindings) != 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "pipeline %s: texel bindings 0x%x (vec4 0x%x) for %u bindings", key->shader,
                   key->texel_bindings, key->texel_vec4, key->binding_count);
  rp_status st = check_device_limits(&ctx->caps, key);
  if (st) return st;
  const rp_spirv *spirv = rp_spirv_find(key->shader);
  if (!spirv) return rp_fail(RP_ERR_INVALID_ARGUMENT, "no embedded shader named %s", key->shader);
  const rp_layout *layout = layout_for(ctx, key->binding_count, key->texel_bindings, &st);
  if (!layout) return st;
  if (p->count == p->capacity) {
    uint32_t cap = p->capacity ? 2 * p->capacity : 32;
    rp_pipeline **grown = realloc(p->items, cap * sizeof(rp_pipeline *));
    if (!grown) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
    p->items = grown;
    p->capacity = cap;
  }
  rp_pipeline *pl = calloc(1, sizeof *pl);
  if (!pl) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  snprintf(pl->shader, sizeof pl->shader, "%s", key->shader);
  memcpy(pl->spec, key->spec, (size_t)key->spec_count * sizeof *key->spec);
  pl->spec_count = key->spec_count;
  pl->binding_count = key->binding_count;
  pl->texel_bindings = key->texel_bindings;
  pl->texel_vec4 = key->texel_vec4;
  pl->layout = layout->layout;
  pl->set_layout = layout->set_layout;

  VkShaderModuleCreateInfo module_info = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                          .codeSize = spirv->word_count * sizeof(uint32_t),
                                          .pCode = spirv->words};
  VkShaderModule module;
  VkResult r = ctx->vk.vkCreateShaderModule(ctx->device, &module_info, NULL, &module);
  if (r != VK_SUCCESS) {
    free(pl);
    return rp_vk_fail(r, "vkCreateShaderModule");
  }
  VkSpecializationMapEntry entries[RP_MAX_SPEC];
  for (uint32_t i = 0; i < key->spec_count; i++)
    entries[i] = (VkSpecializationMapEntry){.constantID = i, .offset = 4 * i, .size = 4};
  VkSpecializationInfo spec = {.mapEntryCount = key->spec_count,
                               .pMapEntries = entries,
                               .dataSize = (size_t)4 * key->spec_count,
                               .pData = pl->spec};
  VkComputePipelineCreateInfo info = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = module,
                .pName = "main",
                .pSpecializationInfo = key->spec_count ? &spec : NULL},
      .layout = pl->layout};
  r = ctx->vk.vkCreateComputePipelines(ctx->device, p->cache, 1, &info, NULL, &pl->handle);
  ctx->vk.vkDestroyShaderModule(ctx->device, module, NULL);
  if (r != VK_SUCCESS) {
    free(pl);
    return rp_vk_fail(r, "vkCreateComputePipelines");
  }
  p->items[p->count++] = pl;
  *out = pl;
  return RP_OK;
}
