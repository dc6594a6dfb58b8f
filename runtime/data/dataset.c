/* Which dataset is where, and loading it whole into memory. */
#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/readers.h"

typedef enum { KIND_CIFAR10, KIND_CIFAR100, KIND_IDX } kind;

typedef struct spec {
  const char *name;
  kind kind;
  int channels, height, width, classes;
  float mean[3], std[3];
  const char *subdir;     /* where the official archive unpacks, or NULL */
  const char *system_dir; /* a distribution package's copy, or NULL */
} spec;

/* The normalization constants are the usual per-channel statistics of each training set. */
static const spec specs[] = {
    {"cifar10",
     KIND_CIFAR10,
     3,
     32,
     32,
     10,
     {0.4914f, 0.4822f, 0.4465f},
     {0.2470f, 0.2435f, 0.2616f},
     "cifar-10-batches-bin",
     NULL},
    {"cifar100",
     KIND_CIFAR100,
     3,
     32,
     32,
     100,
     {0.5071f, 0.4865f, 0.4409f},
     {0.2673f, 0.2564f, 0.2762f},
     "cifar-100-binary",
     NULL},
    {"mnist", KIND_IDX, 1, 28, 28, 10, {0.1307f}, {0.3081f}, NULL, NULL},
    {"fashion-mnist",
     KIND_IDX,
     1,
     28,
     28,
     10,
     {0.2860f},
     {0.3530f},
     NULL,
     "/usr/share/datasets/fashion-mnist"},
};

static const spec *find_spec(const char *name) {
  for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
    if (name && strcmp(specs[i].name, name) == 0) return &specs[i];
  return NULL;
}

bool rp_dataset_known(const char *name) { return find_spec(name) != NULL; }

/* snprintf into a path buffer; false if it did not fit (the return value used, so the
 * compiler's truncation warning is answered here rather than at every call). */
static bool fmt_path(char *out, size_t size, const char *a, const char *b) {
  int n = b ? snprintf(out, size, "%s/%s", a, b) : snprintf(out, size, "%s", a);
  return n >= 0 && (size_t)n < size;
}

static bool is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file whose presence marks a directory as holding this split. IDX files may be gzip'd:
 * `path` gets the name that exists (the plain one if neither). */
static bool probe(const spec *s, const char *dir, bool train, char *path, size_t size) {
  const char *file;
  switch (s->kind) {
  case KIND_CIFAR10: file = train ? "data_batch_1.bin" : "test_batch.bin"; break;
  case KIND_CIFAR100: file = train ? "train.bin" : "test.bin"; break;
  default: file = train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte"; break;
  }
  snprintf(path, size, "%s/%s", dir, file);
  if (is_file(path)) return true;
  if (s->kind != KIND_IDX) return false;
  snprintf(path, size, "%s/%s.gz", dir, file);
  if (is_file(path)) return true;
  snprintf(path, size, "%s/%s", dir, file);
  return false;
}

/* An IDX file by base name: DIR/BASE or DIR/BASE.gz: the one that is a file, else the one that
 * exists (a directory in the way is then named as such), else DIR/BASE. */
static void idx_path(const char *dir, const char *base, char *path, size_t size) {
  char gz[1024];
  snprintf(path, size, "%s/%s", dir, base);
  snprintf(gz, sizeof gz, "%s/%s.gz", dir, base);
  struct stat st;
  bool plain_exists = stat(path, &st) == 0, gz_exists = stat(gz, &st) == 0;
  if (!is_file(path) && (is_file(gz) || (!plain_exists && gz_exists)))
    snprintf(path, size, "%s", gz);
}

/* Finds the directory: `dir` alone if given, else the search list; each candidate also with
 * the archive's own subdirectory. On failure the message lists where it looked. */
static rp_status locate(const spec *s, const char *dir, bool train, char *found, size_t size) {
  char candidates[5][512];
  int n = 0;
  if (dir) {
    fmt_path(candidates[n++], sizeof candidates[0], dir, NULL);
  } else {
    const char *env = getenv("REPRO_DATA_DIR"), *home = getenv("HOME");
    if (env && *env) snprintf(candidates[n++], sizeof candidates[0], "%s/%s", env, s->name);
    snprintf(candidates[n++], sizeof candidates[0], "./data/%s", s->name);
    if (home && *home)
      snprintf(candidates[n++], sizeof candidates[0], "%s/.cache/repro/data/%s", home, s->name);
    if (s->system_dir) snprintf(candidates[n++], sizeof candidates[0], "%s", s->system_dir);
  }
  char path[1024], looked[640] = "";
  size_t used = 0;
  for (int i = 0; i < n; i++) {
    char sub[600];
    if (probe(s, candidates[i], train, path, sizeof path) &&
        fmt_path(found, size, candidates[i], NULL))
      return RP_OK;
    if (s->subdir && fmt_path(sub, sizeof sub, candidates[i], s->subdir) &&
        probe(s, sub, train, path, sizeof path) && fmt_path(found, size, sub, NULL))
      return RP_OK;
    if (used < sizeof looked)
      used += (size_t)snprintf(looked + used, sizeof looked - used, "%s%s", i ? ", " : "",
                               candidates[i]);
  }
  const char *file = strrchr(path, '/') + 1;
  return rp_fail(RP_ERR_IO, "%s: no %s%s in %s%s; run `repro data fetch %s%s%s`%s", s->name, file,
                 s->kind == KIND_IDX ? "[.gz]" : "", looked, dir ? "" : " (or set REPRO_DATA_DIR)",
                 s->name, dir ? " --dir " : "", dir ? dir : "",
                 s->system_dir ? " or install the Debian package dataset-fashion-mnist" : "");
}

static rp_status load_cifar(const spec *s, const char *dir, bool train, rp_dataset *out) {
  const int label_bytes = s->kind == KIND_CIFAR100 ? 2 : 1, image = 3 * 32 * 32;
  char paths[5][1024];
  int files = 0;
  if (s->kind == KIND_CIFAR100) {
    snprintf(paths[files++], sizeof paths[0], "%s/%s", dir, train ? "train.bin" : "test.bin");
  } else if (!train) {
    snprintf(paths[files++], sizeof paths[0], "%s/test_batch.bin", dir);
  } else {
    /* data_batch_1 .. k: a leading run (see dataset.h); a gap is an error. */
    for (int b = 1; b <= 5; b++) {
      char path[1024];
      snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, b);
      if (is_file(path)) {
        if (files != b - 1)
          return rp_fail(RP_ERR_IO, "cifar10: %s is present but data_batch_%d.bin is missing", path,
                         files + 1);
        memcpy(paths[files++], path, sizeof path);
      }
    }
    out->partial = files < 5;
  }
  /* Every official file holds a fixed number of records, so one cut short at a record
   * boundary (an interrupted copy) is caught here rather than training on part of it. */
  const int64_t expected = s->kind == KIND_CIFAR100 && train ? 50000 : 10000;
  const char *any_size = getenv("REPRO_DATA_ANY_SIZE");
  int64_t records[5], total = 0;
  for (int f = 0; f < files; f++) {
    rp_status st = rp_cifar_count(paths[f], label_bytes, &records[f]);
    if (st) return st;
    if (records[f] != expected && !(any_size && strcmp(any_size, "1") == 0))
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "%s: %lld records where the %s file holds %lld: cut short? (`repro data "
                     "fetch %s` unpacks it again; REPRO_DATA_ANY_SIZE=1 takes hand-made files)",
                     paths[f], (long long)records[f], s->name, (long long)expected, s->name);
    total += records[f];
  }
  out->pixels = malloc((size_t)(total * image));
  out->labels = malloc((size_t)total);
  if (!out->pixels || !out->labels)
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "%s: no memory for %lld images", s->name,
                   (long long)total);
  int64_t at = 0;
  for (int f = 0; f < files; f++) {
    rp_status st = rp_cifar_read(paths[f], label_bytes, s->classes, records[f],
                                 out->pixels + at * image, out->labels + at);
    if (st) return st;
    at += records[f];
  }
  out->count = total;
  return RP_OK;
}

static rp_status load_idx(const spec *s, const char *dir, bool train, rp_dataset *out) {
  char images[1024], labels[1024];
  idx_path(dir, train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte", images,
           sizeof images);
  idx_path(dir, train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte", labels,
           sizeof labels);
  struct stat st_labels;
  if (stat(labels, &st_labels) == 0 && !S_ISREG(st_labels.st_mode))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %s is not a regular file", s->name, labels);
  if (!is_file(labels))
    return rp_fail(RP_ERR_IO, "%s: %s is present but %s(.gz) is missing", s->name, images, labels);
  int rows, cols;
  rp_status st = rp_idx_read(images, labels, s->classes, &out->count, &rows, &cols, &out->pixels,
                             &out->labels);
  if (st) return st;
  if (rows != s->height || cols != s->width)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: images are %dx%d, %s has %dx%d", images, rows,
                   cols, s->name, s->height, s->width);
  return RP_OK;
}

rp_status rp_dataset_load(const char *name, const char *dir, bool train, rp_dataset *out) {
  memset(out, 0, sizeof *out);
  const spec *s = find_spec(name);
  if (!s)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "unknown dataset '%s' (known: cifar10, cifar100, mnist, fashion-mnist)",
                   name ? name : "(null)");
  rp_status st = locate(s, dir, train, out->dir, sizeof out->dir);
  if (st) return st;
  snprintf(out->name, sizeof out->name, "%s", s->name);
  out->channels = s->channels, out->height = s->height, out->width = s->width;
  out->classes = s->classes;
  memcpy(out->mean, s->mean, sizeof out->mean);
  memcpy(out->std, s->std, sizeof out->std);
  st =
      s->kind == KIND_IDX ? load_idx(s, out->dir, train, out) : load_cifar(s, out->dir, train, out);
  if (st) rp_dataset_free(out);
  return st;
}

void rp_dataset_free(rp_dataset *ds) {
  if (!ds) return;
  free(ds->pixels);
  free(ds->labels);
  ds->pixels = ds->labels = NULL;
  ds->count = 0;
}
