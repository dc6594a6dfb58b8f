/* Whole-file reads and atomic whole-file writes, for every result, state and configuration
 * file repro keeps (JSON results, search states, run records). */
#ifndef RP_FILE_H
#define RP_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "vk/status.h"

/* Writes `size` bytes to `path` through a temporary file in the same directory, flushed to
 * disk and renamed over `path`: a reader, or a process killed at any moment, sees either the
 * old file or the new one, never a part. */
rp_status rp_file_write_atomic(const char *path, const void *data, size_t size);

/* The directory `path` is in ("." for a bare name, "/" for a file at the root) into `out`;
 * false when it does not fit. */
bool rp_file_parent_dir(const char *path, char *out, size_t size);

/* Removes the temporaries that rp_file_write_atomic left in `dir` when its process was killed
 * between creating one and renaming it (NAME.PID.tmp, PID no longer running), so that an
 * interrupted run leaves nothing behind once it resumes. Returns how many it removed; a
 * directory that cannot be read has none. */
int rp_file_remove_stale_temporaries(const char *dir);

/* The same for the temporaries of the one file `path` (PATH.PID.tmp): for an output in a
 * directory that is not repro's own (repro train's --state, --json, --save). */
int rp_file_remove_stale_temporaries_of(const char *path);

/* Reads the whole file into a NUL-terminated malloc'd buffer (*size without the NUL). */
rp_status rp_file_read(const char *path, char **text, size_t *size);

#endif
