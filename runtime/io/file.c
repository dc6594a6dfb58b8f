#include "io/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool rp_file_parent_dir(const char *path, char *out, size_t size) {
  const char *slash = strrchr(path, '/');
  int n = !slash          ? snprintf(out, size, ".")
          : slash == path ? snprintf(out, size, "/")
                          : snprintf(out, size, "%.*s", (int)(slash - path), path);
  return n >= 0 && (size_t)n < size;
}

/* Makes a rename in the directory of `path` durable: until the directory itself reaches the
 * disk, a power cut may bring back the old file, or none. Best effort: the data is written
 * either way. */
static void sync_parent(const char *path) {
  char dir[4096];
  if (!rp_file_parent_dir(path, dir, sizeof dir)) return;
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  (void)fsync(fd);
  close(fd);
}

rp_status rp_file_write_atomic(const char *path, const void *data, size_t size) {
  /* The pid keeps two processes writing the same file from sharing a temporary. */
  size_t len = strlen(path) + 32;
  char *tmp = malloc(len);
  if (!tmp) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory writing %s", path);
  snprintf(tmp, len, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    rp_status st = rp_fail(RP_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    free(tmp);
    return st;
  }
  bool ok = fwrite(data, 1, size, f) == size && fflush(f) == 0 && fsync(fileno(f)) == 0;
  int err = errno;
  ok = fclose(f) == 0 && ok;
  if (ok && rename(tmp, path) != 0) ok = false, err = errno;
  if (ok) sync_parent(path);
  rp_status st = RP_OK;
  if (!ok) {
    st = rp_fail(RP_ERR_IO, "cannot write %s: %s", path, strerror(err));
    remove(tmp);
  }
  free(tmp);
  return st;
}

/* The PID of a temporary's name (NAME.PID.tmp), and *name_length the length of its NAME; 0 for
 * any other name. */
static long temporary_pid(const char *name, size_t *name_length) {
  size_t n = strlen(name);
  if (n < 6 || strcmp(name + n - 4, ".tmp") != 0) return 0;
  size_t end = n - 4, begin = end;
  while (begin > 0 && name[begin - 1] >= '0' && name[begin - 1] <= '9') begin--;
  if (begin == end || begin == 0 || name[begin - 1] != '.' || end - begin > 9) return 0;
  *name_length = begin - 1;
  return strtol(name + begin, NULL, 10);
}

/* rp_file_remove_stale_temporaries, of the file named `only` alone where it is not NULL. */
static int remove_stale(const char *dir, const char *only) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int removed = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t length = 0;
    long pid = temporary_pid(e->d_name, &length);
    if (only && (length != strlen(only) || strncmp(e->d_name, only, length) != 0)) continue;
    /* ESRCH: no such process. A live pid (ours, or another repro writing here) is left be. */
    if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path &&
        unlink(path) == 0)
      removed++;
  }
  closedir(d);
  return removed;
}

int rp_file_remove_stale_temporaries(const char *dir) { return remove_stale(dir, NULL); }

int rp_file_remove_stale_temporaries_of(const char *path) {
  char dir[4096];
  if (!rp_file_parent_dir(path, dir, sizeof dir)) return 0;
  const char *slash = strrchr(path, '/');
  return remove_stale(dir, slash ? slash + 1 : path);
}

rp_status rp_file_read(const char *path, char **text, size_t *size) {
  *text = NULL;
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return rp_fail(RP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    len += fread(buf + len, 1, cap - len - 1, f);
    if (len < cap - 1) break;
    char *bigger = realloc(buf, cap * 2);
    if (!bigger) free(buf);
    buf = bigger;
    cap *= 2;
  }
  int err = errno;
  bool error = ferror(f);
  fclose(f);
  if (!buf) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory reading %s", path);
  if (error) {
    free(buf);
    return rp_fail(RP_ERR_IO, "cannot read %s: %s", path, strerror(err)); /* e.g. a directory */
  }
  buf[len] = '\0';
  *text = buf;
  *size = len;
  return RP_OK;
}
