#include "vk/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_message[1024];

rp_status rp_fail(rp_status status, const char *fmt, ...) {
  /* Formatted apart first: the arguments may quote the last message itself (a caller adding
   * context to a failure it is passing on), which vsnprintf must not read while writing. */
  char text[sizeof last_message];
  va_list args;
  va_start(args, fmt);
  // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is right above
  vsnprintf(text, sizeof text, fmt, args);
  va_end(args);
  memcpy(last_message, text, sizeof text);
  /* A message is one line: a newline or other control character in a value it quotes (a file
   * name, a JSON key, an environment variable) is shown as '?'. */
  for (char *c = last_message; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
  return status;
}

const char *rp_error_message(void) { return last_message; }

const char *rp_status_name(rp_status status) {
  switch (status) {
  case RP_OK: return "ok";
  case RP_ERR_INVALID_ARGUMENT: return "invalid argument";
  case RP_ERR_NO_LOADER: return "no Vulkan loader";
  case RP_ERR_NO_DEVICE: return "no device";
  case RP_ERR_NO_COMPUTE: return "no compute queue";
  case RP_ERR_OUT_OF_MEMORY: return "out of memory";
  case RP_ERR_TOO_LARGE: return "too large";
  case RP_ERR_DEVICE_LOST: return "device lost";
  case RP_ERR_VULKAN: return "Vulkan error";
  case RP_ERR_IO: return "I/O error";
  case RP_ERR_DIVERGED: return "training diverged";
  }
  return "unknown status";
}
