/* Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), so that a
 * run's weights can be read by PyTorch (tools/safetensors_torch.py) and the other way round.
 *
 * Layout: an 8-byte little-endian header size N, N bytes of JSON
 *   {"__metadata__": {"key": "value", ...},
 *    "name": {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]}, ...}
 * padded with spaces to a multiple of 8, then the data (offsets relative to its start).
 *
 * Everything here is host code: tensors are plain memory, already downloaded. */
#ifndef RP_SAFETENSORS_H
#define RP_SAFETENSORS_H

#include <stdint.h>

#include "vk/status.h"

#define RP_ST_MAX_NAME 96 /* name length + 1 */
#define RP_ST_MAX_DIMS 4
#define RP_ST_MAX_HEADER 100000000 /* bytes of JSON header, as the reference reader allows */

typedef struct rp_named_tensor {
  char name[RP_ST_MAX_NAME];
  char dtype[8]; /* "F32", "I64", ... (see rp_safetensors_dtype_size) */
  int ndim;      /* 0 (a scalar) .. RP_ST_MAX_DIMS */
  int64_t shape[RP_ST_MAX_DIMS];
  const void *data; /* little-endian, row-major */
} rp_named_tensor;

/* Bytes per element of a safetensors dtype (F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL
 * F8_E4M3 F8_E5M2), or 0 if the name is unknown. */
int rp_safetensors_dtype_size(const char *dtype);

/* Writes atomically: a temporary file beside `path`, fsync, rename, fsync of the directory, so a
 * crash leaves either the old checkpoint or the new one. Tensors are laid out as the reference
 * (Rust/Python) writer does: by dtype, widest first, then by name, which keeps every tensor
 * aligned to its element size; with a single dtype that is plain name order. meta_keys and
 * meta_values (meta_count string pairs, may be NULL when meta_count is 0) become
 * "__metadata__". */
rp_status rp_safetensors_write(const char *path, const rp_named_tensor *tensors, int count,
                               const char *const *meta_keys, const char *const *meta_values,
                               int meta_count);

/* rp_safetensors_write with one more metadata entry, `checksum_key` (no key of the caller's),
 * whose value is the zlib crc32 of every tensor's bytes in the order they are laid out, as 8
 * lowercase hex digits: the crc32 of the whole data section, which rp_safetensors_crc32 gives
 * again on reading. The header is left out (its JSON is checked as it is parsed). */
rp_status rp_safetensors_write_checksummed(const char *path, const rp_named_tensor *tensors,
                                           int count, const char *const *meta_keys,
                                           const char *const *meta_values, int meta_count,
                                           const char *checksum_key);

/* A file read whole into memory and validated (header size, JSON, dtypes, shapes against byte
 * spans, offsets inside the data and not overlapping); every error is one line naming the file.
 * Unused bytes between tensors are tolerated (the reference reader refuses them). A file that
 * is no valid safetensors file (truncated, damaged, another format) is bad input,
 * RP_ERR_INVALID_ARGUMENT (exit status 2, as a malformed experiment file); one that cannot be
 * opened or read is RP_ERR_IO. */
typedef struct rp_safetensors rp_safetensors;

rp_status rp_safetensors_open(const char *path, rp_safetensors **out);
/* The same checks of the header (against the file's size) with the tensors' data left unread
 * (their `data` NULL): for the metadata and names of a file that may be large (a training
 * state of WRN-16-8 is 88 MB). */
rp_status rp_safetensors_open_header(const char *path, rp_safetensors **out);
int rp_safetensors_count(const rp_safetensors *f);
/* NULL if absent. data points into the loaded file (aligned to the element size) and lives until
 * rp_safetensors_close. */
const rp_named_tensor *rp_safetensors_find(const rp_safetensors *f, const char *name);
/* Tensors in the order of their data in the file; NULL if i is out of range. */
const rp_named_tensor *rp_safetensors_at(const rp_safetensors *f, int i);
/* NULL if absent. */
const char *rp_safetensors_meta(const rp_safetensors *f, const char *key);
/* The zlib crc32 of the tensors' bytes in the order of their data (rp_safetensors_at), as
 * rp_safetensors_write_checksummed stores it. Of a file read whole (rp_safetensors_open) only. */
uint32_t rp_safetensors_crc32(const rp_safetensors *f);
void rp_safetensors_close(rp_safetensors *f);

/* Elements of a tensor (1 for a scalar). */
int64_t rp_named_tensor_numel(const rp_named_tensor *t);

#endif
