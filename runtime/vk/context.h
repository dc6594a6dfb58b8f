/* The device layer's root object: one Vulkan instance, one chosen device, its compute queue.
 *
 * Everything that talks to the GPU hangs off an rp_context: memory (memory.h), pipelines
 * (pipeline.h) and recorders (recorder.h). A context is used from one thread at a time. */
#ifndef RP_CONTEXT_H
#define RP_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "vk/caps.h"
#include "vk/quirks.h"
#include "vk/status.h"

typedef struct rp_context rp_context;

typedef struct rp_context_options {
  /* Which device: an index ("1") or a case-insensitive part of its name ("llvmpipe").
   * NULL means $REPRO_DEVICE, and if that is unset the automatic choice (rp_choose_device). */
  const char *device;
  /* Enable the Khronos validation layer (with synchronization validation). REPRO_VALIDATE=1
   * in the environment turns it on too. */
  bool validate;
  /* Where the VkPipelineCache is kept. NULL: $REPRO_CACHE_DIR, else $XDG_CACHE_HOME/repro,
   * else ~/.cache/repro. "" disables the on-disk cache. */
  const char *cache_dir;
} rp_context_options;

/* Creates the instance, picks the device and creates its queue. */
rp_status rp_context_create(const rp_context_options *options, rp_context **out);

/* Saves the pipeline cache and frees everything; NULL is fine. */
void rp_context_destroy(rp_context *ctx);

const rp_caps *rp_context_caps(const rp_context *ctx);
bool rp_context_quirk(const rp_context *ctx, rp_quirk quirk);

/* Validation messages seen so far (errors and warnings; 0 when validation is off). */
uint64_t rp_context_validation_messages(const rp_context *ctx);
bool rp_context_validating(const rp_context *ctx);

/* Every Vulkan device on this machine, in the driver's order, with its capabilities.
 * `*count` is set to the number found (at most `max`). */
rp_status rp_enumerate_devices(rp_caps *out, uint32_t max, uint32_t *count);

/* The device a user asked for: `explicit_choice` (a --device option) if given, else
 * $REPRO_DEVICE, else NULL (the automatic choice). */
const char *rp_device_request(const char *explicit_choice);

/* The index into `devices` that `request` names (see rp_context_options.device; NULL or ""
 * for the automatic choice among devices with a compute queue and Vulkan 1.1: discrete, then
 * integrated, then virtual, then CPU, the first of equal rank winning). A request that names
 * none of them fails with RP_ERR_INVALID_ARGUMENT: it is bad input, where no device at all
 * (RP_ERR_NO_DEVICE) is the machine's state. */
rp_status rp_choose_device(const rp_caps *devices, uint32_t count, const char *request,
                           uint32_t *chosen);

#endif
