#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk/context_internal.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

rp_status rp_vk_fail(VkResult result, const char *what) {
  switch (result) {
  case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "%s: out of device memory", what);
  case VK_ERROR_OUT_OF_HOST_MEMORY:
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "%s: out of host memory", what);
  case VK_ERROR_DEVICE_LOST:
    return rp_fail(RP_ERR_DEVICE_LOST,
                   "%s: device lost (the driver reset the GPU or crashed; a shader may have run "
                   "too long or out of bounds)",
                   what);
  default: return rp_fail(RP_ERR_VULKAN, "%s failed (VkResult %d)", what, (int)result);
  }
}

static bool env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && *v != '0';
}

/* ---- instance ---- */

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT type,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
  rp_context *ctx = user;
  atomic_fetch_add(&ctx->validation_messages, 1);
  const char *level =
      (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "error" : "warning";
  /* Validation messages are diagnostics for developers, so they go straight to stderr;
   * the count is what tests assert on. */
  fprintf(stderr, "repro: validation %s: %s\n", level, data->pMessage);
  return VK_FALSE;
}

static bool layer_present(const char *name) {
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, NULL);
  VkLayerProperties *layers = calloc(n ? n : 1, sizeof *layers);
  if (!layers) return false;
  vkEnumerateInstanceLayerProperties(&n, layers);
  bool found = false;
  for (uint32_t i = 0; i < n && !found; i++) found = strcmp(layers[i].layerName, name) == 0;
  free(layers);
  return found;
}

static rp_status load_loader(void) {
  if (volkInitialize() != VK_SUCCESS)
    return rp_fail(RP_ERR_NO_LOADER,
                   "cannot load the Vulkan loader libvulkan.so.1 (on Debian: apt-get install "
                   "libvulkan1 mesa-vulkan-drivers)");
  return RP_OK;
}

/* Creates a Vulkan 1.1+ instance; with `ctx` non-NULL and validation on, the Khronos layer
 * with synchronization validation and a messenger that counts into ctx. */
static rp_status create_instance(rp_context *ctx, bool validate, VkInstance *out) {
  rp_status st = load_loader();
  if (st) return st;
  if (volkGetInstanceVersion() < VK_API_VERSION_1_1)
    return rp_fail(RP_ERR_NO_LOADER, "the Vulkan loader is older than 1.1");

  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                           .pApplicationName = "repro",
                           .applicationVersion = 1,
                           .pEngineName = "repro",
                           .apiVersion = VK_API_VERSION_1_2};
  const char *layers[1] = {VALIDATION_LAYER};
  const char *extensions[1] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
  VkValidationFeatureEnableEXT enables[] = {
      VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                      .enabledValidationFeatureCount = 1,
                                      .pEnabledValidationFeatures = enables};
  VkDebugUtilsMessengerCreateInfoEXT messenger_info = {
      .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
      .pNext = &features,
      .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
      .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
      .pfnUserCallback = on_validation_message,
      .pUserData = ctx};
  VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pApplicationInfo = &app};
  if (validate) {
    if (!layer_present(VALIDATION_LAYER))
      return rp_fail(RP_ERR_VULKAN,
                     "validation was asked for (REPRO_VALIDATE=1) but %s is not installed "
                     "(on Debian: apt-get install vulkan-validationlayers)",
                     VALIDATION_LAYER);
    info.enabledLayerCount = 1;
    info.ppEnabledLayerNames = layers;
    info.enabledExtensionCount = 1;
    info.ppEnabledExtensionNames = extensions;
    info.pNext = &messenger_info; /* also reports problems inside vkCreateInstance */
  }
  VkResult r = vkCreateInstance(&info, NULL, out);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER) {
    /* These variables replace the loader's search for drivers (VK_DRIVER_FILES first, as the
     * loader reads them): when one is set, it is the likelier cause than a missing driver. */
    const char *var = "VK_DRIVER_FILES", *files = getenv(var);
    if (!files || !*files) var = "VK_ICD_FILENAMES", files = getenv(var);
    if (files && *files)
      return rp_fail(RP_ERR_NO_DEVICE,
                     "no Vulkan driver could be loaded from %s=%s (unset it to use the installed "
                     "drivers)",
                     var, files);
    return rp_fail(RP_ERR_NO_DEVICE, "no Vulkan driver is installed (on Debian: apt-get install "
                                     "mesa-vulkan-drivers, or your GPU vendor's driver)");
  }
  if (r != VK_SUCCESS) return rp_vk_fail(r, "vkCreateInstance");
  volkLoadInstanceOnly(*out);
  if (validate && ctx) {
    messenger_info.pNext = NULL;
    r = vkCreateDebugUtilsMessengerEXT(*out, &messenger_info, NULL, &ctx->messenger);
    if (r != VK_SUCCESS) return rp_vk_fail(r, "vkCreateDebugUtilsMessengerEXT");
  }
  return RP_OK;
}

static rp_status list_physical(VkInstance instance, VkPhysicalDevice *out, uint32_t max,
                               uint32_t *count) {
  uint32_t n = max;
  VkResult r = vkEnumeratePhysicalDevices(instance, &n, out);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) return rp_vk_fail(r, "vkEnumeratePhysicalDevices");
  if (n == 0)
    return rp_fail(RP_ERR_NO_DEVICE, "no Vulkan device found (is a driver installed? on Debian "
                                     "mesa-vulkan-drivers provides the lavapipe CPU device)");
  *count = n;
  return RP_OK;
}

/* The devices of `instance` (at most `max`, and at most 32) with their capabilities. */
static rp_status query_devices(VkInstance instance, VkPhysicalDevice phys[32], rp_caps *caps,
                               uint32_t max, uint32_t *count) {
  rp_status st = list_physical(instance, phys, max < 32 ? max : 32, count);
  for (uint32_t i = 0; st == RP_OK && i < *count; i++) rp_caps_query(phys[i], i, &caps[i]);
  return st;
}

rp_status rp_enumerate_devices(rp_caps *out, uint32_t max, uint32_t *count) {
  VkInstance instance = VK_NULL_HANDLE;
  rp_status st = create_instance(NULL, false, &instance);
  if (st) return st;
  VkPhysicalDevice phys[32];
  st = query_devices(instance, phys, out, max, count);
  vkDestroyInstance(instance, NULL);
  return st;
}

const char *rp_device_request(const char *explicit_choice) {
  return explicit_choice ? explicit_choice : getenv("REPRO_DEVICE");
}

/* ---- device choice ---- */

static bool contains_ignoring_case(const char *haystack, const char *needle) {
  size_t n = strlen(needle);
  for (; *haystack; haystack++) {
    size_t i = 0;
    while (i < n && haystack[i] &&
           tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i]))
      i++;
    if (i == n) return true;
  }
  return n == 0;
}

rp_status rp_choose_device(const rp_caps *devices, uint32_t count, const char *request,
                           uint32_t *chosen) {
  if (count == 0 || !devices) return rp_fail(RP_ERR_NO_DEVICE, "no Vulkan device found");
  if (request && *request) {
    char *end;
    errno = 0;
    long index = strtol(request, &end, 10);
    if (*end == '\0') {
      if (index < 0 || index >= (long)count || errno == ERANGE)
        return rp_fail(RP_ERR_INVALID_ARGUMENT,
                       "device %s requested, but there %s %u (see `repro "
                       "devices`)",
                       request, count == 1 ? "is" : "are", count);
      *chosen = (uint32_t)index;
      return RP_OK;
    }
    for (uint32_t i = 0; i < count; i++) {
      if (contains_ignoring_case(devices[i].name, request)) {
        *chosen = i;
        return RP_OK;
      }
    }
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "no device whose name contains \"%s\" (see `repro devices`)", request);
  }
  uint32_t best = UINT32_MAX;
  for (uint32_t i = 0; i < count; i++) {
    /* usable ones only: a device without compute or Vulkan 1.1 would fail after winning */
    if (devices[i].compute_queue_family == UINT32_MAX) continue;
    if (devices[i].api_version < VK_API_VERSION_1_1) continue;
    if (best == UINT32_MAX || rp_device_class_rank(devices[i].device_class) <
                                  rp_device_class_rank(devices[best].device_class))
      best = i;
  }
  if (best == UINT32_MAX)
    return rp_fail(RP_ERR_NO_COMPUTE, "no Vulkan device has a compute queue and Vulkan 1.1");
  *chosen = best;
  return RP_OK;
}

/* ---- context ---- */

static rp_status create_device(rp_context *ctx) {
  if (ctx->caps.compute_queue_family == UINT32_MAX)
    return rp_fail(RP_ERR_NO_COMPUTE, "device %u (%s) has no compute queue", ctx->caps.index,
                   ctx->caps.name);
  if (ctx->caps.api_version < VK_API_VERSION_1_1)
    return rp_fail(RP_ERR_NO_DEVICE, "device %u (%s) supports only Vulkan %u.%u; repro needs 1.1",
                   ctx->caps.index, ctx->caps.name, VK_API_VERSION_MAJOR(ctx->caps.api_version),
                   VK_API_VERSION_MINOR(ctx->caps.api_version));
  float priority = 1.0f;
  VkDeviceQueueCreateInfo queue = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = ctx->caps.compute_queue_family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &priority};
  VkDeviceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                             .queueCreateInfoCount = 1,
                             .pQueueCreateInfos = &queue};
  VkResult r = vkCreateDevice(ctx->physical, &info, NULL, &ctx->device);
  if (r != VK_SUCCESS) return rp_vk_fail(r, "vkCreateDevice");
  volkLoadDeviceTable(&ctx->vk, ctx->device);
  ctx->vk.vkGetDeviceQueue(ctx->device, ctx->caps.compute_queue_family, 0, &ctx->queue);
  VkCommandPoolCreateInfo pool = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                  .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                  .queueFamilyIndex = ctx->caps.compute_queue_family};
  r = ctx->vk.vkCreateCommandPool(ctx->device, &pool, NULL, &ctx->command_pool);
  if (r != VK_SUCCESS) return rp_vk_fail(r, "vkCreateCommandPool");
  return RP_OK;
}

rp_status rp_context_create(const rp_context_options *options, rp_context **out) {
  *out = NULL;
  rp_context_options defaults = {0};
  if (!options) options = &defaults;
  rp_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  atomic_init(&ctx->validation_messages, 0);
  ctx->validating = options->validate || env_flag("REPRO_VALIDATE");

  VkPhysicalDevice phys[32];
  rp_caps *all = calloc(32, sizeof *all);
  if (!all) {
    free(ctx);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  }
  uint32_t count = 0, chosen = 0;
  rp_status st = create_instance(ctx, ctx->validating, &ctx->instance);
  if (st == RP_OK) st = query_devices(ctx->instance, phys, all, 32, &count);
  if (st == RP_OK) st = rp_choose_device(all, count, rp_device_request(options->device), &chosen);
  if (st == RP_OK) {
    ctx->physical = phys[chosen];
    ctx->caps = all[chosen];
    rp_quirks_resolve(&ctx->caps, ctx->quirks);
    vkGetPhysicalDeviceMemoryProperties(ctx->physical, &ctx->memory_properties);
    st = create_device(ctx);
  }
  free(all);
  if (st == RP_OK) st = rp_memory_init(ctx);
  if (st == RP_OK) st = rp_pipelines_init(ctx, options->cache_dir);
  if (st != RP_OK) {
    rp_context_destroy(ctx);
    return st;
  }
  *out = ctx;
  return RP_OK;
}

void rp_context_destroy(rp_context *ctx) {
  if (!ctx) return;
  if (ctx->device) {
    ctx->vk.vkDeviceWaitIdle(ctx->device);
    rp_pipelines_release(ctx);
    rp_memory_release(ctx);
    if (ctx->command_pool) ctx->vk.vkDestroyCommandPool(ctx->device, ctx->command_pool, NULL);
    ctx->vk.vkDestroyDevice(ctx->device, NULL);
  }
  if (ctx->messenger) vkDestroyDebugUtilsMessengerEXT(ctx->instance, ctx->messenger, NULL);
  if (ctx->instance) vkDestroyInstance(ctx->instance, NULL);
  free(ctx);
}

const rp_caps *rp_context_caps(const rp_context *ctx) { return &ctx->caps; }

bool rp_context_quirk(const rp_context *ctx, rp_quirk quirk) { return ctx->quirks[quirk]; }

uint64_t rp_context_validation_messages(const rp_context *ctx) {
  return atomic_load(&((rp_context *)ctx)->validation_messages);
}

bool rp_context_validating(const rp_context *ctx) { return ctx->validating; }

rp_status rp_run_once(rp_context *ctx, void (*record)(rp_context *, VkCommandBuffer, void *),
                      void *user) {
  VkCommandBufferAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = ctx->command_pool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
  VkCommandBuffer cmd;
  VkResult r = ctx->vk.vkAllocateCommandBuffers(ctx->device, &alloc, &cmd);
  if (r != VK_SUCCESS) return rp_vk_fail(r, "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  ctx->vk.vkBeginCommandBuffer(cmd, &begin);
  record(ctx, cmd, user);
  ctx->vk.vkEndCommandBuffer(cmd);
  VkFenceCreateInfo fence_info = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence;
  r = ctx->vk.vkCreateFence(ctx->device, &fence_info, NULL, &fence);
  if (r == VK_SUCCESS) {
    VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    r = ctx->vk.vkQueueSubmit(ctx->queue, 1, &submit, fence);
    if (r == VK_SUCCESS) r = ctx->vk.vkWaitForFences(ctx->device, 1, &fence, VK_TRUE, UINT64_MAX);
    ctx->vk.vkDestroyFence(ctx->device, fence, NULL);
  }
  ctx->vk.vkFreeCommandBuffers(ctx->device, ctx->command_pool, 1, &cmd);
  return r == VK_SUCCESS ? RP_OK : rp_vk_fail(r, "one-shot transfer");
}
