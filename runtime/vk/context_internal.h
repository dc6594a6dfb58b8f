/* Inside the device layer: the context's fields, shared by context.c, memory.c, pipeline.c
 * and recorder.c. Nothing outside runtime/vk/ includes this, but for the recorder's test, which
 * watches the barriers it records. */
#ifndef RP_CONTEXT_INTERNAL_H
#define RP_CONTEXT_INTERNAL_H

#include <stdatomic.h>

#include "vk/context.h"
#include "vk/memory.h"
#include "vk/pipeline.h"

struct rp_context {
  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger;
  bool validating;
  atomic_uint_fast64_t validation_messages;

  VkPhysicalDevice physical;
  rp_caps caps;
  bool quirks[RP_QUIRK_COUNT + 1];
  VkPhysicalDeviceMemoryProperties memory_properties;

  VkDevice device;
  struct VolkDeviceTable vk;
  VkQueue queue;
  VkCommandPool command_pool; /* for one-shot transfers; recorders own their buffers */

  rp_memory memory;
  rp_pipelines pipelines;
};

/* Translates a failed VkResult into a status with a message naming `what` failed. */
rp_status rp_vk_fail(VkResult result, const char *what);

/* Records and submits a one-shot command buffer: `record(ctx, cmd, user)` fills it, then this
 * waits for it to finish. Used for uploads and read-backs. */
rp_status rp_run_once(rp_context *ctx, void (*record)(rp_context *, VkCommandBuffer, void *),
                      void *user);

#endif
