/* Whole-file reads and atomic whole-file writes, for every result, state and configuration
 * file repro keeps (JSON results, search states, run records). */
#ifndef RP_FILE_H
#define RP_FILE_H

#include <stddef.h>

#include "vk/status.h"

/* Writes `size` bytes to `path` through a temporary file in the same directory, flushed to
 * disk and renamed over `path`: a reader, or a process killed at any moment, sees either the
 * old file or the new one, never a part. */
rp_status rp_file_write_atomic(const char *path, const void *data, size_t size);

/* Reads the whole file into a NUL-terminated malloc'd buffer (*size without the NUL). */
rp_status rp_file_read(const char *path, char **text, size_t *size);

#endif
