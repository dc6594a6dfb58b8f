/* Device memory: a few large device-local blocks, sub-allocated, and a host-visible staging
 * buffer for uploads and read-backs.
 *
 * vkAllocateMemory is slow and drivers cap the number of allocations, so every rp_buffer is a
 * range inside a block. Each block is bound to one VkBuffer spanning it; an rp_buffer is
 * (that VkBuffer, offset, size), which is what descriptors and copies need. */
#ifndef RP_MEMORY_H
#define RP_MEMORY_H

#include <stdint.h>
#include <volk.h>

#include "vk/status.h"

typedef struct rp_context rp_context;

typedef struct rp_buffer {
  VkBuffer handle; /* the block's buffer */
  uint64_t offset; /* where this allocation starts in it */
  uint64_t size;   /* bytes requested */
  uint32_t block;  /* index of the block, for freeing */
  /* Mapped buffers only (rp_buffer_create_mapped): their own memory, and its host address. */
  VkDeviceMemory dedicated;
  void *mapped;
} rp_buffer;

/* Allocates `bytes` of device-local memory, aligned for storage-buffer binding and padded to
 * that alignment (at least 256 bytes), so that a texel view may round its range up to whole
 * texels of 16 bytes. */
rp_status rp_buffer_create(rp_context *ctx, uint64_t bytes, rp_buffer *out);

/* Allocates `bytes` of host-visible, coherent memory (padded likewise) that shaders can bind
 * like any buffer and the host writes through `buffer->mapped` between submissions: the
 * per-step inputs of a recorded training step (the batch, its labels, the learning rate). A
 * submission makes host writes made before it visible to the device, so no upload or barrier
 * is needed. */
rp_status rp_buffer_create_mapped(rp_context *ctx, uint64_t bytes, rp_buffer *out);

/* Returns the range to its block; a zeroed rp_buffer is ignored. */
void rp_buffer_destroy(rp_context *ctx, rp_buffer *buffer);

/* Copies host memory into the buffer (through staging) and waits until it is there. */
rp_status rp_buffer_upload(rp_context *ctx, const rp_buffer *buffer, uint64_t offset,
                           const void *src, uint64_t bytes);

/* Copies the buffer's contents back to host memory, waiting for all submitted work first. */
rp_status rp_buffer_download(rp_context *ctx, const rp_buffer *buffer, uint64_t offset, void *dst,
                             uint64_t bytes);

/* The size of the VkBuffer that `buffer` is a range of: its block's. 0 for a mapped buffer, of
 * which a view (a range inside it) does not tell where the VkBuffer ends. */
uint64_t rp_buffer_block_size(const rp_context *ctx, const rp_buffer *buffer);

/* Bytes handed out to live rp_buffers, and bytes of device memory allocated for blocks. */
void rp_memory_usage(const rp_context *ctx, uint64_t *in_use, uint64_t *reserved);

/* ---- inside the device layer ---- */

typedef struct rp_free_range {
  uint64_t offset, size;
} rp_free_range;

typedef struct rp_block {
  VkDeviceMemory memory;
  VkBuffer buffer;
  uint64_t size;
  rp_free_range *free; /* sorted by offset, never adjacent (coalesced) */
  uint32_t free_count, free_capacity;
} rp_block;

typedef struct rp_memory {
  rp_block *blocks;
  uint32_t block_count, block_capacity;
  uint32_t device_type, staging_type; /* memory type indices */
  uint64_t alignment;
  uint64_t in_use;

  VkBuffer staging;
  VkDeviceMemory staging_memory;
  void *staging_mapped;
  uint64_t staging_size;
} rp_memory;

rp_status rp_memory_init(rp_context *ctx);
void rp_memory_release(rp_context *ctx);

#endif
