#include <stdlib.h>
#include <string.h>

#include "vk/context_internal.h"

#define BLOCK_BYTES (64ull << 20)   /* default block; larger requests get a block of their own */
#define STAGING_BYTES (16ull << 20) /* uploads and read-backs move in chunks of this size */
#define MIN_ALIGNMENT 256ull        /* covers minStorageBufferOffsetAlignment everywhere */

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

static uint32_t find_memory_type(const rp_context *ctx, uint32_t allowed,
                                 VkMemoryPropertyFlags want, VkMemoryPropertyFlags prefer) {
  const VkPhysicalDeviceMemoryProperties *mp = &ctx->memory_properties;
  uint32_t fallback = UINT32_MAX;
  for (uint32_t i = 0; i < mp->memoryTypeCount; i++) {
    VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
    if (!(allowed & (1u << i)) || (f & want) != want) continue;
    if ((f & prefer) == prefer) return i;
    if (fallback == UINT32_MAX) fallback = i;
  }
  return fallback;
}

/* Storage buffers, and uniform texel buffers for the shaders that read through them
 * (vk/pipeline.h). */
static const VkBufferUsageFlags DEVICE_USAGE =
    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
    VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

/* Creates a VkBuffer and memory of `type_wanted` properties bound to it. */
static rp_status create_bound_buffer(rp_context *ctx, uint64_t size, VkBufferUsageFlags usage,
                                     VkMemoryPropertyFlags want, VkMemoryPropertyFlags prefer,
                                     VkBuffer *buffer, VkDeviceMemory *memory, uint32_t *type) {
  VkBufferCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                             .size = size,
                             .usage = usage,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
  VkResult r = ctx->vk.vkCreateBuffer(ctx->device, &info, NULL, buffer);
  if (r != VK_SUCCESS) return rp_vk_fail(r, "vkCreateBuffer");
  VkMemoryRequirements req;
  ctx->vk.vkGetBufferMemoryRequirements(ctx->device, *buffer, &req);
  *type = find_memory_type(ctx, req.memoryTypeBits, want, prefer);
  if (*type == UINT32_MAX) {
    ctx->vk.vkDestroyBuffer(ctx->device, *buffer, NULL);
    return rp_fail(RP_ERR_VULKAN, "device %s offers no suitable memory type", ctx->caps.name);
  }
  VkMemoryAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = *type};
  r = ctx->vk.vkAllocateMemory(ctx->device, &alloc, NULL, memory);
  if (r != VK_SUCCESS) {
    ctx->vk.vkDestroyBuffer(ctx->device, *buffer, NULL);
    uint32_t heap = ctx->memory_properties.memoryTypes[*type].heapIndex;
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
      return rp_fail(RP_ERR_OUT_OF_MEMORY,
                     "out of device memory: could not allocate %llu MiB on %s (heap %u holds "
                     "%llu MiB)",
                     (unsigned long long)(size >> 20), ctx->caps.name, heap,
                     (unsigned long long)(ctx->memory_properties.memoryHeaps[heap].size >> 20));
    return rp_vk_fail(r, "vkAllocateMemory");
  }
  r = ctx->vk.vkBindBufferMemory(ctx->device, *buffer, *memory, 0);
  if (r != VK_SUCCESS) {
    ctx->vk.vkDestroyBuffer(ctx->device, *buffer, NULL);
    ctx->vk.vkFreeMemory(ctx->device, *memory, NULL);
    return rp_vk_fail(r, "vkBindBufferMemory");
  }
  return RP_OK;
}

rp_status rp_memory_init(rp_context *ctx) {
  rp_memory *m = &ctx->memory;
  m->alignment = MIN_ALIGNMENT;
  if (ctx->caps.min_storage_buffer_offset_alignment > m->alignment)
    m->alignment = ctx->caps.min_storage_buffer_offset_alignment;
  m->staging_size = STAGING_BYTES;
  rp_status st = create_bound_buffer(
      ctx, m->staging_size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
      VK_MEMORY_PROPERTY_HOST_CACHED_BIT, &m->staging, &m->staging_memory, &m->staging_type);
  if (st) return st;
  VkResult r =
      ctx->vk.vkMapMemory(ctx->device, m->staging_memory, 0, VK_WHOLE_SIZE, 0, &m->staging_mapped);
  return r == VK_SUCCESS ? RP_OK : rp_vk_fail(r, "vkMapMemory (staging)");
}

void rp_memory_release(rp_context *ctx) {
  rp_memory *m = &ctx->memory;
  for (uint32_t i = 0; i < m->block_count; i++) {
    ctx->vk.vkDestroyBuffer(ctx->device, m->blocks[i].buffer, NULL);
    ctx->vk.vkFreeMemory(ctx->device, m->blocks[i].memory, NULL);
    free(m->blocks[i].free);
  }
  free(m->blocks);
  if (m->staging) ctx->vk.vkDestroyBuffer(ctx->device, m->staging, NULL);
  if (m->staging_memory) ctx->vk.vkFreeMemory(ctx->device, m->staging_memory, NULL);
  memset(m, 0, sizeof *m);
}

/* ---- free lists ---- */

static bool insert_free(rp_block *b, uint32_t at, rp_free_range range) {
  if (b->free_count == b->free_capacity) {
    uint32_t cap = b->free_capacity ? 2 * b->free_capacity : 16;
    rp_free_range *grown = realloc(b->free, cap * sizeof *grown);
    if (!grown) return false;
    b->free = grown;
    b->free_capacity = cap;
  }
  memmove(&b->free[at + 1], &b->free[at], (b->free_count - at) * sizeof *b->free);
  b->free[at] = range;
  b->free_count++;
  return true;
}

static void remove_free(rp_block *b, uint32_t at) {
  memmove(&b->free[at], &b->free[at + 1], (b->free_count - at - 1) * sizeof *b->free);
  b->free_count--;
}

/* First fit; block offsets are all multiples of the alignment, so are sizes. */
static bool take_from_block(rp_block *b, uint64_t size, uint64_t *offset) {
  for (uint32_t i = 0; i < b->free_count; i++) {
    if (b->free[i].size < size) continue;
    *offset = b->free[i].offset;
    b->free[i].offset += size;
    b->free[i].size -= size;
    if (b->free[i].size == 0) remove_free(b, i);
    return true;
  }
  return false;
}

static void give_back_to_block(rp_block *b, uint64_t offset, uint64_t size) {
  uint32_t at = 0;
  while (at < b->free_count && b->free[at].offset < offset) at++;
  bool joins_prev = at > 0 && b->free[at - 1].offset + b->free[at - 1].size == offset;
  bool joins_next = at < b->free_count && offset + size == b->free[at].offset;
  if (joins_prev && joins_next) {
    b->free[at - 1].size += size + b->free[at].size;
    remove_free(b, at);
  } else if (joins_prev) {
    b->free[at - 1].size += size;
  } else if (joins_next) {
    b->free[at].offset = offset;
    b->free[at].size += size;
  } else if (!insert_free(b, at, (rp_free_range){offset, size})) {
    /* Out of host memory for the free list: the range is leaked until the context ends,
     * which is safe. */
  }
}

static rp_status add_block(rp_context *ctx, uint64_t size, uint32_t *index) {
  rp_memory *m = &ctx->memory;
  if (m->block_count == m->block_capacity) {
    uint32_t cap = m->block_capacity ? 2 * m->block_capacity : 8;
    rp_block *grown = realloc(m->blocks, cap * sizeof *grown);
    if (!grown) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
    m->blocks = grown;
    m->block_capacity = cap;
  }
  rp_block *b = &m->blocks[m->block_count];
  memset(b, 0, sizeof *b);
  rp_status st = create_bound_buffer(ctx, size, DEVICE_USAGE, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                                     0, &b->buffer, &b->memory, &m->device_type);
  if (st) return st;
  b->size = size;
  if (!insert_free(b, 0, (rp_free_range){0, size})) {
    ctx->vk.vkDestroyBuffer(ctx->device, b->buffer, NULL);
    ctx->vk.vkFreeMemory(ctx->device, b->memory, NULL);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  }
  *index = m->block_count++;
  return RP_OK;
}

rp_status rp_buffer_create(rp_context *ctx, uint64_t bytes, rp_buffer *out) {
  memset(out, 0, sizeof *out);
  rp_memory *m = &ctx->memory;
  if (bytes == 0) return rp_fail(RP_ERR_INVALID_ARGUMENT, "cannot allocate a buffer of 0 bytes");
  uint64_t size = align_up(bytes, m->alignment);
  if (ctx->caps.max_allocation_bytes && size > ctx->caps.max_allocation_bytes)
    return rp_fail(RP_ERR_TOO_LARGE,
                   "a buffer of %llu MiB exceeds maxMemoryAllocationSize (%llu MiB) on %s",
                   (unsigned long long)(bytes >> 20),
                   (unsigned long long)(ctx->caps.max_allocation_bytes >> 20), ctx->caps.name);
  uint64_t offset = 0;
  uint32_t block = 0;
  while (block < m->block_count && !take_from_block(&m->blocks[block], size, &offset)) block++;
  if (block == m->block_count) { /* no room anywhere: a new block */
    uint64_t block_size = size > BLOCK_BYTES ? size : BLOCK_BYTES;
    if (ctx->caps.max_allocation_bytes && block_size > ctx->caps.max_allocation_bytes)
      block_size = size;
    rp_status st = add_block(ctx, block_size, &block);
    if (st) return st;
    take_from_block(&m->blocks[block], size, &offset);
  }
  out->handle = m->blocks[block].buffer;
  out->offset = offset;
  out->size = bytes;
  out->block = block;
  m->in_use += size;
  return RP_OK;
}

rp_status rp_buffer_create_mapped(rp_context *ctx, uint64_t bytes, rp_buffer *out) {
  memset(out, 0, sizeof *out);
  if (bytes == 0) return rp_fail(RP_ERR_INVALID_ARGUMENT, "cannot allocate a buffer of 0 bytes");
  uint32_t type;
  rp_status st = create_bound_buffer(
      ctx, align_up(bytes, ctx->memory.alignment), DEVICE_USAGE,
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
      VK_MEMORY_PROPERTY_HOST_CACHED_BIT, &out->handle, &out->dedicated, &type);
  if (st) return st;
  VkResult r = ctx->vk.vkMapMemory(ctx->device, out->dedicated, 0, VK_WHOLE_SIZE, 0, &out->mapped);
  if (r != VK_SUCCESS) {
    ctx->vk.vkDestroyBuffer(ctx->device, out->handle, NULL);
    ctx->vk.vkFreeMemory(ctx->device, out->dedicated, NULL);
    memset(out, 0, sizeof *out);
    return rp_vk_fail(r, "vkMapMemory");
  }
  out->size = bytes;
  out->block = UINT32_MAX;
  return RP_OK;
}

uint64_t rp_buffer_block_size(const rp_context *ctx, const rp_buffer *buffer) {
  if (buffer->dedicated || buffer->block >= ctx->memory.block_count) return 0;
  return ctx->memory.blocks[buffer->block].size;
}

void rp_buffer_destroy(rp_context *ctx, rp_buffer *buffer) {
  if (!buffer->handle) return;
  if (buffer->dedicated) { /* a mapped buffer: its own memory */
    ctx->vk.vkDestroyBuffer(ctx->device, buffer->handle, NULL);
    ctx->vk.vkFreeMemory(ctx->device, buffer->dedicated, NULL);
    memset(buffer, 0, sizeof *buffer);
    return;
  }
  uint64_t size = align_up(buffer->size, ctx->memory.alignment);
  give_back_to_block(&ctx->memory.blocks[buffer->block], buffer->offset, size);
  ctx->memory.in_use -= size;
  memset(buffer, 0, sizeof *buffer);
}

void rp_memory_usage(const rp_context *ctx, uint64_t *in_use, uint64_t *reserved) {
  *in_use = ctx->memory.in_use;
  *reserved = 0;
  for (uint32_t i = 0; i < ctx->memory.block_count; i++) *reserved += ctx->memory.blocks[i].size;
}

/* ---- transfers ---- */

typedef struct transfer {
  VkBuffer src, dst;
  VkBufferCopy region;
  bool to_host;
} transfer;

/* Every earlier compute or transfer write is made visible to this copy, and the copy's result
 * to later compute work or to the host. Transfers are rare, so full barriers are fine. */
static void record_transfer(rp_context *ctx, VkCommandBuffer cmd, void *user) {
  const transfer *t = user;
  VkMemoryBarrier before = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
  ctx->vk.vkCmdPipelineBarrier(
      cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
      VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, NULL, 0, NULL);
  ctx->vk.vkCmdCopyBuffer(cmd, t->src, t->dst, 1, &t->region);
  VkMemoryBarrier after = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                           .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                           .dstAccessMask =
                               t->to_host ? VK_ACCESS_HOST_READ_BIT
                                          : VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
  ctx->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                               t->to_host ? VK_PIPELINE_STAGE_HOST_BIT
                                          : VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                               0, 1, &after, 0, NULL, 0, NULL);
}

static rp_status check_range(const rp_buffer *buffer, uint64_t offset, uint64_t bytes,
                             const char *what) {
  if (!buffer->handle) return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: buffer is not allocated", what);
  if (offset > buffer->size || bytes > buffer->size - offset)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s of %llu bytes at offset %llu overruns a buffer of %llu bytes", what,
                   (unsigned long long)bytes, (unsigned long long)offset,
                   (unsigned long long)buffer->size);
  return RP_OK;
}

rp_status rp_buffer_upload(rp_context *ctx, const rp_buffer *buffer, uint64_t offset,
                           const void *src, uint64_t bytes) {
  rp_status st = check_range(buffer, offset, bytes, "upload");
  for (uint64_t done = 0; st == RP_OK && done < bytes;) {
    uint64_t n = bytes - done < ctx->memory.staging_size ? bytes - done : ctx->memory.staging_size;
    memcpy(ctx->memory.staging_mapped, (const char *)src + done, n);
    transfer t = {
        .src = ctx->memory.staging,
        .dst = buffer->handle,
        .region = {.srcOffset = 0, .dstOffset = buffer->offset + offset + done, .size = n}};
    st = rp_run_once(ctx, record_transfer, &t);
    done += n;
  }
  return st;
}

rp_status rp_buffer_download(rp_context *ctx, const rp_buffer *buffer, uint64_t offset, void *dst,
                             uint64_t bytes) {
  rp_status st = check_range(buffer, offset, bytes, "download");
  for (uint64_t done = 0; st == RP_OK && done < bytes;) {
    uint64_t n = bytes - done < ctx->memory.staging_size ? bytes - done : ctx->memory.staging_size;
    transfer t = {
        .src = buffer->handle,
        .dst = ctx->memory.staging,
        .region = {.srcOffset = buffer->offset + offset + done, .dstOffset = 0, .size = n},
        .to_host = true};
    st = rp_run_once(ctx, record_transfer, &t);
    if (st == RP_OK) memcpy((char *)dst + done, ctx->memory.staging_mapped, n);
    done += n;
  }
  return st;
}
