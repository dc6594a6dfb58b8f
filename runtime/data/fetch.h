/* `repro data fetch`: downloads a dataset from its official location, checks the md5 of what
 * arrived, unpacks it and places the files atomically (each written under a temporary name
 * and renamed), so a directory never holds a half-written dataset file. */
#ifndef RP_DATA_FETCH_H
#define RP_DATA_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "vk/status.h"

/* Fetches `name` into `dir`, or with dir NULL into $REPRO_DATA_DIR/<name> or else
 * ~/.cache/repro/data/<name> (where rp_dataset_load looks). Files already present are kept.
 * `where` (if not NULL) receives the directory used. Without network the message says so and
 * which files to place where by hand. */
rp_status rp_data_fetch(const char *name, const char *dir, char *where, size_t where_size);

/* The building blocks, exposed for the tests. */

/* Downloads `url` to `path` (through a temporary file) and checks its md5 (32 hex digits;
 * NULL: no check). */
rp_status rp_fetch_url(const char *url, const char *md5_hex, const char *path);
/* md5 of a file as 32 lowercase hex digits + NUL. */
rp_status rp_file_md5(const char *path, char hex[33]);
/* Extracts from the gzip'd (or plain) ustar archive `archive` the regular files whose base
 * name is in `names` (count of them) into `dir`, each atomically; every name must be found. */
rp_status rp_untar(const char *archive, const char *const *names, int count, const char *dir);

#endif
