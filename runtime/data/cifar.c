/* CIFAR-10 / CIFAR-100 binary records (https://www.cs.toronto.edu/~kriz/cifar.html). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/readers.h"

enum { CIFAR_PIXELS = 3 * 32 * 32 };

rp_status rp_cifar_count(const char *path, int label_bytes, int64_t *records) {
  struct stat st;
  if (stat(path, &st) != 0) return rp_fail(RP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  int64_t record = label_bytes + CIFAR_PIXELS;
  if (st.st_size == 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s is empty: truncated or not a CIFAR binary file",
                   path);
  if (st.st_size % record != 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: %lld bytes is not a whole number of %lld-byte CIFAR records "
                   "(truncated or not a CIFAR binary file)",
                   path, (long long)st.st_size, (long long)record);
  *records = st.st_size / record;
  return RP_OK;
}

rp_status rp_cifar_read(const char *path, int label_bytes, int classes, int64_t records,
                        uint8_t *pixels, uint8_t *labels) {
  FILE *f = fopen(path, "rb");
  if (!f) return rp_fail(RP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  uint8_t head[2];
  rp_status st = RP_OK;
  for (int64_t r = 0; r < records && st == RP_OK; r++) {
    if (fread(head, 1, (size_t)label_bytes, f) != (size_t)label_bytes ||
        fread(pixels + r * CIFAR_PIXELS, 1, CIFAR_PIXELS, f) != CIFAR_PIXELS) {
      st = ferror(f) ? rp_fail(RP_ERR_IO, "cannot read %s: %s", path, strerror(errno))
                     : rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: truncated at record %lld of %lld",
                               path, (long long)r, (long long)records);
      break;
    }
    int label = head[label_bytes - 1];
    if (label >= classes)
      st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: record %lld has label %d, outside 0..%d", path,
                   (long long)r, label, classes - 1);
    else if (label_bytes == 2 && head[0] >= 20)
      st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: record %lld has coarse label %d, outside 0..19",
                   path, (long long)r, head[0]);
    labels[r] = (uint8_t)label;
  }
  fclose(f);
  return st;
}
