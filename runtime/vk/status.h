/* Error reporting for the whole library.
 *
 * Nothing below the command line prints or exits: a function that can fail returns an
 * rp_status, and the message that explains the failure (naming the value, file or limit at
 * fault) is kept per thread until the next failure, like dlerror(). */
#ifndef RP_STATUS_H
#define RP_STATUS_H

typedef enum rp_status {
  RP_OK = 0,
  RP_ERR_INVALID_ARGUMENT, /* a caller passed a bad shape, size or option */
  RP_ERR_NO_LOADER,        /* libvulkan.so.1 could not be loaded */
  RP_ERR_NO_DEVICE,        /* no Vulkan device (one a request names none of: INVALID_ARGUMENT) */
  RP_ERR_NO_COMPUTE,       /* the chosen device has no compute queue */
  RP_ERR_OUT_OF_MEMORY,    /* host or device memory exhausted */
  RP_ERR_TOO_LARGE,        /* a buffer beyond maxStorageBufferRange or an allocation limit */
  RP_ERR_DEVICE_LOST,      /* the driver reported VK_ERROR_DEVICE_LOST */
  RP_ERR_VULKAN,           /* any other Vulkan failure */
  RP_ERR_IO,               /* a file could not be read or written */
  RP_ERR_DIVERGED,         /* training produced a NaN or infinite loss */
} rp_status;

/* Records a formatted message for the calling thread and returns `status`, so that a failure
 * reads `return rp_fail(RP_ERR_TOO_LARGE, "buffer of %zu bytes ...", n);`. The message is kept
 * to one line: control characters in it (from a quoted value) become '?'. Its arguments may
 * include rp_error_message(), to pass a failure on with context. */
rp_status rp_fail(rp_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message of the calling thread's last failure ("" if none). */
const char *rp_error_message(void);

/* A short name for a status, e.g. "device lost". */
const char *rp_status_name(rp_status status);

#endif
