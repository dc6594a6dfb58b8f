/* A minimal reader of (gzip'd) ustar archives, enough for the CIFAR downloads: 512-byte
 * headers, octal sizes, data padded to 512 bytes, two zero blocks at the end. GNU long names
 * ('L') are followed; pax headers and anything but regular files are skipped. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data/fetch.h"

enum { BLOCK = 512 };

static bool read_block(gzFile f, uint8_t *b) { return gzread(f, b, BLOCK) == BLOCK; }

/* An octal field (NUL- or space-terminated); -1 if malformed or base-256. */
static long long octal(const uint8_t *p, int n) {
  long long v = 0;
  int i = 0;
  while (i < n && p[i] == ' ') i++;
  if (i < n && (p[i] & 0x80)) return -1;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) v = v * 8 + (p[i] - '0');
  if (i < n && p[i] != '\0' && p[i] != ' ') return -1;
  return v;
}

static bool checksum_ok(const uint8_t *h) {
  long long want = octal(h + 148, 8), sum = 0;
  for (int i = 0; i < BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : h[i];
  return want == sum;
}

/* Copies `size` bytes of member data (plus padding) to `out` (NULL: skip). */
static bool copy_data(gzFile f, long long size, FILE *out) {
  uint8_t b[BLOCK];
  for (long long left = size; left > 0; left -= BLOCK) {
    if (!read_block(f, b)) return false;
    size_t n = left < BLOCK ? (size_t)left : BLOCK;
    if (out && fwrite(b, 1, n, out) != n) return false;
  }
  return true;
}

rp_status rp_untar(const char *archive, const char *const *names, int count, const char *dir) {
  if (count > 16) return rp_fail(RP_ERR_INVALID_ARGUMENT, "untar: %d names, at most 16", count);
  gzFile f = gzopen(archive, "rb");
  if (!f) return rp_fail(RP_ERR_IO, "cannot read %s", archive);
  bool found[16] = {false};
  char long_name[1024] = "";
  rp_status st = RP_OK;
  uint8_t h[BLOCK];
  for (;;) {
    if (!read_block(f, h)) {
      st = rp_fail(RP_ERR_IO, "%s: truncated tar archive", archive);
      break;
    }
    bool zero = true;
    for (int i = 0; i < BLOCK && zero; i++) zero = h[i] == 0;
    if (zero) break; /* end of archive */
    if (!checksum_ok(h)) {
      st = rp_fail(RP_ERR_IO, "%s: bad tar header checksum (not a tar archive?)", archive);
      break;
    }
    long long size = octal(h + 124, 12);
    if (size < 0) {
      st = rp_fail(RP_ERR_IO, "%s: unsupported tar size field", archive);
      break;
    }
    char type = (char)h[156], name[1040]; /* a GNU long name (up to 1023) or prefix/name */
    if (*long_name) {
      snprintf(name, sizeof name, "%s", long_name);
      long_name[0] = '\0';
    } else if (memcmp(h + 257, "ustar", 5) == 0 && h[345]) {
      snprintf(name, sizeof name, "%.155s/%.100s", (const char *)h + 345, (const char *)h);
    } else {
      snprintf(name, sizeof name, "%.100s", (const char *)h);
    }
    if (type == 'L') { /* GNU: the data is the next member's name */
      if (size >= (long long)sizeof long_name) {
        st = rp_fail(RP_ERR_IO, "%s: tar long name of %lld bytes", archive, size);
        break;
      }
      uint8_t b[BLOCK];
      for (long long at = 0; at < size; at += BLOCK) {
        if (!read_block(f, b)) break;
        memcpy(long_name + at, b, (size_t)(size - at < BLOCK ? size - at : BLOCK));
      }
      long_name[size] = '\0';
      continue;
    }
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    int want = -1;
    if (type == '0' || type == '\0')
      for (int i = 0; i < count; i++)
        if (strcmp(base, names[i]) == 0) want = i;
    FILE *out = NULL;
    char path[1100], tmp[1200];
    if (want >= 0) {
      snprintf(path, sizeof path, "%s/%s", dir, base);
      snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
      out = fopen(tmp, "wb");
      if (!out) {
        st = rp_fail(RP_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        break;
      }
    }
    bool ok = copy_data(f, size, out);
    if (out) {
      ok = (fclose(out) == 0) && ok;
      if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        st = rp_fail(RP_ERR_IO, "%s: cannot extract %s to %s", archive, name, path);
        break;
      }
      found[want] = true;
    } else if (!ok) {
      st = rp_fail(RP_ERR_IO, "%s: truncated tar archive (in %s)", archive, name);
      break;
    }
  }
  gzclose(f);
  for (int i = 0; st == RP_OK && i < count; i++)
    if (!found[i]) st = rp_fail(RP_ERR_IO, "%s: holds no %s", archive, names[i]);
  return st;
}
