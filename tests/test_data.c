/* The data layer: CIFAR and IDX readers on synthetic files (exact contents and every error
 * naming its file), splits, the batcher (order, coverage, padding, reproducibility) and its
 * augmentations against a plain reference, the download building blocks on file:// URLs, and
 * the real Fashion-MNIST where Debian's package is installed. No GPU needed. */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "data/batcher.h"
#include "data/dataset.h"
#include "data/fetch.h"
#include "data/split.h"
#include "ref/data_ref.h"
#include "support/fixture.h"
#include "support/tmpfiles.h"

TestSuite(data);

/* ---- temporary directories and files */

static char tmpdir[256];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/repro_test_data_XXXXXX");
  cr_assert(mkdtemp(tmpdir), "mkdtemp failed");
}

static void write_file(const char *dir, const char *name, const void *data, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  cr_assert(f, "cannot write %s", path);
  cr_assert_eq(fwrite(data, 1, n, f), n);
  fclose(f);
}

static void write_gz(const char *dir, const char *name, const void *data, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  gzFile f = gzopen(path, "wb");
  cr_assert(f, "cannot write %s", path);
  cr_assert_eq(gzwrite(f, data, (unsigned)n), (int)n);
  gzclose(f);
}

/* Asserts that `expr` fails and its message contains `needle` (the file's name). */
#define ASSERT_FAILS_NAMING(expr, needle)                                                          \
  do {                                                                                             \
    rp_status st_ = (expr);                                                                        \
    cr_assert_neq(st_, RP_OK, "%s succeeded, expected a failure", #expr);                          \
    cr_assert(strstr(rp_error_message(), (needle)) != NULL, "message '%s' does not name '%s'",     \
              rp_error_message(), (needle));                                                       \
  } while (0)

/* A file that is there but wrong: bad input (exit status 2), unlike a missing one. */
#define ASSERT_BAD_FILE(expr, needle)                                                              \
  do {                                                                                             \
    rp_status st_ = (expr);                                                                        \
    cr_assert_eq(st_, RP_ERR_INVALID_ARGUMENT, "%s: status %d (%s)", #expr, st_,                   \
                 rp_error_message());                                                              \
    cr_assert(strstr(rp_error_message(), (needle)) != NULL, "message '%s' does not name '%s'",     \
              rp_error_message(), (needle));                                                       \
  } while (0)

/* ---- CIFAR */

/* A record's pixel i of image `id`: a pattern no two images share in their first bytes. */
static uint8_t cifar_pixel(int id, int i) { return (uint8_t)(id * 7 + i * 13 + (i >> 8)); }

/* n records of images first_id.., labels label_of(id); label_bytes 1 or 2 (coarse = id % 20). */
static void write_cifar(const char *dir, const char *name, int first_id, int n, int label_bytes,
                        int classes) {
  const int rec = label_bytes + 3072;
  uint8_t *buf = malloc((size_t)n * rec);
  for (int r = 0; r < n; r++) {
    int id = first_id + r;
    uint8_t *p = buf + (size_t)r * rec;
    if (label_bytes == 2) *p++ = (uint8_t)(id % 20);
    *p++ = (uint8_t)(id % classes);
    for (int i = 0; i < 3072; i++) p[i] = cifar_pixel(id, i);
  }
  write_file(dir, name, buf, (size_t)n * rec);
  free(buf);
}

static void check_cifar(const rp_dataset *ds, int first_id, int n, int classes) {
  cr_assert_eq(ds->count, n);
  cr_assert_eq(ds->channels, 3);
  cr_assert_eq(ds->height, 32);
  cr_assert_eq(ds->width, 32);
  cr_assert_eq(ds->classes, classes);
  for (int r = 0; r < n; r++) {
    int id = first_id + r;
    cr_assert_eq(ds->labels[r], id % classes, "record %d label", r);
    for (int i = 0; i < 3072; i++)
      cr_assert_eq(ds->pixels[(size_t)r * 3072 + i], cifar_pixel(id, i), "record %d pixel %d", r,
                   i);
  }
}

/* The normalization constants, every channel: the training sets' per-channel pixel mean and
 * standard deviation as torchvision-based CIFAR code publishes them (and bench/models.py
 * writes them), so that a typo in any one shifts no input unnoticed. */
static void expect_constants(const rp_dataset *ds, const float mean[3], const float std[3]) {
  for (int c = 0; c < 3; c++) {
    cr_expect_float_eq(ds->mean[c], mean[c], 1e-6f, "%s mean[%d] %.4f, not %.4f", ds->name, c,
                       ds->mean[c], mean[c]);
    cr_expect_float_eq(ds->std[c], std[c], 1e-6f, "%s std[%d] %.4f, not %.4f", ds->name, c,
                       ds->std[c], std[c]);
  }
}

/* The tests' CIFAR files are small: REPRO_DATA_ANY_SIZE=1 lets them pass the check that a
 * file holds the official number of records (tested in cifar_files_cut_short). */
Test(data, cifar10_parses_exactly) {
  make_tmpdir();
  setenv("REPRO_DATA_ANY_SIZE", "1", 1);
  const int sizes[5] = {3, 2, 1, 4, 2};
  int id = 0;
  for (int b = 0; b < 5; b++) {
    char name[32];
    snprintf(name, sizeof name, "data_batch_%d.bin", b + 1);
    write_cifar(tmpdir, name, id, sizes[b], 1, 10);
    id += sizes[b];
  }
  write_cifar(tmpdir, "test_batch.bin", 100, 5, 1, 10);
  rp_dataset ds;
  ASSERT_OK(rp_dataset_load("cifar10", tmpdir, true, &ds));
  check_cifar(&ds, 0, 12, 10);
  cr_assert(!ds.partial);
  cr_assert_str_eq(ds.name, "cifar10");
  cr_assert_str_eq(ds.dir, tmpdir);
  expect_constants(&ds, (const float[]){0.4914f, 0.4822f, 0.4465f},
                   (const float[]){0.2470f, 0.2435f, 0.2616f});
  rp_dataset_free(&ds);
  ASSERT_OK(rp_dataset_load("cifar10", tmpdir, false, &ds));
  check_cifar(&ds, 100, 5, 10);
  rp_dataset_free(&ds);

  /* only a leading run of batches: loaded, marked partial */
  char path[1024];
  for (int b = 3; b <= 5; b++) {
    snprintf(path, sizeof path, "%s/data_batch_%d.bin", tmpdir, b);
    unlink(path);
  }
  ASSERT_OK(rp_dataset_load("cifar10", tmpdir, true, &ds));
  check_cifar(&ds, 0, 5, 10);
  cr_assert(ds.partial);
  rp_dataset_free(&ds);
  /* a gap is an error naming the missing batch */
  write_cifar(tmpdir, "data_batch_4.bin", 0, 1, 1, 10);
  ASSERT_FAILS_NAMING(rp_dataset_load("cifar10", tmpdir, true, &ds), "data_batch_3.bin");
  remove_tree(tmpdir);
}

Test(data, cifar100_parses_fine_labels) {
  setenv("REPRO_DATA_ANY_SIZE", "1", 1);
  make_tmpdir();
  char sub[512];
  /* in the archive's own subdirectory, found from the parent */
  snprintf(sub, sizeof sub, "%s/cifar-100-binary", tmpdir);
  mkdir(sub, 0777);
  write_cifar(sub, "train.bin", 0, 7, 2, 100);
  write_cifar(sub, "test.bin", 50, 3, 2, 100);
  rp_dataset ds;
  ASSERT_OK(rp_dataset_load("cifar100", tmpdir, true, &ds));
  check_cifar(&ds, 0, 7, 100);
  cr_assert_str_eq(ds.dir, sub);
  expect_constants(&ds, (const float[]){0.5071f, 0.4865f, 0.4409f},
                   (const float[]){0.2673f, 0.2564f, 0.2762f});
  rp_dataset_free(&ds);
  ASSERT_OK(rp_dataset_load("cifar100", tmpdir, false, &ds));
  check_cifar(&ds, 50, 3, 100);
  rp_dataset_free(&ds);
  remove_tree(tmpdir);
}

Test(data, cifar_errors_name_the_file) {
  make_tmpdir();
  setenv("REPRO_DATA_ANY_SIZE", "1", 1);
  rp_dataset ds;
  char path[1024];
  /* missing: says where it looked and how to get it */
  ASSERT_FAILS_NAMING(rp_dataset_load("cifar10", tmpdir, false, &ds), "test_batch.bin");
  ASSERT_FAILS_NAMING(rp_dataset_load("cifar10", tmpdir, false, &ds), tmpdir);
  ASSERT_FAILS_NAMING(rp_dataset_load("cifar10", tmpdir, false, &ds), "repro data fetch cifar10");
  cr_assert_eq(rp_dataset_load("cifar10", tmpdir, false, &ds), RP_ERR_IO, "missing: not bad input");
  /* truncated: not a whole number of records */
  write_cifar(tmpdir, "test_batch.bin", 0, 3, 1, 10);
  snprintf(path, sizeof path, "%s/test_batch.bin", tmpdir);
  cr_assert_eq(truncate(path, 3 * 3073 - 100), 0);
  ASSERT_FAILS_NAMING(rp_dataset_load("cifar10", tmpdir, false, &ds), path);
  ASSERT_BAD_FILE(rp_dataset_load("cifar10", tmpdir, false, &ds), "truncated");
  /* empty */
  write_file(tmpdir, "test_batch.bin", "", 0);
  ASSERT_FAILS_NAMING(rp_dataset_load("cifar10", tmpdir, false, &ds), path);
  ASSERT_BAD_FILE(rp_dataset_load("cifar10", tmpdir, false, &ds), " is empty: truncated");
  /* label out of range: CIFAR-100 records read as CIFAR-10 have labels up to 99 */
  write_cifar(tmpdir, "test_batch.bin", 0, 12, 1, 256);
  ASSERT_FAILS_NAMING(rp_dataset_load("cifar10", tmpdir, false, &ds), path);
  ASSERT_BAD_FILE(rp_dataset_load("cifar10", tmpdir, false, &ds), "label 10");
  /* CIFAR-100: fine label >= 100, coarse >= 20 */
  write_cifar(tmpdir, "test.bin", 0, 101, 2, 256);
  snprintf(path, sizeof path, "%s/test.bin", tmpdir);
  ASSERT_FAILS_NAMING(rp_dataset_load("cifar100", tmpdir, false, &ds), path);
  ASSERT_BAD_FILE(rp_dataset_load("cifar100", tmpdir, false, &ds), "label 100");
  uint8_t rec[3074] = {20, 5};
  write_file(tmpdir, "test.bin", rec, sizeof rec);
  ASSERT_BAD_FILE(rp_dataset_load("cifar100", tmpdir, false, &ds), "coarse label 20");
  /* the failed loads left nothing allocated */
  cr_assert_null(ds.pixels);
  cr_assert_null(ds.labels);
  ASSERT_FAILS_NAMING(rp_dataset_load("imagenet", tmpdir, false, &ds), "imagenet");
  remove_tree(tmpdir);
}

/* A file cut at a record boundary (an interrupted copy) is caught by its record count: every
 * official file holds 10,000 records (CIFAR-100's train.bin 50,000). */
Test(data, cifar_files_cut_short) {
  make_tmpdir();
  unsetenv("REPRO_DATA_ANY_SIZE");
  rp_dataset ds;
  char path[1024];
  snprintf(path, sizeof path, "%s/test_batch.bin", tmpdir);
  write_cifar(tmpdir, "test_batch.bin", 0, 10000, 1, 10);
  ASSERT_OK(rp_dataset_load("cifar10", tmpdir, false, &ds));
  cr_assert_eq(ds.count, 10000);
  rp_dataset_free(&ds);
  cr_assert_eq(truncate(path, (off_t)9990 * 3073), 0);
  ASSERT_FAILS_NAMING(rp_dataset_load("cifar10", tmpdir, false, &ds), path);
  ASSERT_BAD_FILE(rp_dataset_load("cifar10", tmpdir, false, &ds), "9990 records");
  ASSERT_FAILS_NAMING(rp_dataset_load("cifar10", tmpdir, false, &ds), "10000");
  /* a training batch, and CIFAR-100's train.bin, likewise */
  write_cifar(tmpdir, "data_batch_1.bin", 0, 10, 1, 10);
  snprintf(path, sizeof path, "%s/data_batch_1.bin", tmpdir);
  ASSERT_FAILS_NAMING(rp_dataset_load("cifar10", tmpdir, true, &ds), path);
  write_cifar(tmpdir, "train.bin", 0, 10000, 2, 100);
  ASSERT_BAD_FILE(rp_dataset_load("cifar100", tmpdir, true, &ds), "50000");
  /* the switch for hand-made files */
  setenv("REPRO_DATA_ANY_SIZE", "1", 1);
  ASSERT_OK(rp_dataset_load("cifar10", tmpdir, false, &ds));
  cr_assert_eq(ds.count, 9990);
  rp_dataset_free(&ds);
  unsetenv("REPRO_DATA_ANY_SIZE");
  remove_tree(tmpdir);
}

/* ---- IDX */

static uint8_t idx_pixel(int id, int i) { return (uint8_t)(id * 31 + i * 3 + (i >> 8)); }

/* An IDX image file of n 28x28 images (`declared` in the header) and a label file of m
 * labels. `gz` writes them gzip'd under name + ".gz". */
static void write_idx(const char *images, const char *labels, int n, int declared, int m,
                      uint32_t image_magic, int bad_label_at, bool gz) {
  size_t ib = 16 + (size_t)n * 784, lb = 8 + (size_t)m;
  uint8_t *img = malloc(ib), *lab = malloc(lb);
  const uint32_t ihead[4] = {image_magic, (uint32_t)declared, 28, 28};
  for (int k = 0; k < 4; k++)
    for (int b = 0; b < 4; b++) img[4 * k + b] = (uint8_t)(ihead[k] >> (24 - 8 * b));
  for (int i = 0; i < n; i++)
    for (int p = 0; p < 784; p++) img[16 + (size_t)i * 784 + p] = idx_pixel(i, p);
  const uint32_t lhead[2] = {2049, (uint32_t)m};
  for (int k = 0; k < 2; k++)
    for (int b = 0; b < 4; b++) lab[4 * k + b] = (uint8_t)(lhead[k] >> (24 - 8 * b));
  for (int i = 0; i < m; i++) lab[8 + i] = (uint8_t)(i == bad_label_at ? 10 : (i * 3) % 10);
  char name_i[128], name_l[128];
  snprintf(name_i, sizeof name_i, "%s%s", images, gz ? ".gz" : "");
  snprintf(name_l, sizeof name_l, "%s%s", labels, gz ? ".gz" : "");
  if (gz) {
    write_gz(tmpdir, name_i, img, ib);
    write_gz(tmpdir, name_l, lab, lb);
  } else {
    write_file(tmpdir, name_i, img, ib);
    write_file(tmpdir, name_l, lab, lb);
  }
  free(img);
  free(lab);
}

static void check_idx(const rp_dataset *ds, int n) {
  cr_assert_eq(ds->count, n);
  cr_assert_eq(ds->channels, 1);
  cr_assert_eq(ds->height, 28);
  cr_assert_eq(ds->width, 28);
  for (int i = 0; i < n; i++) {
    cr_assert_eq(ds->labels[i], (i * 3) % 10, "label %d", i);
    for (int p = 0; p < 784; p++)
      cr_assert_eq(ds->pixels[(size_t)i * 784 + p], idx_pixel(i, p), "image %d pixel %d", i, p);
  }
}

Test(data, idx_raw_and_gzip_parse_exactly) {
  make_tmpdir();
  write_idx("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 13, 13, 13, 2051, -1, false);
  write_idx("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 7, 7, 7, 2051, -1, true);
  rp_dataset ds;
  ASSERT_OK(rp_dataset_load("mnist", tmpdir, true, &ds));
  check_idx(&ds, 13);
  cr_assert_float_eq(ds.mean[0], 0.1307f, 1e-6f);
  rp_dataset_free(&ds);
  ASSERT_OK(rp_dataset_load("fashion-mnist", tmpdir, false, &ds));
  check_idx(&ds, 7);
  cr_assert_float_eq(ds.std[0], 0.3530f, 1e-6f);
  rp_dataset_free(&ds);

  /* found through $REPRO_DATA_DIR/<name> */
  char parent[512], link[600];
  snprintf(parent, sizeof parent, "%s", tmpdir);
  snprintf(link, sizeof link, "%s/mnist", parent);
  make_tmpdir();
  cr_assert_eq(symlink(tmpdir, link), 0);
  write_idx("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 4, 4, 4, 2051, -1, true);
  setenv("REPRO_DATA_DIR", parent, 1);
  ASSERT_OK(rp_dataset_load("mnist", NULL, false, &ds));
  check_idx(&ds, 4);
  cr_assert_str_eq(ds.dir, link);
  rp_dataset_free(&ds);
  remove_tree(tmpdir);
  remove_tree(parent);
}

Test(data, idx_errors_name_the_file) {
  make_tmpdir();
  rp_dataset ds;
  char images[1024], labels[1024];
  snprintf(images, sizeof images, "%s/train-images-idx3-ubyte", tmpdir);
  snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte", tmpdir);
  for (int gz = 0; gz < 2; gz++) {
    const char *sfx = gz ? ".gz" : "";
    char gi[1100], gl[1100];
    snprintf(gi, sizeof gi, "%s%s", images, sfx);
    snprintf(gl, sizeof gl, "%s%s", labels, sfx);
    /* wrong magic: labels where images belong */
    write_idx("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 5, 5, 5, 2049, -1, gz);
    ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), gi);
    ASSERT_BAD_FILE(rp_dataset_load("mnist", tmpdir, true, &ds), "magic 2049");
    /* truncated: the header promises 6 images, 5 are there */
    write_idx("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 5, 6, 6, 2051, -1, gz);
    ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), gi);
    ASSERT_BAD_FILE(rp_dataset_load("mnist", tmpdir, true, &ds), "truncated");
    /* more data than the header says */
    write_idx("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 6, 5, 5, 2051, -1, gz);
    ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), gi);
    /* count mismatch names both files */
    write_idx("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 5, 5, 4, 2051, -1, gz);
    ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), gi);
    ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), gl);
    /* label out of range */
    write_idx("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 5, 5, 5, 2051, 3, gz);
    ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), gl);
    ASSERT_BAD_FILE(rp_dataset_load("mnist", tmpdir, true, &ds), "label 3 is 10");
    /* a missing labels file */
    unlink(gl);
    ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), "train-labels-idx1-ubyte");
    unlink(gi);
  }
  /* headers alone that promise 10^8 images of 4096 x 4096: refused as the damage they are
   * before anything is allocated (they asked for 1.6 PB and failed as "no memory") */
  const uint8_t huge_images[16] = {0, 0, 8, 3, 5, 245, 225, 0, 0, 0, 16, 0, 0, 0, 16, 0};
  const uint8_t huge_labels[8] = {0, 0, 8, 1, 5, 245, 225, 0};
  write_file(tmpdir, "train-images-idx3-ubyte", huge_images, sizeof huge_images);
  write_file(tmpdir, "train-labels-idx1-ubyte", huge_labels, sizeof huge_labels);
  ASSERT_BAD_FILE(rp_dataset_load("mnist", tmpdir, true, &ds),
                  "truncated: fewer than the 1677721600000000 data bytes its header gives");
  unlink(images), unlink(labels);
  write_gz(tmpdir, "train-images-idx3-ubyte.gz", huge_images, sizeof huge_images);
  write_gz(tmpdir, "train-labels-idx1-ubyte.gz", huge_labels, sizeof huge_labels);
  ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds),
                      "its header gives 1677721600000000 data bytes, more than a gzip file of");
  /* a gzip stream cut short */
  write_idx("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 50, 50, 50, 2051, -1, true);
  char gi[1100];
  snprintf(gi, sizeof gi, "%s.gz", images);
  struct stat st;
  cr_assert_eq(stat(gi, &st), 0);
  cr_assert_eq(truncate(gi, st.st_size / 2), 0);
  ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), gi);
  ASSERT_BAD_FILE(rp_dataset_load("mnist", tmpdir, true, &ds), "truncated gzip data");
  /* a corrupt gzip stream: its CRC (the trailer's first 4 bytes) no longer matches; every
   * data byte reads, only zlib's check at the end of the stream can tell */
  write_idx("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 50, 50, 50, 2051, -1, true);
  cr_assert_eq(stat(gi, &st), 0);
  FILE *f = fopen(gi, "r+b");
  cr_assert_not_null(f);
  cr_assert_eq(fseek(f, (long)st.st_size - 8, SEEK_SET), 0);
  int crc0 = fgetc(f);
  cr_assert_eq(fseek(f, (long)st.st_size - 8, SEEK_SET), 0);
  fputc(crc0 ^ 0x5a, f);
  fclose(f);
  ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), gi);
  ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), "corrupt gzip data");
  /* a plain file named .gz */
  write_idx("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 5, 5, 5, 2051, -1, false);
  cr_assert_eq(rename(images, gi), 0);
  ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), "not a gzip file");
  /* a directory where the labels file belongs */
  char gl[1100];
  snprintf(gl, sizeof gl, "%s.gz", labels);
  unlink(gl);
  unlink(labels);
  cr_assert_eq(mkdir(labels, 0700), 0);
  ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), "not a regular file");
  /* ... and where its .gz belongs */
  cr_assert_eq(rmdir(labels), 0);
  cr_assert_eq(mkdir(gl, 0700), 0);
  ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), gl);
  ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), "not a regular file");
  /* nothing there at all: the message says where it looked and what to run */
  remove_tree(tmpdir);
  ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), "repro data fetch mnist");
  ASSERT_FAILS_NAMING(rp_dataset_load("mnist", tmpdir, true, &ds), "train-images-idx3-ubyte");
}

/* ---- the real Fashion-MNIST (Debian's dataset-fashion-mnist) */

Test(data, real_fashion_mnist) {
  const char *dir = "/usr/share/datasets/fashion-mnist";
  struct stat st;
  if (stat(dir, &st) != 0) {
    cr_skip("%s is absent (apt-get install dataset-fashion-mnist): real data not checked", dir);
    return;
  }
  rp_dataset ds;
  unsetenv("REPRO_DATA_DIR");
  cr_assert_eq(chdir("/"), 0);                                  /* no ./data/fashion-mnist */
  ASSERT_OK(rp_dataset_load("fashion-mnist", NULL, true, &ds)); /* found by the search */
  cr_assert_eq(ds.count, 60000);
  int64_t per_class[10] = {0};
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < ds.count; i++) per_class[ds.labels[i]]++;
  for (int64_t i = 0; i < ds.count * 784; i++) {
    double v = ds.pixels[i] / 255.0;
    sum += v, sq += v * v;
  }
  for (int c = 0; c < 10; c++) cr_assert_eq(per_class[c], 6000, "class %d", c);
  double n = (double)ds.count * 784, mean = sum / n, sd = sqrt(sq / n - mean * mean);
  /* the normalization constants are this set's statistics */
  cr_assert(fabs(mean - ds.mean[0]) < 5e-4, "pixel mean %.5f vs %.4f", mean, ds.mean[0]);
  cr_assert(fabs(sd - ds.std[0]) < 5e-4, "pixel std %.5f vs %.4f", sd, ds.std[0]);
  rp_dataset_free(&ds);
  ASSERT_OK(rp_dataset_load("fashion-mnist", NULL, false, &ds));
  cr_assert_eq(ds.count, 10000);
  rp_dataset_free(&ds);
}

/* ---- splits */

/* A dataset of n tiny images whose pixels name their index (for the split and batcher). */
static rp_dataset fake_dataset(int64_t n, int channels, int height, int width) {
  rp_dataset ds;
  memset(&ds, 0, sizeof ds);
  snprintf(ds.name, sizeof ds.name, "fake");
  ds.count = n, ds.channels = channels, ds.height = height, ds.width = width, ds.classes = 10;
  size_t image = (size_t)channels * height * width;
  ds.pixels = malloc((size_t)n * image);
  ds.labels = malloc((size_t)n);
  for (int64_t i = 0; i < n; i++) {
    for (size_t p = 0; p < image; p++) ds.pixels[i * image + p] = (uint8_t)(i * 5 + p * 11 + 3);
    ds.pixels[i * image] = (uint8_t)(i & 255); /* index in the first two pixels */
    if (image > 1) ds.pixels[i * image + 1] = (uint8_t)(i >> 8);
    ds.labels[i] = (uint8_t)(i % 10);
  }
  for (int c = 0; c < 3; c++) ds.mean[c] = 0.25f + 0.125f * (float)c;
  return ds;
}

Test(data, split_sizes_and_determinism) {
  rp_dataset ds = fake_dataset(50000, 1, 1, 2);
  rp_split a, b, c, tenth, hundredth;
  ASSERT_OK(rp_split_make(&ds, 5000, 1.0, 42, &a));
  ASSERT_OK(rp_split_make(&ds, 5000, 1.0, 42, &b));
  ASSERT_OK(rp_split_make(&ds, 5000, 1.0, 43, &c));
  cr_assert_eq(a.train_count, 45000);
  cr_assert_eq(a.val_count, 5000);
  cr_assert(!memcmp(a.train, b.train, 45000 * sizeof *a.train), "same seed, different split");
  cr_assert(!memcmp(a.val, b.val, 5000 * sizeof *a.val), "same seed, different split");
  cr_assert(memcmp(a.val, c.val, 5000 * sizeof *a.val), "seeds 42 and 43 give the same split");
  /* disjoint and covering */
  uint8_t *seen = calloc(50000, 1);
  for (int64_t i = 0; i < a.train_count; i++) seen[a.train[i]]++;
  for (int64_t i = 0; i < a.val_count; i++) seen[a.val[i]]++;
  for (int64_t i = 0; i < 50000; i++)
    cr_assert_eq(seen[i], 1, "index %lld seen %d times", i, seen[i]);
  /* shuffled, not a block: the validation set spans the whole range */
  int64_t lo = 50000, hi = 0;
  for (int64_t i = 0; i < a.val_count; i++)
    lo = a.val[i] < lo ? a.val[i] : lo, hi = a.val[i] > hi ? a.val[i] : hi;
  cr_assert(lo < 100 && hi > 49900, "validation indices %lld..%lld", lo, hi);
  /* the reduced regimes: the same validation set, a prefix of the same training order */
  ASSERT_OK(rp_split_make(&ds, 5000, 0.1, 42, &tenth));
  ASSERT_OK(rp_split_make(&ds, 5000, 0.01, 42, &hundredth));
  cr_assert_eq(tenth.train_count, 4500);
  cr_assert_eq(hundredth.train_count, 450);
  cr_assert(!memcmp(tenth.val, a.val, 5000 * sizeof *a.val));
  cr_assert(!memcmp(tenth.train, a.train, 4500 * sizeof *a.train));
  cr_assert(!memcmp(hundredth.train, a.train, 450 * sizeof *a.train));
  /* no validation set */
  rp_split all;
  ASSERT_OK(rp_split_make(&ds, 0, 1.0, 1, &all));
  cr_assert_eq(all.train_count, 50000);
  cr_assert_eq(all.val_count, 0);
  cr_assert_null(all.val);
  /* round(fraction * rest), at least one */
  rp_split tiny;
  ASSERT_OK(rp_split_make(&ds, 49990, 0.25, 1, &tiny));
  cr_assert_eq(tiny.train_count, 3); /* round(2.5) = 3 */
  rp_split_free(&tiny);
  ASSERT_OK(rp_split_make(&ds, 49990, 0.01, 1, &tiny));
  cr_assert_eq(tiny.train_count, 1);
  rp_split_free(&tiny);
  ASSERT_FAILS_NAMING(rp_split_make(&ds, 50000, 1.0, 1, &tiny), "50000");
  ASSERT_FAILS_NAMING(rp_split_make(&ds, 5000, 0.0, 1, &tiny), "fraction");
  ASSERT_FAILS_NAMING(rp_split_make(&ds, 5000, 1.5, 1, &tiny), "fraction");
  rp_split_free(&a), rp_split_free(&b), rp_split_free(&c), rp_split_free(&tenth);
  rp_split_free(&hundredth), rp_split_free(&all);
  free(seen);
  rp_dataset_free(&ds);
}

/* ---- batcher */

/* Bit-for-bit equality of float arrays (reproducibility means the same bits, not close). */
static bool same_bits(const float *a, const float *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t x, y;
    memcpy(&x, &a[i], 4), memcpy(&y, &b[i], 4);
    if (x != y) return false;
  }
  return true;
}

static int64_t index_of(const float *image) {
  return (int64_t)lroundf(image[0] * 255.0f) + 256 * (int64_t)lroundf(image[1] * 255.0f);
}

/* Runs one epoch; returns the sample order (count rows) and checks the padding. */
static void run_epoch(rp_batcher *b, int epoch, int batch, size_t image, int64_t expect_rows,
                      int64_t *order, float *all_images) {
  float *images = malloc((size_t)batch * image * sizeof *images);
  uint32_t *labels = malloc((size_t)batch * sizeof *labels);
  ASSERT_OK(rp_batcher_start_epoch(b, epoch));
  int64_t rows = 0, batches = 0;
  int valid;
  for (;;) {
    ASSERT_OK(rp_batcher_next(b, images, labels, &valid));
    if (valid == 0) break;
    batches++;
    for (int r = 0; r < batch; r++) {
      const float *img = images + (size_t)r * image;
      if (r >= valid) { /* padding */
        cr_assert_eq(labels[r], UINT32_MAX, "padding row %d label %u", r, labels[r]);
        for (size_t p = 0; p < image; p++) cr_assert_eq(img[p], 0.0f, "padding row %d", r);
        continue;
      }
      int64_t idx = index_of(img);
      cr_assert_eq(labels[r], (uint32_t)(idx % 10), "row %d: label %u for image %lld", r, labels[r],
                   (long long)idx);
      if (order) order[rows] = idx;
      if (all_images) memcpy(all_images + rows * image, img, image * sizeof *img);
      rows++;
    }
  }
  cr_assert_eq(batches, rp_batcher_batches(b));
  cr_assert_eq(rows, expect_rows);
  ASSERT_OK(rp_batcher_next(b, images, labels, &valid)); /* still the end */
  cr_assert_eq(valid, 0);
  free(images);
  free(labels);
}

/* The signals thread `tid` of this process blocks (its SigBlk in /proc, a mask of bit
 * signal - 1), or 0 with *found false. */
static unsigned long long blocked_signals(long tid, bool *found) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/self/task/%ld/status", tid);
  FILE *f = fopen(path, "r");
  unsigned long long mask = 0;
  *found = false;
  while (f && !*found && fgets(line, sizeof line, f))
    *found = sscanf(line, "SigBlk: %llx", &mask) == 1;
  if (f) fclose(f);
  return mask;
}

/* The id of this process's thread named `name` (its comm in /proc), or -1. */
static long thread_named(const char *name) {
  DIR *d = opendir("/proc/self/task");
  cr_assert_not_null(d);
  long tid = -1;
  for (struct dirent *e; tid < 0 && (e = readdir(d));) {
    char path[300], comm[64] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE *f = e->d_name[0] == '.' ? NULL : fopen(path, "r");
    if (f && fgets(comm, sizeof comm, f) && strncmp(comm, name, strlen(name)) == 0 &&
        comm[strlen(name)] == '\n')
      tid = strtol(e->d_name, NULL, 10);
    if (f) fclose(f);
  }
  closedir(d);
  return tid;
}

/* The signals the calling thread blocks, in blocked_signals()' form. */
static unsigned long long my_blocked_signals(void) {
  sigset_t set;
  cr_assert_eq(pthread_sigmask(SIG_BLOCK, NULL, &set), 0);
  unsigned long long mask = 0;
  for (int sig = 1; sig <= 64; sig++)
    if (sigismember(&set, sig) == 1) mask |= 1ull << (sig - 1);
  return mask;
}

/* The batcher's worker thread ("repro-batcher") blocks the signals that ask the process to
 * stop, so that the main thread takes Ctrl-C (repro run's handler removes its lock file), and
 * no more (faults stay as the caller has them); the caller's mask is left as it was. */
Test(data, the_batcher_worker_leaves_stop_signals_to_the_main_thread) {
  rp_dataset ds = fake_dataset(20, 1, 2, 2);
  unsigned long long mine = my_blocked_signals(), want = mine;
  const int stops[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  for (int k = 0; k < 4; k++) want |= 1ull << (stops[k] - 1);
  rp_batcher *b = NULL;
  ASSERT_OK(rp_batcher_create(&ds, NULL, 0, 4, false, false, NULL, 1, &b));
  /* (the worker names itself once it runs) */
  long tid = -1;
  for (int tries = 0; tries < 1000 && tid < 0; tries++) {
    tid = thread_named("repro-batcher");
    if (tid < 0) nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  cr_assert_geq(tid, 0, "no thread named repro-batcher");
  bool found;
  unsigned long long mask = blocked_signals(tid, &found);
  cr_assert(found);
  cr_expect_eq(mask, want, "the worker blocks %llx, not %llx", mask, want);
  cr_expect_eq(my_blocked_signals(), mine, "the caller's mask changed");
  rp_batcher_destroy(b);
  free(ds.pixels), free(ds.labels);
}

Test(data, batcher_order_coverage_padding) {
  rp_dataset ds = fake_dataset(1037, 3, 4, 5);
  const size_t image = (size_t)3 * 4 * 5;
  const int batch = 64;
  rp_batcher *b, *same, *other;
  ASSERT_OK(rp_batcher_create(&ds, NULL, 0, batch, true, false, NULL, 7, &b));
  ASSERT_OK(rp_batcher_create(&ds, NULL, 0, batch, true, false, NULL, 7, &same));
  ASSERT_OK(rp_batcher_create(&ds, NULL, 0, batch, true, false, NULL, 8, &other));
  cr_assert_eq(rp_batcher_batches(b), 17); /* 16 full + 13 rows */
  int64_t *e0 = malloc(1037 * sizeof *e0), *e0b = malloc(1037 * sizeof *e0),
          *e1 = malloc(1037 * sizeof *e0), *s0 = malloc(1037 * sizeof *e0);
  run_epoch(b, 0, batch, image, 1037, e0, NULL);
  run_epoch(same, 0, batch, image, 1037, e0b, NULL);
  run_epoch(other, 0, batch, image, 1037, s0, NULL);
  cr_assert(!memcmp(e0, e0b, 1037 * sizeof *e0), "same seed and epoch, different order");
  cr_assert(memcmp(e0, s0, 1037 * sizeof *e0), "seeds 7 and 8 give the same order");
  run_epoch(b, 1, batch, image, 1037, e1, NULL);
  cr_assert(memcmp(e0, e1, 1037 * sizeof *e0), "epochs 0 and 1 in the same order");
  /* every image exactly once per epoch, and the order is what rp_batcher_sample says */
  uint8_t *seen = calloc(1037, 1);
  for (int i = 0; i < 1037; i++) seen[e1[i]]++;
  for (int i = 0; i < 1037; i++) cr_assert_eq(seen[i], 1, "image %d seen %d times", i, seen[i]);
  for (int i = 0; i < 1037; i += 97) cr_assert_eq(rp_batcher_sample(b, 1, i), e1[i]);
  /* back to epoch 0 (even abandoning one halfway): the same order again */
  float *img = malloc(batch * image * sizeof *img);
  uint32_t lab[64];
  int valid;
  ASSERT_OK(rp_batcher_start_epoch(b, 5));
  ASSERT_OK(rp_batcher_next(b, img, lab, &valid));
  run_epoch(b, 0, batch, image, 1037, e0b, NULL);
  cr_assert(!memcmp(e0, e0b, 1037 * sizeof *e0), "epoch 0 replayed differently");
  rp_batcher_destroy(b), rp_batcher_destroy(same), rp_batcher_destroy(other);

  /* drop_last: 16 batches, 1024 distinct images */
  ASSERT_OK(rp_batcher_create(&ds, NULL, 0, batch, true, true, NULL, 7, &b));
  cr_assert_eq(rp_batcher_batches(b), 16);
  run_epoch(b, 3, batch, image, 1024, e0, NULL);
  memset(seen, 0, 1037);
  for (int i = 0; i < 1024; i++) cr_assert_eq(seen[e0[i]]++, 0, "image %lld twice", e0[i]);
  rp_batcher_destroy(b);

  /* a subset without shuffling: exactly its order; batch larger than the set */
  const int64_t subset[5] = {1036, 3, 500, 3, 0};
  ASSERT_OK(rp_batcher_create(&ds, subset, 5, 8, false, false, NULL, 7, &b));
  cr_assert_eq(rp_batcher_batches(b), 1);
  run_epoch(b, 0, 8, image, 5, e0, NULL);
  for (int i = 0; i < 5; i++) cr_assert_eq(e0[i], subset[i]);
  rp_batcher_destroy(b);

  /* misuse */
  ASSERT_OK(rp_batcher_create(&ds, NULL, 0, batch, true, false, NULL, 7, &b));
  ASSERT_FAILS_NAMING(rp_batcher_next(b, img, lab, &valid), "start_epoch");
  rp_batcher_destroy(b);
  const int64_t bad[2] = {0, 1037};
  ASSERT_FAILS_NAMING(rp_batcher_create(&ds, bad, 2, 8, false, false, NULL, 7, &b), "1037");
  ASSERT_FAILS_NAMING(rp_batcher_create(&ds, NULL, 0, 0, false, false, NULL, 7, &b), "batch 0");
  free(e0), free(e0b), free(e1), free(s0), free(seen), free(img);
  rp_dataset_free(&ds);
}

Test(data, augment_hand_checked) {
  /* 1x4x4 image 1..16; pad 1, window offset (0, 2), flipped, a 2x2 hole centred at (2, 3). */
  uint8_t src[16];
  for (int i = 0; i < 16; i++) src[i] = (uint8_t)(i + 1);
  const rp_augment aug = {.crop = true, .crop_pad = 1, .flip = true, .cutout = 2};
  const rp_augment_draw d = {.dy = 0, .dx = 2, .flip = true, .cy = 2, .cx = 3};
  const float fill = 0.5f, F = -1.0f;
  /* cropped(y, x) = in(y - 1, x + 1); flipped: out(y, x) = in(y - 1, 4 - x) */
  const float want255[16] = {0, 0, 0, 0, 0, 4, F, F, 0, 8, F, F, 0, 12, 11, 10};
  float got[16], ref[16];
  rp_augment_apply(&aug, &d, src, 1, 4, 4, &fill, got);
  ref_augment(src, 1, 4, 4, 1, 0, 2, true, 2, 2, 3, &fill, ref);
  for (int i = 0; i < 16; i++) {
    float want = want255[i] == F ? fill : want255[i] / 255.0f;
    cr_assert_eq(got[i], want, "pixel %d: %g, want %g", i, got[i], want);
    cr_assert_eq(ref[i], want, "reference pixel %d: %g, want %g", i, ref[i], want);
  }
  /* a hole at the corner is clipped: side 4 at (0, 0) covers rows 0..1, columns 0..1 */
  const rp_augment hole = {.cutout = 4};
  const rp_augment_draw corner = {.cy = 0, .cx = 0};
  rp_augment_apply(&hole, &corner, src, 1, 4, 4, &fill, got);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) {
      float want = (y < 2 && x < 2) ? fill : (float)src[y * 4 + x] / 255.0f;
      cr_assert_eq(got[y * 4 + x], want, "(%d, %d)", y, x);
    }
  /* an odd side, as DeVries and Taylor's Cutout: 2 * (3 / 2) = 2 rows and columns, from the
   * centre minus 1 up to it (exclusive) */
  const rp_augment odd = {.cutout = 3};
  const rp_augment_draw centre = {.cy = 2, .cx = 2};
  rp_augment_apply(&odd, &centre, src, 1, 4, 4, &fill, got);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) {
      float want = (y >= 1 && y < 3 && x >= 1 && x < 3) ? fill : (float)src[y * 4 + x] / 255.0f;
      cr_assert_eq(got[y * 4 + x], want, "odd hole (%d, %d)", y, x);
    }
  /* padding without the crop: the window stays centred, whatever the draws, and the image is
   * as it was */
  const rp_augment padded = {.crop = false, .crop_pad = 2};
  for (int position = 0; position < 8; position++) {
    rp_augment_draw at = rp_augment_make_draw(&padded, 5, 0, position, 4, 4);
    cr_assert(at.dy == 2 && at.dx == 2 && !at.flip, "window (%d, %d)", at.dy, at.dx);
    rp_augment_apply(&padded, &at, src, 1, 4, 4, &fill, got);
    for (int i = 0; i < 16; i++) cr_assert_eq(got[i], (float)src[i] / 255.0f, "pixel %d", i);
  }
  /* no augmentation: plain conversion */
  rp_augment_apply(NULL, &corner, src, 1, 4, 4, &fill, got);
  for (int i = 0; i < 16; i++) cr_assert_eq(got[i], (float)src[i] / 255.0f);
}

Test(data, batcher_augmentation_matches_reference) {
  rp_dataset ds = fake_dataset(300, 3, 9, 11);
  for (int64_t i = 0; i < (int64_t)300 * 297; i++)
    ds.pixels[i] = (uint8_t)((int64_t)ds.pixels[i] * 37 + i);
  const size_t image = (size_t)3 * 9 * 11;
  const rp_augment aug = {.crop = true, .crop_pad = 3, .flip = true, .cutout = 4};
  const int batch = 32;
  rp_batcher *b;
  ASSERT_OK(rp_batcher_create(&ds, NULL, 0, batch, true, false, &aug, 11, &b));
  float *images = malloc(batch * image * sizeof *images), *want = malloc(image * sizeof *want);
  uint32_t labels[32];
  int flips = 0, dys[7] = {0}, dxs[7] = {0}, holes = 0, valid;
  bool cy_seen[9] = {false}, cx_seen[11] = {false};
  for (int epoch = 0; epoch < 2; epoch++) {
    ASSERT_OK(rp_batcher_start_epoch(b, epoch));
    for (int64_t j = 0;; j++) {
      ASSERT_OK(rp_batcher_next(b, images, labels, &valid));
      if (!valid) break;
      for (int r = 0; r < valid; r++) {
        int64_t pos = j * batch + r, sample = rp_batcher_sample(b, epoch, pos);
        rp_augment_draw d = rp_augment_make_draw(&aug, 11, epoch, pos, 9, 11);
        cr_assert(d.dy >= 0 && d.dy <= 6 && d.dx >= 0 && d.dx <= 6);
        cr_assert(d.cy >= 0 && d.cy < 9 && d.cx >= 0 && d.cx < 11);
        flips += d.flip, dys[d.dy]++, dxs[d.dx]++, cy_seen[d.cy] = cx_seen[d.cx] = true;
        ref_augment(ds.pixels + sample * image, 3, 9, 11, 3, d.dy, d.dx, d.flip, 4, d.cy, d.cx,
                    ds.mean, want);
        cr_assert_eq(labels[r], ds.labels[sample]);
        for (size_t p = 0; p < image; p++)
          cr_assert_eq(images[r * image + p], want[p], "epoch %d position %lld pixel %zu: %g vs %g",
                       epoch, (long long)pos, p, images[r * image + p], want[p]);
        for (size_t p = 0; p < image; p++) holes += images[r * image + p] == ds.mean[p / 99];
      }
    }
  }
  /* the draws use their whole ranges, and flip about half the time (600 images) */
  cr_assert(flips > 240 && flips < 360, "%d flips in 600", flips);
  for (int k = 0; k < 7; k++)
    cr_assert(dys[k] > 40 && dxs[k] > 40, "offset %d: %d, %d", k, dys[k], dxs[k]);
  for (int k = 0; k < 9; k++) cr_assert(cy_seen[k], "cutout row %d never drawn", k);
  for (int k = 0; k < 11; k++) cr_assert(cx_seen[k], "cutout column %d never drawn", k);
  cr_assert(holes > 600 * 3 * 4, "cutout filled only %d pixels", holes);
  /* the same seed gives the same augmented batch; another epoch changes it */
  rp_batcher *again;
  float *first = malloc(batch * image * sizeof *first);
  ASSERT_OK(rp_batcher_create(&ds, NULL, 0, batch, true, false, &aug, 11, &again));
  ASSERT_OK(rp_batcher_start_epoch(again, 1));
  ASSERT_OK(rp_batcher_next(again, first, labels, &valid));
  ASSERT_OK(rp_batcher_start_epoch(b, 1));
  ASSERT_OK(rp_batcher_next(b, images, labels, &valid));
  cr_assert(same_bits(first, images, batch * image), "same seed and epoch, different batch");
  ASSERT_OK(rp_batcher_start_epoch(b, 2));
  ASSERT_OK(rp_batcher_next(b, images, labels, &valid));
  cr_assert(!same_bits(first, images, batch * image), "epochs 1 and 2 gave the same batch");
  rp_batcher_destroy(b), rp_batcher_destroy(again);
  free(images), free(want), free(first);
  rp_dataset_free(&ds);
}

/* ---- download building blocks (file:// URLs: no network) */

/* A ustar header for `name` (split into prefix/name when long), type, size. */
static void tar_header(uint8_t *h, const char *name, char type, size_t size) {
  memset(h, 0, 512);
  const char *slash = strlen(name) > 100 ? strrchr(name, '/') : NULL;
  if (slash) {
    memcpy(h + 345, name, (size_t)(slash - name));
    snprintf((char *)h, 100, "%s", slash + 1);
  } else {
    snprintf((char *)h, 100, "%s", name);
  }
  snprintf((char *)h + 100, 8, "%07o", 0644);
  snprintf((char *)h + 124, 12, "%011zo", size);
  snprintf((char *)h + 136, 12, "%011o", 0);
  h[156] = (uint8_t)type;
  memcpy(h + 257, "ustar", 6);
  h[263] = h[264] = '0';
  unsigned sum = 0;
  memset(h + 148, ' ', 8);
  for (int i = 0; i < 512; i++) sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
}

static void tar_member(gzFile f, const char *name, char type, const void *data, size_t size) {
  uint8_t h[512];
  tar_header(h, name, type, size);
  gzwrite(f, h, 512);
  if (size) gzwrite(f, data, (unsigned)size);
  uint8_t zero[512] = {0};
  if (size % 512) gzwrite(f, zero, (unsigned)(512 - size % 512));
}

Test(data, fetch_md5_and_untar) {
  make_tmpdir();
  char path[1024], url[1100], dest[1100], hex[33];
  /* md5 of a known string (RFC 1321's test suite) */
  write_file(tmpdir, "abc", "abc", 3);
  snprintf(path, sizeof path, "%s/abc", tmpdir);
  ASSERT_OK(rp_file_md5(path, hex));
  cr_assert_str_eq(hex, "900150983cd24fb0d6963f7d28e17f72");
  /* download with the right md5 lands; the wrong one leaves nothing behind */
  snprintf(url, sizeof url, "file://%s", path);
  snprintf(dest, sizeof dest, "%s/copy", tmpdir);
  ASSERT_OK(rp_fetch_url(url, "900150983cd24fb0d6963f7d28e17f72", dest));
  ASSERT_OK(rp_file_md5(dest, hex));
  cr_assert_str_eq(hex, "900150983cd24fb0d6963f7d28e17f72");
  snprintf(dest, sizeof dest, "%s/bad", tmpdir);
  ASSERT_FAILS_NAMING(rp_fetch_url(url, "00000000000000000000000000000000", dest), "md5");
  struct stat st;
  cr_assert_neq(stat(dest, &st), 0, "a file that failed its md5 was kept");
  snprintf(url, sizeof url, "file://%s/nothing-here", tmpdir);
  ASSERT_FAILS_NAMING(rp_fetch_url(url, NULL, dest), "nothing-here");
  int leftovers = 0;
  DIR *d = opendir(tmpdir);
  for (struct dirent *e; (e = readdir(d));) leftovers += strstr(e->d_name, ".part") != NULL;
  closedir(d);
  cr_assert_eq(leftovers, 0, "temporary download files left behind");

  /* a CIFAR-like archive: a directory, wanted files (one under a long path), an unwanted one */
  snprintf(path, sizeof path, "%s/archive.tar.gz", tmpdir);
  gzFile f = gzopen(path, "wb");
  const size_t rec = 3073;
  uint8_t *big = malloc(3 * rec);
  for (size_t i = 0; i < 3 * rec; i++) big[i] = (uint8_t)(i * 7);
  char long_path[200];
  snprintf(long_path, sizeof long_path, "%0120d/cifar-10-batches-bin/test_batch.bin",
           0); /* > 100 characters: prefix field */
  tar_member(f, "cifar-10-batches-bin/", '5', NULL, 0);
  tar_member(f, "cifar-10-batches-bin/readme.html", '0', "hello", 5);
  tar_member(f, "cifar-10-batches-bin/data_batch_1.bin", '0', big, 2 * rec);
  tar_member(f, long_path, '0', big, 3 * rec);
  uint8_t zero[1024] = {0};
  gzwrite(f, zero, sizeof zero);
  gzclose(f);
  char out[512];
  snprintf(out, sizeof out, "%s/out", tmpdir);
  mkdir(out, 0777);
  const char *names[2] = {"test_batch.bin", "data_batch_1.bin"};
  ASSERT_OK(rp_untar(path, names, 2, out));
  snprintf(dest, sizeof dest, "%s/test_batch.bin", out);
  FILE *g = fopen(dest, "rb");
  cr_assert(g);
  uint8_t *back = malloc(3 * rec + 1);
  cr_assert_eq(fread(back, 1, 3 * rec + 1, g), 3 * rec);
  fclose(g);
  cr_assert(!memcmp(back, big, 3 * rec));
  snprintf(dest, sizeof dest, "%s/data_batch_1.bin", out);
  cr_assert_eq(stat(dest, &st), 0);
  cr_assert_eq(st.st_size, (off_t)(2 * rec));
  snprintf(dest, sizeof dest, "%s/readme.html", out);
  cr_assert_neq(stat(dest, &st), 0, "an unwanted member was extracted");
  const char *missing[1] = {"data_batch_2.bin"};
  ASSERT_FAILS_NAMING(rp_untar(path, missing, 1, out), "data_batch_2.bin");
  /* not a tar archive */
  snprintf(path, sizeof path, "%s/abc", tmpdir);
  ASSERT_FAILS_NAMING(rp_untar(path, names, 2, out), path);
  free(big), free(back);
  remove_tree(tmpdir);
}

Test(data, fetch_keeps_files_already_present) {
  /* Everything in place (IDX uncompressed, CIFAR unpacked): no download is attempted, so this
   * passes without network. */
  make_tmpdir();
  write_idx("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 3, 3, 3, 2051, -1, false);
  write_idx("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 2, 2, 2, 2051, -1, true);
  char where[1024];
  ASSERT_OK(rp_data_fetch("mnist", tmpdir, where, sizeof where));
  cr_assert_str_eq(where, tmpdir);
  const char *batches[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                            "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
  for (int i = 0; i < 6; i++) write_cifar(tmpdir, batches[i], i, 1, 1, 10);
  ASSERT_OK(rp_data_fetch("cifar10", tmpdir, where, sizeof where));
  ASSERT_FAILS_NAMING(rp_data_fetch("svhn", tmpdir, where, sizeof where), "svhn");
  /* nothing added or removed */
  int files = 0;
  DIR *d = opendir(tmpdir);
  for (struct dirent *e; (e = readdir(d));) files += e->d_name[0] != '.';
  closedir(d);
  cr_assert_eq(files, 10);
  remove_tree(tmpdir);
}
