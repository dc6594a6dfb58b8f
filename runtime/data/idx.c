/* IDX files (http://yann.lecun.com/exdb/mnist/): a big-endian header (magic, then one 32-bit
 * size per dimension) and unsigned bytes. zlib's gzread reads gzip'd and plain files alike. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data/readers.h"

enum { IDX_IMAGES = 2051, IDX_LABELS = 2049 };

/* Reads exactly n bytes; false on a short read. gzread takes unsigned counts, so big reads are
 * split. */
static bool read_all(gzFile f, void *dst, int64_t n) {
  uint8_t *p = dst;
  while (n > 0) {
    unsigned chunk = n > (1 << 30) ? (1u << 30) : (unsigned)n;
    int got = gzread(f, p, chunk);
    if (got <= 0) return false;
    p += got, n -= got;
  }
  return true;
}

static uint32_t be32(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Opens `path` and reads its header: magic must be `magic`, then `ndims` sizes. */
static rp_status open_idx(const char *path, uint32_t magic, int ndims, uint32_t *dims,
                          gzFile *out) {
  gzFile f = gzopen(path, "rb");
  if (!f) return rp_fail(RP_ERR_IO, "cannot read %s", path);
  size_t len = strlen(path);
  if (len > 3 && strcmp(path + len - 3, ".gz") == 0 && gzdirect(f)) {
    gzclose(f);
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: not a gzip file", path);
  }
  uint8_t head[16];
  if (!read_all(f, head, 4 + 4 * (int64_t)ndims)) {
    gzclose(f);
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: truncated IDX header", path);
  }
  uint32_t got = be32(head);
  if (got != magic) {
    gzclose(f);
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: IDX magic %u, expected %u (%s file)", path, got,
                   magic, magic == IDX_IMAGES ? "an images" : "a labels");
  }
  for (int d = 0; d < ndims; d++) dims[d] = be32(head + 4 + 4 * (size_t)d);
  *out = f;
  return RP_OK;
}

/* zlib's own message for a failed read of `path`, without the path it puts in front; NULL
 * when the stream simply ended. */
static const char *gz_problem(gzFile f, const char *path, int *err) {
  const char *why = gzerror(f, err);
  if (*err >= 0) return NULL;
  size_t len = strlen(path);
  return strncmp(why, path, len) == 0 && strncmp(why + len, ": ", 2) == 0 ? why + len + 2 : why;
}

/* Reads the n-byte body and checks that nothing follows it. Reading on to the end is also what
 * makes zlib check the gzip trailer (CRC and length): a corrupt body would otherwise pass as
 * pixels. */
static rp_status read_body(gzFile f, const char *path, uint8_t *dst, int64_t n) {
  bool complete = read_all(f, dst, n);
  uint8_t extra;
  int got = complete ? gzread(f, &extra, 1) : -1;
  int err;
  const char *problem = gz_problem(f, path, &err);
  if (problem && err == Z_ERRNO) /* the file could not be read: not its contents */
    return rp_fail(RP_ERR_IO, "cannot read %s: %s", path, problem);
  if (problem)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %s gzip data (%s)", path,
                   err == Z_BUF_ERROR ? "truncated" : "corrupt", problem);
  if (!complete)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: truncated: fewer than the %lld data bytes its header gives", path,
                   (long long)n);
  if (got > 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: longer than its header says (%lld data bytes)",
                   path, (long long)n);
  return RP_OK;
}

/* Whether the file at `path` (open as `f`, its header of `header` bytes read) can hold the n
 * data bytes its header gives, checked before they are allocated: a plain file holds what
 * follows its header, a gzip file at most deflate's largest ratio (1032:1) times its size. A
 * damaged 16-byte header otherwise asked for petabytes and failed as "no memory". */
static rp_status check_body_fits(gzFile f, const char *path, int64_t header, int64_t n) {
  struct stat sb;
  if (stat(path, &sb) != 0) return RP_OK; /* the read will say what is wrong */
  int64_t size = sb.st_size;
  bool plain = gzdirect(f) != 0;
  int64_t most = plain ? size - header : 1032 * size;
  if (n <= most) return RP_OK;
  if (plain)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: truncated: fewer than the %lld data bytes its header gives", path,
                   (long long)n);
  return rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s: truncated or damaged: its header gives %lld data bytes, more than a gzip "
                 "file of %lld bytes can hold",
                 path, (long long)n, (long long)size);
}

rp_status rp_idx_read(const char *images_path, const char *labels_path, int classes, int64_t *count,
                      int *rows, int *cols, uint8_t **pixels, uint8_t **labels) {
  *pixels = *labels = NULL;
  uint32_t idims[3] = {0}, ldims[1] = {0};
  gzFile fi = NULL, fl = NULL;
  rp_status st = open_idx(images_path, IDX_IMAGES, 3, idims, &fi);
  if (st) return st;
  st = open_idx(labels_path, IDX_LABELS, 1, ldims, &fl);
  if (st) {
    gzclose(fi);
    return st;
  }
  const int64_t n = idims[0], pixels_per = (int64_t)idims[1] * idims[2];
  /* A corrupt header must not turn into a huge allocation: MNIST-like sets are small. */
  if (n == 0 || idims[1] == 0 || idims[2] == 0 || idims[1] > 4096 || idims[2] > 4096 ||
      n > 100000000) {
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: implausible IDX dimensions %u x %u x %u",
                 images_path, idims[0], idims[1], idims[2]);
    goto done;
  }
  if (idims[0] != ldims[0]) {
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s holds %u images but %s holds %u labels", images_path,
                 idims[0], labels_path, ldims[0]);
    goto done;
  }
  st = check_body_fits(fi, images_path, 16, n * pixels_per);
  if (!st) st = check_body_fits(fl, labels_path, 8, n);
  if (st) goto done;
  uint8_t *px = malloc((size_t)(n * pixels_per)), *lb = malloc((size_t)n);
  *pixels = px, *labels = lb;
  if (!px || !lb) {
    st = rp_fail(RP_ERR_OUT_OF_MEMORY, "%s: no memory for %lld images", images_path, (long long)n);
    goto done;
  }
  st = read_body(fi, images_path, px, n * pixels_per);
  if (st) goto done;
  st = read_body(fl, labels_path, lb, n);
  if (st) goto done;
  for (int64_t i = 0; i < n; i++)
    if (lb[i] >= classes) {
      st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: label %lld is %d, outside 0..%d", labels_path,
                   (long long)i, lb[i], classes - 1);
      goto done;
    }
  *count = n;
  *rows = (int)idims[1];
  *cols = (int)idims[2];
done:
  gzclose(fi);
  gzclose(fl);
  if (st) {
    free(*pixels), free(*labels);
    *pixels = *labels = NULL;
  }
  return st;
}
