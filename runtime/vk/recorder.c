#include "vk/recorder.h"

#include <stdlib.h>
#include <string.h>

#include "vk/context_internal.h"

#define SETS_PER_POOL 256
#define MAX_TIMESTAMPS 1024

typedef struct range {
  VkBuffer buffer;
  uint64_t begin, end;
} range;

typedef struct range_list {
  range *items;
  uint32_t count, capacity;
} range_list;

struct rp_recorder {
  rp_context *ctx;
  VkCommandBuffer cmd;
  VkFence fence;
  bool recording, recorded, in_flight;
  bool full_barriers;
  bool poison_scratch; /* REPRO_POISON_SCRATCH=1: NaN over scratch at every request */
  bool bind_slack;     /* REPRO_BIND_SLACK=1: bindings reach RP_BIND_SLACK_BYTES further */
  bool profile;        /* REPRO_PROFILE=1: a timestamp after every dispatch */
  const char *profile_shader[MAX_TIMESTAMPS]; /* the dispatch that timestamp i ends */

  VkDescriptorPool *pools;
  uint32_t pool_count, pool_used;

  VkQueryPool queries;
  uint32_t timestamp_count;

  /* Ranges touched since the last barrier. */
  range_list written, read;
  uint32_t dispatches, barriers;
  rp_status error; /* first failure while recording, returned by rp_rec_end */

  /* Scratch buffers handed out by rp_rec_scratch; the last is the largest. They live until the
   * recorder is begun anew or destroyed, because the recording refers to them. */
  rp_buffer *scratch;
  uint32_t scratch_count, scratch_capacity;

  /* The texel-buffer views of the recording's dispatches, which live as long. */
  VkBufferView *views;
  uint32_t view_count, view_capacity;
};

static bool push_range(range_list *list, range r) {
  if (list->count == list->capacity) {
    uint32_t cap = list->capacity ? 2 * list->capacity : 64;
    range *grown = realloc(list->items, cap * sizeof *grown);
    if (!grown) return false;
    list->items = grown;
    list->capacity = cap;
  }
  list->items[list->count++] = r;
  return true;
}

static void destroy_views(rp_recorder *rec) {
  for (uint32_t i = 0; i < rec->view_count; i++)
    rec->ctx->vk.vkDestroyBufferView(rec->ctx->device, rec->views[i], NULL);
  rec->view_count = 0;
}

static bool overlaps_any(const range_list *list, range r) {
  for (uint32_t i = 0; i < list->count; i++) {
    const range *o = &list->items[i];
    if (o->buffer == r.buffer && o->begin < r.end && r.begin < o->end) return true;
  }
  return false;
}

rp_status rp_recorder_create(rp_context *ctx, rp_recorder **out) {
  *out = NULL;
  rp_recorder *rec = calloc(1, sizeof *rec);
  if (!rec) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  rec->ctx = ctx;
  const char *full = getenv("REPRO_FULL_BARRIERS");
  rec->full_barriers = full && *full && *full != '0';
  const char *poison = getenv("REPRO_POISON_SCRATCH");
  rec->poison_scratch = poison && *poison && *poison != '0';
  const char *slack = getenv("REPRO_BIND_SLACK");
  rec->bind_slack = slack && *slack && *slack != '0';
  const char *profile = getenv("REPRO_PROFILE");
  rec->profile = profile && *profile && *profile != '0';
  VkCommandBufferAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = ctx->command_pool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
  VkResult r = ctx->vk.vkAllocateCommandBuffers(ctx->device, &alloc, &rec->cmd);
  VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  if (r == VK_SUCCESS) r = ctx->vk.vkCreateFence(ctx->device, &fence, NULL, &rec->fence);
  if (r == VK_SUCCESS && ctx->caps.timestamps) {
    VkQueryPoolCreateInfo q = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                               .queryType = VK_QUERY_TYPE_TIMESTAMP,
                               .queryCount = MAX_TIMESTAMPS};
    r = ctx->vk.vkCreateQueryPool(ctx->device, &q, NULL, &rec->queries);
  }
  if (r != VK_SUCCESS) {
    rp_recorder_destroy(rec);
    return rp_vk_fail(r, "creating a recorder");
  }
  *out = rec;
  return RP_OK;
}

void rp_recorder_destroy(rp_recorder *rec) {
  if (!rec) return;
  rp_context *ctx = rec->ctx;
  if (rec->in_flight) rp_rec_wait(rec);
  for (uint32_t i = 0; i < rec->pool_count; i++)
    ctx->vk.vkDestroyDescriptorPool(ctx->device, rec->pools[i], NULL);
  free(rec->pools);
  if (rec->queries) ctx->vk.vkDestroyQueryPool(ctx->device, rec->queries, NULL);
  if (rec->fence) ctx->vk.vkDestroyFence(ctx->device, rec->fence, NULL);
  if (rec->cmd) ctx->vk.vkFreeCommandBuffers(ctx->device, ctx->command_pool, 1, &rec->cmd);
  for (uint32_t i = 0; i < rec->scratch_count; i++) rp_buffer_destroy(ctx, &rec->scratch[i]);
  free(rec->scratch);
  destroy_views(rec);
  free(rec->views);
  free(rec->written.items);
  free(rec->read.items);
  free(rec);
}

static void barrier(rp_recorder *rec, VkPipelineStageFlags src_stages) {
  /* An access mask may only name accesses its stages perform (VUID-...-srcAccessMask-02815):
   * transfer writes only where the transfer stage is among the sources. */
  VkAccessFlags src = VK_ACCESS_SHADER_WRITE_BIT;
  if (src_stages & VK_PIPELINE_STAGE_TRANSFER_BIT) src |= VK_ACCESS_TRANSFER_WRITE_BIT;
  VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                       .srcAccessMask = src,
                       .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
  rec->ctx->vk.vkCmdPipelineBarrier(rec->cmd, src_stages, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                                    1, &b, 0, NULL, 0, NULL);
  rec->written.count = 0;
  rec->read.count = 0;
}

/* NaN over all of a scratch buffer, between barriers (the fill is a transfer write): an op
 * that reads scratch it did not write since asking for it (padding it took for zero, partial
 * sums of another op) then shows NaN in its results instead of passing on leftovers, which
 * are often zero on a fresh buffer. For tests and debugging; the barriers cost time. */
static void poison(rp_recorder *rec, const rp_buffer *b) {
  const struct VolkDeviceTable *vk = &rec->ctx->vk;
  VkMemoryBarrier before = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                            .srcAccessMask =
                                VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                            .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT};
  vk->vkCmdPipelineBarrier(rec->cmd,
                           VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                           VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, NULL, 0, NULL);
  vk->vkCmdFillBuffer(rec->cmd, b->handle, b->offset, b->size / 4 * 4, 0x7fc00000u); /* NaN */
  barrier(rec, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT);
  rec->barriers += 2;
}

rp_status rp_rec_scratch(rp_recorder *rec, uint64_t bytes, const rp_buffer **out) {
  *out = NULL;
  if (rec->scratch_count && rec->scratch[rec->scratch_count - 1].size >= bytes) {
    *out = &rec->scratch[rec->scratch_count - 1];
    if (rec->poison_scratch && rec->recording) poison(rec, *out);
    return RP_OK;
  }
  if (rec->scratch_count == rec->scratch_capacity) {
    uint32_t cap = rec->scratch_capacity ? 2 * rec->scratch_capacity : 4;
    rp_buffer *grown = realloc(rec->scratch, cap * sizeof *grown);
    if (!grown) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
    rec->scratch = grown;
    rec->scratch_capacity = cap;
  }
  /* Grow geometrically so that a recording of many layers allocates only a few times. */
  uint64_t size = bytes;
  if (rec->scratch_count && size < 2 * rec->scratch[rec->scratch_count - 1].size)
    size = 2 * rec->scratch[rec->scratch_count - 1].size;
  uint64_t cap = rec->ctx->caps.max_storage_buffer_range;
  if (size > cap && bytes <= cap) size = cap;
  rp_status st = rp_buffer_create(rec->ctx, size, &rec->scratch[rec->scratch_count]);
  if (st) return st;
  *out = &rec->scratch[rec->scratch_count++];
  if (rec->poison_scratch && rec->recording) poison(rec, *out);
  return RP_OK;
}

rp_status rp_rec_begin(rp_recorder *rec) {
  rp_context *ctx = rec->ctx;
  if (rec->in_flight) {
    rp_status st = rp_rec_wait(rec);
    if (st) return st;
  }
  for (uint32_t i = 0; i < rec->pool_count; i++)
    ctx->vk.vkResetDescriptorPool(ctx->device, rec->pools[i], 0);
  rec->pool_used = 0;
  for (uint32_t i = 0; i < rec->scratch_count; i++) rp_buffer_destroy(ctx, &rec->scratch[i]);
  rec->scratch_count = 0;
  destroy_views(rec);
  rec->dispatches = rec->barriers = rec->timestamp_count = 0;
  rec->error = RP_OK;
  rec->recorded = false;
  VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  ctx->vk.vkResetCommandBuffer(rec->cmd, 0);
  VkResult r = ctx->vk.vkBeginCommandBuffer(rec->cmd, &begin);
  if (r != VK_SUCCESS) return rp_vk_fail(r, "vkBeginCommandBuffer");
  if (rec->queries) ctx->vk.vkCmdResetQueryPool(rec->cmd, rec->queries, 0, MAX_TIMESTAMPS);
  /* Whatever earlier submissions (or uploads) wrote is visible to this one, and nothing here
   * overwrites what they still read. */
  barrier(rec, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT);
  rec->recording = true;
  return RP_OK;
}

static rp_status allocate_set(rp_recorder *rec, VkDescriptorSetLayout layout,
                              VkDescriptorSet *set) {
  rp_context *ctx = rec->ctx;
  while (true) {
    if (rec->pool_used == rec->pool_count) {
      VkDescriptorPool *grown =
          realloc(rec->pools, (rec->pool_count + 1) * sizeof(VkDescriptorPool));
      if (!grown) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
      rec->pools = grown;
      VkDescriptorPoolSize sizes[] = {{.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                       .descriptorCount = SETS_PER_POOL * RP_MAX_BINDINGS},
                                      {.type = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                       .descriptorCount = SETS_PER_POOL * RP_MAX_BINDINGS}};
      VkDescriptorPoolCreateInfo info = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                         .maxSets = SETS_PER_POOL,
                                         .poolSizeCount = 2,
                                         .pPoolSizes = sizes};
      VkResult r =
          ctx->vk.vkCreateDescriptorPool(ctx->device, &info, NULL, &rec->pools[rec->pool_count]);
      if (r != VK_SUCCESS) return rp_vk_fail(r, "vkCreateDescriptorPool");
      rec->pool_count++;
    }
    VkDescriptorSetAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                         .descriptorPool = rec->pools[rec->pool_used],
                                         .descriptorSetCount = 1,
                                         .pSetLayouts = &layout};
    VkResult r = ctx->vk.vkAllocateDescriptorSets(ctx->device, &alloc, set);
    if (r == VK_SUCCESS) return RP_OK;
    if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
      return rp_vk_fail(r, "vkAllocateDescriptorSets");
    rec->pool_used++; /* this pool is full: move on to the next, creating it if needed */
  }
}

bool rp_texel_view_fits(const rp_caps *caps, uint64_t offset, uint64_t bytes, uint64_t texel) {
  uint64_t align =
      caps->min_texel_buffer_offset_alignment ? caps->min_texel_buffer_offset_alignment : 1;
  uint64_t texels = (bytes + texel - 1) / texel;
  return offset % align == 0 && offset % texel == 0 && texels >= 1 &&
         texels <= caps->max_texel_buffer_elements;
}

/* A view of `bytes` at `offset` of the buffer as whole texels: the range is rounded up to the
 * texel, which stays inside the allocation (rp_buffer_create pads to at least 256 bytes), or
 * with REPRO_BIND_SLACK, as many whole texels of `reach` bytes as the device allows. */
static rp_status make_view(rp_recorder *rec, VkBuffer buffer, uint64_t offset, uint64_t bytes,
                           uint64_t reach, uint64_t texel, VkBufferView *out) {
  if (rec->view_count == rec->view_capacity) {
    uint32_t cap = rec->view_capacity ? 2 * rec->view_capacity : 64;
    VkBufferView *grown = realloc(rec->views, cap * sizeof(VkBufferView));
    if (!grown) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
    rec->views = grown;
    rec->view_capacity = cap;
  }
  uint64_t texels = (bytes + texel - 1) / texel, reached = reach / texel;
  uint64_t most = rec->ctx->caps.max_texel_buffer_elements;
  if (reached > texels) texels = reached < most ? reached : most;
  VkBufferViewCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
                                 .buffer = buffer,
                                 .format = texel == sizeof(float) ? VK_FORMAT_R32_SFLOAT
                                                                  : VK_FORMAT_R32G32B32A32_SFLOAT,
                                 .offset = offset,
                                 .range = texels * texel};
  VkResult r = rec->ctx->vk.vkCreateBufferView(rec->ctx->device, &info, NULL, out);
  if (r != VK_SUCCESS) return rp_vk_fail(r, "vkCreateBufferView");
  rec->views[rec->view_count++] = *out;
  return RP_OK;
}

static rp_status check_dispatch(const rp_recorder *rec, const rp_pipeline *pipeline,
                                const rp_arg *args, uint32_t nargs, uint32_t push_bytes,
                                const uint32_t groups[3]) {
  const rp_caps *caps = &rec->ctx->caps;
  if (!rec->recording)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "dispatch of %s outside rp_rec_begin/rp_rec_end",
                   pipeline->shader);
  if (nargs != pipeline->binding_count)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s takes %u buffers, %u given", pipeline->shader,
                   pipeline->binding_count, nargs);
  if (push_bytes > RP_PUSH_BYTES)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %u bytes of push constants, at most %d",
                   pipeline->shader, push_bytes, RP_PUSH_BYTES);
  for (int d = 0; d < 3; d++)
    if (groups[d] > caps->max_workgroup_count[d])
      return rp_fail(RP_ERR_TOO_LARGE, "%s: %u workgroups in dimension %d, the device allows %u",
                     pipeline->shader, groups[d], d, caps->max_workgroup_count[d]);
  for (uint32_t i = 0; i < nargs; i++) {
    const rp_buffer *b = args[i].buffer;
    if (!b || !b->handle)
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: argument %u is not allocated", pipeline->shader,
                     i);
    uint64_t bytes = rp_arg_bytes(&args[i]);
    if (args[i].offset > b->size || bytes > b->size - args[i].offset)
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: argument %u overruns its buffer",
                     pipeline->shader, i);
    if (pipeline->texel_bindings >> i & 1u) {
      uint64_t texel = rp_texel_size(pipeline->texel_vec4, i);
      if (args[i].access != RP_READ)
        return rp_fail(RP_ERR_INVALID_ARGUMENT,
                       "%s: argument %u is a texel buffer, which a shader can only read",
                       pipeline->shader, i);
      uint64_t at = b->offset + args[i].offset;
      if (!rp_texel_view_fits(caps, at, bytes, texel))
        return rp_fail(RP_ERR_TOO_LARGE,
                       "%s: argument %u (%llu bytes at offset %llu) does not fit a texel buffer "
                       "on %s (at most %llu texels, offsets a multiple of %llu)",
                       pipeline->shader, i, (unsigned long long)bytes, (unsigned long long)at,
                       caps->name, (unsigned long long)caps->max_texel_buffer_elements,
                       (unsigned long long)caps->min_texel_buffer_offset_alignment);
      continue;
    }
    if (bytes > caps->max_storage_buffer_range)
      return rp_fail(RP_ERR_TOO_LARGE,
                     "%s: argument %u binds %llu bytes, more than maxStorageBufferRange (%llu) "
                     "on %s",
                     pipeline->shader, i, (unsigned long long)bytes,
                     (unsigned long long)caps->max_storage_buffer_range, caps->name);
  }
  return RP_OK;
}

/* The bytes a binding of `bytes` at `offset` of `b`'s VkBuffer covers: `bytes`, or with
 * REPRO_BIND_SLACK up to RP_BIND_SLACK_BYTES more, as far as the VkBuffer and the device's
 * range limit go. A shader of repro never reads or writes the slack; one that does by mistake
 * reaches what lies there (in the tests, a guard region) where a driver that clamps accesses
 * to the binding, as lavapipe does, would have dropped the write and read a zero. */
static uint64_t reach_of(const rp_recorder *rec, const rp_buffer *b, uint64_t offset,
                         uint64_t bytes) {
  uint64_t end = rec->bind_slack ? rp_buffer_block_size(rec->ctx, b) : 0;
  if (end <= offset + bytes) return bytes;
  uint64_t reach = bytes + RP_BIND_SLACK_BYTES, room = end - offset;
  if (reach > room) reach = room;
  uint64_t most = rec->ctx->caps.max_storage_buffer_range;
  if (reach > most) reach = most > bytes ? most : bytes; /* the binding itself was checked */
  return reach;
}

rp_status rp_rec_dispatch(rp_recorder *rec, const rp_pipeline *pipeline, const rp_arg *args,
                          uint32_t nargs, const void *push, uint32_t push_bytes,
                          const uint32_t groups[3]) {
  if (rec->error) return rec->error;
  rp_context *ctx = rec->ctx;
  rp_status st = check_dispatch(rec, pipeline, args, nargs, push_bytes, groups);
  VkDescriptorSet set = VK_NULL_HANDLE;
  if (st == RP_OK) st = allocate_set(rec, pipeline->set_layout, &set);
  if (st) {
    rec->error = st;
    return st;
  }
  if (groups[0] == 0 || groups[1] == 0 || groups[2] == 0) return RP_OK; /* nothing to do */

  VkDescriptorBufferInfo infos[RP_MAX_BINDINGS];
  VkBufferView views[RP_MAX_BINDINGS];
  VkWriteDescriptorSet writes[RP_MAX_BINDINGS];
  range ranges[RP_MAX_BINDINGS];
  bool needs_barrier = rec->full_barriers && rec->dispatches > 0;
  for (uint32_t i = 0; i < nargs; i++) {
    const rp_buffer *b = args[i].buffer;
    uint64_t bytes = rp_arg_bytes(&args[i]), offset = b->offset + args[i].offset;
    uint64_t reach = reach_of(rec, b, offset, bytes);
    infos[i] = (VkDescriptorBufferInfo){.buffer = b->handle, .offset = offset, .range = reach};
    writes[i] =
        (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                               .dstSet = set,
                               .dstBinding = i,
                               .descriptorCount = 1,
                               .descriptorType = rp_binding_type(pipeline->texel_bindings, i),
                               .pBufferInfo = &infos[i]};
    if (pipeline->texel_bindings >> i & 1u) {
      st = make_view(rec, b->handle, offset, bytes, reach, rp_texel_size(pipeline->texel_vec4, i),
                     &views[i]);
      if (st) return rec->error = st;
      writes[i].pBufferInfo = NULL;
      writes[i].pTexelBufferView = &views[i];
    }
    /* the whole reach: what the validation layer checks the barriers against */
    ranges[i] = (range){b->handle, offset, offset + reach};
    /* read-after-write, write-after-write, write-after-read */
    if (overlaps_any(&rec->written, ranges[i]) ||
        ((args[i].access & RP_WRITE) && overlaps_any(&rec->read, ranges[i])))
      needs_barrier = true;
  }
  ctx->vk.vkUpdateDescriptorSets(ctx->device, nargs, writes, 0, NULL);
  if (needs_barrier) {
    barrier(rec, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
    rec->barriers++;
  }
  for (uint32_t i = 0; i < nargs; i++) {
    bool ok = true;
    if (args[i].access & RP_READ) ok = push_range(&rec->read, ranges[i]);
    if (args[i].access & RP_WRITE) ok = ok && push_range(&rec->written, ranges[i]);
    if (!ok) return rec->error = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  }
  ctx->vk.vkCmdBindPipeline(rec->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline->handle);
  ctx->vk.vkCmdBindDescriptorSets(rec->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline->layout, 0, 1,
                                  &set, 0, NULL);
  if (push_bytes)
    ctx->vk.vkCmdPushConstants(rec->cmd, pipeline->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                               push_bytes, push);
  ctx->vk.vkCmdDispatch(rec->cmd, groups[0], groups[1], groups[2]);
  if (rec->profile && rec->timestamp_count > 0 && rec->timestamp_count < MAX_TIMESTAMPS) {
    rec->profile_shader[rec->timestamp_count] = pipeline->shader;
    rp_rec_timestamp(rec);
  }
  rec->dispatches++;
  return RP_OK;
}

uint32_t rp_rec_profile_count(const rp_recorder *rec) {
  return rec->profile && rec->timestamp_count > 1 ? rec->timestamp_count - 1 : 0;
}

rp_status rp_rec_profile_entry(rp_recorder *rec, uint32_t i, const char **shader, double *ms) {
  if (i >= rp_rec_profile_count(rec))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "no profile entry %u", i);
  *shader = rec->profile_shader[i + 1];
  return rp_rec_elapsed_ms(rec, (int)i, (int)i + 1, ms);
}

int rp_rec_timestamp(rp_recorder *rec) {
  if (!rec->queries || !rec->recording || rec->timestamp_count == MAX_TIMESTAMPS) return -1;
  rec->ctx->vk.vkCmdWriteTimestamp(rec->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, rec->queries,
                                   rec->timestamp_count);
  return (int)rec->timestamp_count++;
}

rp_status rp_rec_end(rp_recorder *rec) {
  if (!rec->recording) return rp_fail(RP_ERR_INVALID_ARGUMENT, "rp_rec_end without rp_rec_begin");
  rec->recording = false;
  /* Whatever the recording wrote becomes visible to the host once its fence has signalled, so
   * results in mapped buffers (metric accumulators) can be read without a download. */
  VkMemoryBarrier to_host = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                             .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                             .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
  rec->ctx->vk.vkCmdPipelineBarrier(rec->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                    VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, NULL, 0, NULL);
  VkResult r = rec->ctx->vk.vkEndCommandBuffer(rec->cmd);
  if (rec->error) return rec->error;
  if (r != VK_SUCCESS) return rp_vk_fail(r, "vkEndCommandBuffer");
  rec->recorded = true;
  return RP_OK;
}

rp_status rp_rec_submit(rp_recorder *rec) {
  rp_context *ctx = rec->ctx;
  if (!rec->recorded) return rp_fail(RP_ERR_INVALID_ARGUMENT, "submit of an unfinished recording");
  if (rec->in_flight) {
    rp_status st = rp_rec_wait(rec);
    if (st) return st;
  }
  VkSubmitInfo submit = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                         .commandBufferCount = 1,
                         .pCommandBuffers = &rec->cmd};
  VkResult r = ctx->vk.vkQueueSubmit(ctx->queue, 1, &submit, rec->fence);
  if (r != VK_SUCCESS) return rp_vk_fail(r, "vkQueueSubmit");
  rec->in_flight = true;
  return RP_OK;
}

rp_status rp_rec_wait(rp_recorder *rec) {
  rp_context *ctx = rec->ctx;
  if (!rec->in_flight) return RP_OK;
  VkResult r = ctx->vk.vkWaitForFences(ctx->device, 1, &rec->fence, VK_TRUE, UINT64_MAX);
  rec->in_flight = false;
  if (r == VK_SUCCESS) r = ctx->vk.vkResetFences(ctx->device, 1, &rec->fence);
  return r == VK_SUCCESS ? RP_OK : rp_vk_fail(r, "waiting for the GPU");
}

rp_status rp_rec_run(rp_recorder *rec) {
  rp_status st = rp_rec_submit(rec);
  return st ? st : rp_rec_wait(rec);
}

uint64_t rp_timestamp_ticks(uint64_t from, uint64_t to, uint32_t valid_bits) {
  /* the difference modulo 2^bits is right across one wrap */
  uint64_t mask = valid_bits >= 64 ? UINT64_MAX : (UINT64_C(1) << valid_bits) - 1;
  return (to - from) & mask;
}

rp_status rp_rec_elapsed_ms(rp_recorder *rec, int from, int to, double *ms) {
  if (from < 0 || to < 0 || (uint32_t)from >= rec->timestamp_count ||
      (uint32_t)to >= rec->timestamp_count)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "no such timestamps (%d, %d)", from, to);
  uint64_t t[2];
  VkResult r = rec->ctx->vk.vkGetQueryPoolResults(
      rec->ctx->device, rec->queries, (uint32_t)from, 1, sizeof t[0], &t[0], sizeof t[0],
      VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
  if (r == VK_SUCCESS)
    r = rec->ctx->vk.vkGetQueryPoolResults(rec->ctx->device, rec->queries, (uint32_t)to, 1,
                                           sizeof t[1], &t[1], sizeof t[1],
                                           VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
  if (r != VK_SUCCESS) return rp_vk_fail(r, "vkGetQueryPoolResults");
  uint64_t ticks = rp_timestamp_ticks(t[0], t[1], rec->ctx->caps.timestamp_valid_bits);
  *ms = (double)ticks * rec->ctx->caps.timestamp_period_ns * 1e-6;
  return RP_OK;
}

rp_context *rp_rec_context(const rp_recorder *rec) { return rec->ctx; }

uint32_t rp_rec_dispatch_count(const rp_recorder *rec) { return rec->dispatches; }
uint32_t rp_rec_barrier_count(const rp_recorder *rec) { return rec->barriers; }
