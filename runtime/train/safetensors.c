/* safetensors reading and writing: the header is written by hand (so integers stay integers and
 * the layout matches the reference writer byte for byte) and read with cJSON. */
#include "train/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* The dtypes in the order of the reference implementation's Dtype enum: the writer sorts by this
 * rank, highest first (which puts 8-byte types before 4-byte ones and so on). */
static const struct {
  const char *name;
  int size;
} dtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
    {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
    {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8},
};
#define DTYPE_COUNT ((int)(sizeof dtypes / sizeof *dtypes))

static int dtype_rank(const char *dtype) {
  for (int i = 0; i < DTYPE_COUNT; i++)
    if (strcmp(dtypes[i].name, dtype) == 0) return i;
  return -1;
}

int rp_safetensors_dtype_size(const char *dtype) {
  int r = dtype_rank(dtype);
  return r < 0 ? 0 : dtypes[r].size;
}

int64_t rp_named_tensor_numel(const rp_named_tensor *t) {
  for (int d = 0; d < t->ndim; d++)
    if (t->shape[d] == 0) return 0; /* before the others' product, which may overflow */
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
  return n;
}

/* Bytes of a tensor, or -1 on a negative dimension or an overflow past 2^53 (the largest integer
 * a JSON reader is sure to keep exact). */
static int64_t tensor_bytes(const int64_t *shape, int ndim, int elem) {
  const int64_t limit = (int64_t)1 << 53;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0) return -1;
    if (shape[d] == 0) return 0; /* empty, however large its other dimensions */
  }
  int64_t n = elem;
  for (int d = 0; d < ndim; d++) {
    if (n > limit / shape[d]) return -1;
    n *= shape[d];
  }
  return n;
}

/* ---- writing ---- */

typedef struct strbuf {
  char *data;
  size_t len, cap;
  bool oom;
} strbuf;

static void sb_putn(strbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 1 > cap) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) {
      b->oom = true;
      return;
    }
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void sb_puts(strbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_int(strbuf *b, int64_t v) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
  sb_putn(b, tmp, (size_t)n);
}

/* A JSON string: quotes, backslashes and control characters escaped; UTF-8 passed through. */
static void sb_json_string(strbuf *b, const char *s) {
  sb_puts(b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      char esc[2] = {'\\', (char)*p};
      sb_putn(b, esc, 2);
    } else if (*p < 0x20) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\u%04x", *p);
      sb_puts(b, esc);
    } else {
      sb_putn(b, (const char *)p, 1);
    }
  }
  sb_puts(b, "\"");
}

/* Data order of the reference writer: dtype rank descending (widest first), then name. */
static int compare_layout(const rp_named_tensor *a, const rp_named_tensor *b) {
  int ra = dtype_rank(a->dtype), rb = dtype_rank(b->dtype);
  if (ra != rb) return rb - ra;
  return strcmp(a->name, b->name);
}

/* Fills `order` with indices into `t` in file order. An insertion sort (qsort has no context
 * argument, and checkpoints hold hundreds of tensors at most). */
static void layout_order(const rp_named_tensor *t, int count, int *order) {
  for (int i = 0; i < count; i++) order[i] = i;
  if (!t) return; /* count is 0 */
  for (int i = 1; i < count; i++) {
    int v = order[i], j = i - 1;
    while (j >= 0 && compare_layout(&t[order[j]], &t[v]) > 0) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = v;
  }
}

static rp_status check_tensors(const char *path, const rp_named_tensor *t, int count,
                               const char *const *keys, const char *const *values, int meta_count) {
  if (count < 0 || meta_count < 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors write %s: negative count", path);
  if (count > 0 && !t)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors write %s: tensors is NULL", path);
  if (meta_count > 0 && (!keys || !values))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors write %s: metadata arrays are NULL", path);
  for (int i = 0; i < count; i++) {
    size_t len = strnlen(t[i].name, RP_ST_MAX_NAME);
    if (len == 0 || len == RP_ST_MAX_NAME)
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "safetensors write %s: tensor %d has an empty or unterminated name", path, i);
    if (strcmp(t[i].name, "__metadata__") == 0)
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "safetensors write %s: '__metadata__' is reserved as a tensor name", path);
    int elem = rp_safetensors_dtype_size(t[i].dtype);
    if (!elem)
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors write %s: tensor '%s' has dtype '%.8s'",
                     path, t[i].name, t[i].dtype);
    if (t[i].ndim < 0 || t[i].ndim > RP_ST_MAX_DIMS)
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors write %s: tensor '%s' has %d dims", path,
                     t[i].name, t[i].ndim);
    int64_t bytes = tensor_bytes(t[i].shape, t[i].ndim, elem);
    if (bytes < 0)
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "safetensors write %s: tensor '%s' has a negative or huge shape", path,
                     t[i].name);
    if (bytes > 0 && !t[i].data)
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors write %s: tensor '%s' has no data", path,
                     t[i].name);
    for (int j = 0; j < i; j++)
      if (strcmp(t[i].name, t[j].name) == 0)
        return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors write %s: tensor '%s' appears twice",
                       path, t[i].name);
  }
  for (int i = 0; i < meta_count; i++) {
    if (!keys[i] || !values[i])
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors write %s: metadata entry %d is NULL",
                     path, i);
    for (int j = 0; j < i; j++)
      if (strcmp(keys[i], keys[j]) == 0)
        return rp_fail(RP_ERR_INVALID_ARGUMENT,
                       "safetensors write %s: metadata key '%s' appears twice", path, keys[i]);
  }
  return RP_OK;
}

static bool write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

/* fsync of the directory holding `path`, so the rename itself is durable. Best effort: some file
 * systems refuse to fsync a directory, which is not an error for the checkpoint. */
static void sync_parent_dir(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  int fd = open(dir, O_RDONLY);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

/* `crc` carried on over the bytes of tensor `t` (a checked one, whose data is there). */
static uLong crc_tensor(uLong crc, const rp_named_tensor *t) {
  int64_t bytes = tensor_bytes(t->shape, t->ndim, rp_safetensors_dtype_size(t->dtype));
  return bytes > 0 && t->data ? crc32_z(crc, t->data, (z_size_t)bytes) : crc;
}

/* The checksum of rp_safetensors_write_checksummed: the tensors' bytes in file order (`order`,
 * from layout_order), which is what the data section holds. */
static uint32_t data_crc32(const rp_named_tensor *tensors, const int *order, int count) {
  uLong crc = crc32_z(0L, Z_NULL, 0);
  for (int k = 0; k < count; k++) crc = crc_tensor(crc, &tensors[order[k]]);
  return (uint32_t)crc;
}

/* The checksum's key must not be one of the caller's: a reader would find either value. */
static rp_status check_checksum_key(const char *path, const char *const *keys, int meta_count,
                                    const char *checksum_key) {
  for (int i = 0; checksum_key && i < meta_count; i++)
    if (strcmp(keys[i], checksum_key) == 0)
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "safetensors write %s: metadata key '%s' appears twice", path, checksum_key);
  return RP_OK;
}

/* "key":"value", after a comma unless it is the first pair. */
static void put_pair(strbuf *h, bool first, const char *key, const char *value) {
  if (!first) sb_puts(h, ",");
  sb_json_string(h, key);
  sb_puts(h, ":");
  sb_json_string(h, value);
}

/* The header's "__metadata__" entry (none where there is nothing to put in it): the caller's
 * pairs, then the checksum's where `checksum_key` asks for one. */
static void put_metadata(strbuf *h, const char *const *keys, const char *const *values,
                         int meta_count, const char *checksum_key, uint32_t checksum) {
  if (meta_count == 0 && !checksum_key) return;
  sb_puts(h, "\"__metadata__\":{");
  for (int i = 0; i < meta_count; i++) put_pair(h, i == 0, keys[i], values[i]);
  if (checksum_key) {
    char hex[9];
    snprintf(hex, sizeof hex, "%08" PRIx32, checksum);
    put_pair(h, meta_count == 0, checksum_key, hex);
  }
  sb_puts(h, "}");
}

rp_status rp_safetensors_write(const char *path, const rp_named_tensor *tensors, int count,
                               const char *const *meta_keys, const char *const *meta_values,
                               int meta_count) {
  return rp_safetensors_write_checksummed(path, tensors, count, meta_keys, meta_values, meta_count,
                                          NULL);
}

rp_status rp_safetensors_write_checksummed(const char *path, const rp_named_tensor *tensors,
                                           int count, const char *const *meta_keys,
                                           const char *const *meta_values, int meta_count,
                                           const char *checksum_key) {
  rp_status st = check_tensors(path, tensors, count, meta_keys, meta_values, meta_count);
  if (!st) st = check_checksum_key(path, meta_keys, meta_count, checksum_key);
  if (st) return st;
  int *order = malloc((size_t)(count > 0 ? count : 1) * sizeof *order);
  if (!order) return rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors write %s: out of memory", path);
  layout_order(tensors, count, order);

  /* The header, compact as the reference writer prints it: metadata first, then the tensors in
   * data order. */
  strbuf h = {0};
  sb_puts(&h, "{");
  put_metadata(&h, meta_keys, meta_values, meta_count, checksum_key,
               checksum_key ? data_crc32(tensors, order, count) : 0);
  bool has_metadata = meta_count > 0 || checksum_key;
  int64_t offset = 0;
  for (int k = 0; k < count; k++) {
    const rp_named_tensor *t = &tensors[order[k]];
    int64_t bytes = tensor_bytes(t->shape, t->ndim, rp_safetensors_dtype_size(t->dtype));
    if (k || has_metadata) sb_puts(&h, ",");
    sb_json_string(&h, t->name);
    sb_puts(&h, ":{\"dtype\":");
    sb_json_string(&h, t->dtype);
    sb_puts(&h, ",\"shape\":[");
    for (int d = 0; d < t->ndim; d++) {
      if (d) sb_puts(&h, ",");
      sb_int(&h, t->shape[d]);
    }
    sb_puts(&h, "],\"data_offsets\":[");
    sb_int(&h, offset);
    offset += bytes;
    sb_puts(&h, ",");
    sb_int(&h, offset);
    sb_puts(&h, "]}");
  }
  sb_puts(&h, "}");
  while (h.len % 8) sb_puts(&h, " "); /* data starts 8-aligned */
  if (h.oom) {
    free(h.data), free(order);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors write %s: out of memory", path);
  }

  char tmp[4096];
  int n = snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp) {
    free(h.data), free(order);
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors write: path too long: %s", path);
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    free(h.data), free(order);
    return rp_fail(RP_ERR_IO, "safetensors write %s: cannot create %s: %s", path, tmp,
                   strerror(errno));
  }
  unsigned char size_le[8];
  for (int i = 0; i < 8; i++) size_le[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
  bool ok = write_all(fd, size_le, 8) && write_all(fd, h.data, h.len);
  for (int k = 0; ok && k < count; k++) {
    const rp_named_tensor *t = &tensors[order[k]];
    int64_t bytes = tensor_bytes(t->shape, t->ndim, rp_safetensors_dtype_size(t->dtype));
    if (bytes > 0) ok = write_all(fd, t->data, (size_t)bytes);
  }
  int err = ok ? 0 : errno;
  if (ok && fsync(fd) != 0) ok = false, err = errno;
  if (close(fd) != 0 && ok) ok = false, err = errno;
  if (ok && rename(tmp, path) != 0) ok = false, err = errno;
  free(h.data), free(order);
  if (!ok) {
    unlink(tmp);
    return rp_fail(RP_ERR_IO, "safetensors write %s: %s", path, err ? strerror(err) : "failed");
  }
  sync_parent_dir(path);
  return RP_OK;
}

/* ---- reading ---- */

struct rp_safetensors {
  unsigned char *file; /* the whole file */
  rp_named_tensor *tensors;
  int count;
  char **meta_keys, **meta_values;
  int meta_count;
  void **copies; /* aligned copies of tensors a foreign writer left misaligned */
  int copy_count;
};

void rp_safetensors_close(rp_safetensors *f) {
  if (!f) return;
  for (int i = 0; i < f->meta_count; i++) free(f->meta_keys[i]), free(f->meta_values[i]);
  for (int i = 0; i < f->copy_count; i++) free(f->copies[i]);
  free(f->meta_keys), free(f->meta_values), free(f->copies), free(f->tensors), free(f->file);
  free(f);
}

/* A JSON number that is an exact non-negative integer below 2^53, or -1. */
static int64_t json_uint(const cJSON *v) {
  if (!cJSON_IsNumber(v)) return -1;
  double d = v->valuedouble;
  if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(int64_t)d) return -1;
  return (int64_t)d;
}

static rp_status read_file(const char *path, unsigned char **data, size_t *size) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return rp_fail(RP_ERR_IO, "safetensors %s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fclose(fp);
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors %s: not a regular file", path);
  }
  size_t n = (size_t)sb.st_size;
  unsigned char *buf = malloc(n ? n : 1);
  if (!buf) {
    fclose(fp);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors %s: cannot hold %zu bytes", path, n);
  }
  size_t got = fread(buf, 1, n, fp);
  fclose(fp);
  if (got != n) {
    free(buf);
    return rp_fail(RP_ERR_IO, "safetensors %s: read %zu of %zu bytes", path, got, n);
  }
  *data = buf;
  *size = n;
  return RP_OK;
}

typedef struct span {
  int64_t begin, end;
  int index;
} span;

static int compare_span(const void *pa, const void *pb) {
  const span *a = pa, *b = pb;
  if (a->begin != b->begin) return a->begin < b->begin ? -1 : 1;
  if (a->end != b->end) return a->end < b->end ? -1 : 1;
  return 0;
}

static rp_status parse_metadata(const char *path, const cJSON *m, rp_safetensors *f) {
  if (!cJSON_IsObject(m))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors %s: __metadata__ is not an object", path);
  size_t n = (size_t)cJSON_GetArraySize(m) + 1;
  f->meta_keys = calloc(n, sizeof *f->meta_keys);
  f->meta_values = calloc(n, sizeof *f->meta_values);
  if (!f->meta_keys || !f->meta_values)
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", path);
  const cJSON *e;
  cJSON_ArrayForEach(e, m) {
    if (!cJSON_IsString(e))
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors %s: metadata '%s' is not a string", path,
                     e->string);
    char *key = strdup(e->string), *value = strdup(e->valuestring);
    f->meta_keys[f->meta_count] = key;
    f->meta_values[f->meta_count] = value;
    f->meta_count++;
    if (!key || !value) return rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", path);
  }
  return RP_OK;
}

/* One tensor entry into `t` (data offsets into `span`), checked against the data size. */
static rp_status parse_tensor(const char *path, const cJSON *e, int64_t data_size,
                              rp_named_tensor *t, span *s) {
  const char *name = e->string;
  if (strlen(name) >= RP_ST_MAX_NAME)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "safetensors %s: tensor name longer than %d bytes: '%.40s...'", path,
                   RP_ST_MAX_NAME - 1, name);
  snprintf(t->name, sizeof t->name, "%s", name);
  if (!cJSON_IsObject(e))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors %s: tensor '%s' is not an object", path,
                   name);
  const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
  const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
  if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(offsets))
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "safetensors %s: tensor '%s' lacks a dtype string, a shape or data_offsets",
                   path, name);
  int elem = rp_safetensors_dtype_size(dtype->valuestring);
  if (!elem || strlen(dtype->valuestring) >= sizeof t->dtype)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors %s: tensor '%s' has unknown dtype '%.16s'",
                   path, name, dtype->valuestring);
  snprintf(t->dtype, sizeof t->dtype, "%s", dtype->valuestring);
  int ndim = cJSON_GetArraySize(shape);
  if (ndim > RP_ST_MAX_DIMS)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "safetensors %s: tensor '%s' has %d dims (at most %d supported)", path, name,
                   ndim, RP_ST_MAX_DIMS);
  t->ndim = ndim;
  for (int d = 0; d < ndim; d++) {
    t->shape[d] = json_uint(cJSON_GetArrayItem(shape, d));
    if (t->shape[d] < 0)
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "safetensors %s: tensor '%s' dim %d is not a non-negative integer", path, name,
                     d);
  }
  if (cJSON_GetArraySize(offsets) != 2)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "safetensors %s: tensor '%s' data_offsets is not [begin, end]", path, name);
  s->begin = json_uint(cJSON_GetArrayItem(offsets, 0));
  s->end = json_uint(cJSON_GetArrayItem(offsets, 1));
  if (s->begin < 0 || s->end < s->begin || s->end > data_size)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "safetensors %s: tensor '%s' data_offsets [%lld, %lld] out of range (data is "
                   "%lld bytes)",
                   path, name, (long long)s->begin, (long long)s->end, (long long)data_size);
  int64_t bytes = tensor_bytes(t->shape, ndim, elem);
  if (bytes < 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "safetensors %s: tensor '%s' has a shape of more than 2^53 bytes", path, name);
  if (bytes != s->end - s->begin)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "safetensors %s: tensor '%s' shape and dtype %s need %lld bytes, data_offsets "
                   "span %lld",
                   path, name, t->dtype, (long long)bytes, (long long)(s->end - s->begin));
  return RP_OK;
}

static int compare_name(const void *pa, const void *pb) {
  return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

/* No name twice. Sorted, a repeat lies next to its twin: comparing every pair took minutes on a
 * damaged header of 80,000 names. */
static rp_status check_names_unique(const char *path, const rp_safetensors *f) {
  const char **names = malloc(((size_t)f->count + 1) * sizeof *names);
  if (!names) return rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", path);
  for (int i = 0; i < f->count; i++) names[i] = f->tensors[i].name;
  qsort(names, (size_t)f->count, sizeof *names, compare_name);
  rp_status st = RP_OK;
  for (int i = 1; i < f->count && !st; i++)
    if (strcmp(names[i - 1], names[i]) == 0)
      st = rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors %s: tensor '%s' appears twice", path,
                   names[i]);
  free(names);
  return st;
}

static rp_status parse_header(const char *path, const char *json, size_t len, int64_t data_size,
                              rp_safetensors *f) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
  if (!root || !cJSON_IsObject(root)) {
    size_t at = root ? 0 : (size_t)(cJSON_GetErrorPtr() - json);
    cJSON_Delete(root);
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "safetensors %s: header is not a JSON object (bad JSON near byte %zu)", path,
                   at);
  }
  for (const char *p = end; p && p < json + len; p++)
    if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r' && *p != '\0') {
      cJSON_Delete(root);
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "safetensors %s: bad JSON: trailing bytes after the header", path);
    }
  int entries = cJSON_GetArraySize(root);
  f->tensors = calloc((size_t)entries + 1, sizeof *f->tensors);
  span *spans = calloc((size_t)entries + 1, sizeof *spans);
  if (!f->tensors || !spans) {
    free(spans);
    cJSON_Delete(root);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", path);
  }
  rp_status st = RP_OK;
  const cJSON *e;
  cJSON_ArrayForEach(e, root) {
    if (st) break;
    if (strcmp(e->string, "__metadata__") == 0) {
      if (f->meta_keys)
        st = rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors %s: two __metadata__ entries", path);
      else
        st = parse_metadata(path, e, f);
      continue;
    }
    rp_named_tensor *t = &f->tensors[f->count];
    span *s = &spans[f->count];
    s->index = f->count;
    st = parse_tensor(path, e, data_size, t, s);
    if (!st) f->count++;
  }
  cJSON_Delete(root);
  if (!st) st = check_names_unique(path, f);
  if (st) {
    free(spans);
    return st;
  }
  /* No two tensors may share bytes (empty tensors own none). */
  qsort(spans, (size_t)f->count, sizeof *spans, compare_span);
  int64_t prev_end = 0;
  int prev = -1;
  for (int i = 0; i < f->count; i++) {
    if (spans[i].begin == spans[i].end) continue;
    if (prev >= 0 && spans[i].begin < prev_end) {
      st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "safetensors %s: tensors '%s' and '%s' overlap (bytes %lld..%lld)", path,
                   f->tensors[prev].name, f->tensors[spans[i].index].name,
                   (long long)spans[i].begin, (long long)prev_end);
      break;
    }
    prev_end = spans[i].end;
    prev = spans[i].index;
  }
  /* Tensors listed in data order, as rp_safetensors_at promises; data pointers set later. */
  if (!st) {
    rp_named_tensor *sorted = calloc((size_t)f->count + 1, sizeof *sorted);
    if (!sorted) {
      st = rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", path);
    } else {
      for (int i = 0; i < f->count; i++) {
        sorted[i] = f->tensors[spans[i].index];
        sorted[i].data = (const void *)(intptr_t)spans[i].begin; /* offset for now */
      }
      free(f->tensors);
      f->tensors = sorted;
    }
  }
  free(spans);
  return st;
}

/* The header size the first 8 bytes of a file of `size` bytes give, checked against the file. */
static rp_status header_size(const char *path, const unsigned char *first8, size_t size,
                             uint64_t *hsize) {
  if (size < 8)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors %s: truncated (%zu bytes, no header size)",
                   path, size);
  *hsize = 0;
  for (int i = 0; i < 8; i++) *hsize |= (uint64_t)first8[i] << (8 * i);
  if (*hsize > size - 8)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "safetensors %s: header size %llu beyond the file (%zu bytes): truncated or not "
                   "safetensors",
                   path, (unsigned long long)*hsize, size);
  /* the reference reader's limit (safetensors' MAX_HEADER_SIZE) */
  if (*hsize > RP_ST_MAX_HEADER)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "safetensors %s: header of %llu bytes, more than the %d a reader takes: damaged "
                   "or not safetensors",
                   path, (unsigned long long)*hsize, RP_ST_MAX_HEADER);
  return RP_OK;
}

/* The first 8 bytes and the header of the open file `fp`: *header (caller frees), *hsize, and
 * the file's *size. */
static rp_status read_header(FILE *fp, const char *path, unsigned char **header, uint64_t *hsize,
                             size_t *size) {
  struct stat sb;
  if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "safetensors %s: not a regular file", path);
  *size = (size_t)sb.st_size;
  unsigned char first8[8] = {0};
  if (*size >= 8 && fread(first8, 1, 8, fp) != 8)
    return rp_fail(RP_ERR_IO, "safetensors %s: read failed", path);
  rp_status st = header_size(path, first8, *size, hsize);
  if (st) return st;
  *header = malloc(*hsize ? *hsize : 1);
  if (!*header)
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors %s: cannot hold its header", path);
  if (fread(*header, 1, *hsize, fp) == *hsize) return RP_OK;
  free(*header);
  *header = NULL;
  return rp_fail(RP_ERR_IO, "safetensors %s: read failed", path);
}

rp_status rp_safetensors_open_header(const char *path, rp_safetensors **out) {
  *out = NULL;
  FILE *fp = fopen(path, "rb");
  if (!fp) return rp_fail(RP_ERR_IO, "safetensors %s: cannot open: %s", path, strerror(errno));
  unsigned char *header = NULL;
  uint64_t hsize = 0;
  size_t size = 0;
  rp_status st = read_header(fp, path, &header, &hsize, &size);
  fclose(fp);
  if (st) return st;
  rp_safetensors *f = calloc(1, sizeof *f);
  if (!f) {
    free(header);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", path);
  }
  f->file = header;
  st = parse_header(path, (const char *)header, hsize, (int64_t)(size - 8 - hsize), f);
  if (st) {
    rp_safetensors_close(f);
    return st;
  }
  for (int i = 0; i < f->count; i++) f->tensors[i].data = NULL; /* not read */
  *out = f;
  return RP_OK;
}

rp_status rp_safetensors_open(const char *path, rp_safetensors **out) {
  *out = NULL;
  unsigned char *buf = NULL;
  size_t size = 0;
  rp_status st = read_file(path, &buf, &size);
  if (st) return st;
  uint64_t hsize = 0;
  if ((st = header_size(path, buf, size, &hsize))) {
    free(buf);
    return st;
  }
  rp_safetensors *f = calloc(1, sizeof *f);
  if (!f) {
    free(buf);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", path);
  }
  f->file = buf;
  const unsigned char *data = buf + 8 + hsize;
  int64_t data_size = (int64_t)(size - 8 - hsize);
  st = parse_header(path, (const char *)buf + 8, (size_t)hsize, data_size, f);
  if (!st) {
    f->copies = calloc((size_t)f->count + 1, sizeof *f->copies);
    if (!f->copies) st = rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", path);
  }
  for (int i = 0; !st && i < f->count; i++) {
    rp_named_tensor *t = &f->tensors[i];
    const unsigned char *p = data + (intptr_t)t->data;
    size_t elem = (size_t)rp_safetensors_dtype_size(t->dtype);
    size_t bytes = (size_t)rp_named_tensor_numel(t) * elem;
    /* elem > 0: parse_header refused every dtype it does not know */
    if ((uintptr_t)p % elem != 0) { // NOLINT(clang-analyzer-core.DivideZero)
      /* Another writer's layout left it misaligned: hand out an aligned copy instead. */
      void *copy = malloc(bytes ? bytes : 1);
      if (!copy) {
        st = rp_fail(RP_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", path);
        break;
      }
      memcpy(copy, p, bytes);
      f->copies[f->copy_count++] = copy;
      p = copy;
    }
    t->data = p;
  }
  if (st) {
    rp_safetensors_close(f);
    return st;
  }
  *out = f;
  return RP_OK;
}

int rp_safetensors_count(const rp_safetensors *f) { return f->count; }

const rp_named_tensor *rp_safetensors_find(const rp_safetensors *f, const char *name) {
  for (int i = 0; i < f->count; i++)
    if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
  return NULL;
}

const rp_named_tensor *rp_safetensors_at(const rp_safetensors *f, int i) {
  return i >= 0 && i < f->count ? &f->tensors[i] : NULL;
}

const char *rp_safetensors_meta(const rp_safetensors *f, const char *key) {
  for (int i = 0; i < f->meta_count; i++)
    if (strcmp(f->meta_keys[i], key) == 0) return f->meta_values[i];
  return NULL;
}

uint32_t rp_safetensors_crc32(const rp_safetensors *f) {
  uLong crc = crc32_z(0L, Z_NULL, 0);
  /* (f->tensors are in data order: parse_header sorted them) */
  for (int i = 0; i < f->count; i++) crc = crc_tensor(crc, &f->tensors[i]);
  return (uint32_t)crc;
}
