/* safetensors checkpoints: round trip, layout order, metadata, every malformed file rejected with
 * a one-line message naming the file, and interchange with PyTorch through
 * tools/safetensors_torch.py when a python3 with torch is at hand. No Vulkan here. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "support/torch_python.h"
#include "train/safetensors.h"

#define ASSERT_OK(expr)                                                                            \
  do {                                                                                             \
    rp_status st_ = (expr);                                                                        \
    cr_assert_eq(st_, RP_OK, "%s failed: %s", #expr, rp_error_message());                          \
  } while (0)

static char dir[256];

static void make_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/rp_safetensors_XXXXXX");
  cr_assert(mkdtemp(dir), "mkdtemp failed");
}

static void remove_dir(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  (void)!system(cmd);
}

TestSuite(safetensors, .init = make_dir, .fini = remove_dir);

static void path_in_dir(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", dir, name);
}

/* Three tensors of two dtypes, given out of order, with a scalar and an empty one besides. */
enum { W_ROWS = 3, W_COLS = 5, B_LEN = 7, IDX_LEN = 3 };
static float w[W_ROWS * W_COLS], b[B_LEN], scalar = 2.5f;
static int64_t idx[IDX_LEN];

static int sample_tensors(rp_named_tensor *t) {
  for (int i = 0; i < W_ROWS * W_COLS; i++) w[i] = 0.5f * (float)i - 3.0f;
  for (int i = 0; i < B_LEN; i++) b[i] = 1.0f / (float)(i + 1);
  for (int i = 0; i < IDX_LEN; i++) idx[i] = (int64_t)i * 1000000007LL - 5000000000LL;
  memset(t, 0, 5 * sizeof *t);
  t[0] = (rp_named_tensor){"layer2.weight", "F32", 2, {W_ROWS, W_COLS}, w};
  t[1] = (rp_named_tensor){"layer1.bias", "F32", 1, {B_LEN}, b};
  t[2] = (rp_named_tensor){"step", "I64", 1, {IDX_LEN}, idx};
  t[3] = (rp_named_tensor){"lr", "F32", 0, {0}, &scalar};
  t[4] = (rp_named_tensor){"empty", "F32", 2, {0, 4}, NULL};
  return 5;
}

/* Bit-for-bit equality (memcmp on float arrays is what a round trip promises). */
static bool same_bytes(const void *x, const void *y, size_t n) {
  const unsigned char *pa = x, *pb = y;
  for (size_t i = 0; i < n; i++)
    if (pa[i] != pb[i]) return false;
  return true;
}

static void check_sample(const rp_safetensors *f) {
  cr_assert_eq(rp_safetensors_count(f), 5);
  const rp_named_tensor *tw = rp_safetensors_find(f, "layer2.weight");
  cr_assert(tw, "layer2.weight missing");
  cr_assert_str_eq(tw->dtype, "F32");
  cr_assert(tw->ndim == 2 && tw->shape[0] == W_ROWS && tw->shape[1] == W_COLS);
  cr_assert(same_bytes(tw->data, w, sizeof w), "layer2.weight values differ");
  const rp_named_tensor *tb = rp_safetensors_find(f, "layer1.bias");
  cr_assert(tb && tb->ndim == 1 && tb->shape[0] == B_LEN);
  cr_assert(same_bytes(tb->data, b, sizeof b), "layer1.bias values differ");
  const rp_named_tensor *ti = rp_safetensors_find(f, "step");
  cr_assert(ti && strcmp(ti->dtype, "I64") == 0 && ti->shape[0] == IDX_LEN);
  cr_assert((uintptr_t)ti->data % 8 == 0, "I64 data not 8-aligned");
  cr_assert(same_bytes(ti->data, idx, sizeof idx), "step values differ");
  const rp_named_tensor *ts = rp_safetensors_find(f, "lr");
  cr_assert(ts && ts->ndim == 0 && rp_named_tensor_numel(ts) == 1);
  cr_assert_eq(*(const float *)ts->data, scalar);
  const rp_named_tensor *te = rp_safetensors_find(f, "empty");
  cr_assert(te && te->ndim == 2 && te->shape[0] == 0 && te->shape[1] == 4);
  cr_assert_eq(rp_named_tensor_numel(te), 0);
  cr_assert_null(rp_safetensors_find(f, "nope"));
  cr_assert_null(rp_safetensors_at(f, 5));
  cr_assert_null(rp_safetensors_at(f, -1));
}

Test(safetensors, round_trip) {
  rp_named_tensor t[5];
  int n = sample_tensors(t);
  char path[512];
  path_in_dir(path, sizeof path, "ckpt.safetensors");
  ASSERT_OK(rp_safetensors_write(path, t, n, NULL, NULL, 0));
  rp_safetensors *f;
  ASSERT_OK(rp_safetensors_open(path, &f));
  check_sample(f);
  cr_assert_null(rp_safetensors_meta(f, "format"));
  rp_safetensors_close(f);

  /* Overwriting is atomic and leaves no temporary file beside it. */
  w[0] = 42.0f;
  ASSERT_OK(rp_safetensors_write(path, t, n, NULL, NULL, 0));
  ASSERT_OK(rp_safetensors_open(path, &f));
  cr_assert_eq(*(const float *)rp_safetensors_find(f, "layer2.weight")->data, 42.0f);
  rp_safetensors_close(f);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq 1", dir);
  cr_assert_eq(system(cmd), 0, "a temporary file was left in %s", dir);
}

/* The header's size in bytes: the file's first 8, little-endian; `fp` is left after them. */
static uint64_t header_size(FILE *fp) {
  unsigned char size_le[8];
  cr_assert_eq(fread(size_le, 1, 8, fp), 8u);
  uint64_t n = 0;
  for (int i = 0; i < 8; i++) n |= (uint64_t)size_le[i] << (8 * i);
  return n;
}

/* The header as text, for checking the writer's layout. */
static char *read_header(const char *path) {
  FILE *fp = fopen(path, "rb");
  cr_assert(fp);
  uint64_t n = header_size(fp);
  cr_assert_eq(n % 8, 0u, "header of %llu bytes is not padded to 8", (unsigned long long)n);
  char *text = calloc(n + 1, 1);
  cr_assert_eq(fread(text, 1, n, fp), n);
  fclose(fp);
  return text;
}

Test(safetensors, layout_order) {
  rp_named_tensor t[5];
  int n = sample_tensors(t);
  char path[512];
  path_in_dir(path, sizeof path, "order.safetensors");
  ASSERT_OK(rp_safetensors_write(path, t, n, NULL, NULL, 0));
  char *h = read_header(path);
  /* I64 first (wider), then the F32 tensors by name; offsets contiguous from 0. */
  const char *order[] = {"\"step\"", "\"empty\"", "\"layer1.bias\"", "\"layer2.weight\"", "\"lr\""};
  const char *prev = h;
  for (int i = 0; i < 5; i++) {
    const char *at = strstr(h, order[i]);
    cr_assert(at && at >= prev, "%s out of order in header: %s", order[i], h);
    prev = at;
  }
  cr_assert(strstr(h, "\"step\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]}"), "%s",
            h);
  cr_assert(strstr(h, "\"lr\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[112,116]}"), "%s",
            h);
  free(h);
  rp_safetensors *f;
  ASSERT_OK(rp_safetensors_open(path, &f));
  const char *expect[] = {"step", "empty", "layer1.bias", "layer2.weight", "lr"};
  for (int i = 0; i < 5; i++)
    cr_assert_str_eq(rp_safetensors_at(f, i)->name, expect[i], "at(%d)", i);
  rp_safetensors_close(f);

  /* A single dtype: plain name order. */
  rp_named_tensor same[3] = {
      {"c", "F32", 1, {1}, b}, {"a", "F32", 1, {2}, b}, {"b", "F32", 1, {3}, b}};
  ASSERT_OK(rp_safetensors_write(path, same, 3, NULL, NULL, 0));
  ASSERT_OK(rp_safetensors_open(path, &f));
  for (int i = 0; i < 3; i++) cr_assert_eq(rp_safetensors_at(f, i)->name[0], 'a' + i);
  rp_safetensors_close(f);
}

Test(safetensors, metadata) {
  rp_named_tensor t[5];
  int n = sample_tensors(t);
  const char *keys[] = {"format", "step", "quote\"and\\slash\n"};
  const char *values[] = {"pt", "1200", "tab\there, ünïcode"};
  char path[512];
  path_in_dir(path, sizeof path, "meta.safetensors");
  ASSERT_OK(rp_safetensors_write(path, t, n, keys, values, 3));
  rp_safetensors *f;
  ASSERT_OK(rp_safetensors_open(path, &f));
  check_sample(f);
  for (int i = 0; i < 3; i++) {
    const char *v = rp_safetensors_meta(f, keys[i]);
    cr_assert(v && strcmp(v, values[i]) == 0, "metadata '%s' read back as '%s'", keys[i],
              v ? v : "(null)");
  }
  cr_assert_null(rp_safetensors_meta(f, "missing"));
  rp_safetensors_close(f);
  /* The header alone: the same metadata and tensor names and shapes, their data unread. */
  ASSERT_OK(rp_safetensors_open_header(path, &f));
  cr_assert_eq(rp_safetensors_count(f), n);
  for (int i = 0; i < 3; i++) cr_assert_str_eq(rp_safetensors_meta(f, keys[i]), values[i]);
  for (int i = 0; i < n; i++) {
    const rp_named_tensor *h = rp_safetensors_find(f, t[i].name);
    cr_assert(h && h->ndim == t[i].ndim && strcmp(h->dtype, t[i].dtype) == 0 && !h->data,
              "'%s' from the header alone", t[i].name);
  }
  rp_safetensors_close(f);
  /* Cut short, it is refused as the whole file is, with the same line. */
  FILE *cut = fopen(path, "r+b");
  cr_assert(cut);
  cr_assert_eq(ftruncate(fileno(cut), 40), 0);
  fclose(cut);
  cr_assert_neq(rp_safetensors_open(path, &f), RP_OK);
  char whole[1024];
  snprintf(whole, sizeof whole, "%s", rp_error_message());
  cr_assert_neq(rp_safetensors_open_header(path, &f), RP_OK);
  cr_assert_str_eq(rp_error_message(), whole);
  /* Metadata alone, no tensors. */
  ASSERT_OK(rp_safetensors_write(path, NULL, 0, keys, values, 1));
  ASSERT_OK(rp_safetensors_open(path, &f));
  cr_assert_eq(rp_safetensors_count(f), 0);
  cr_assert_str_eq(rp_safetensors_meta(f, "format"), "pt");
  rp_safetensors_close(f);
}

Test(safetensors, bad_writes) {
  char path[512];
  path_in_dir(path, sizeof path, "bad.safetensors");
  rp_named_tensor t[2] = {{"x", "F32", 1, {2}, b}, {"x", "F32", 1, {2}, b}};
  cr_assert_neq(rp_safetensors_write(path, t, 2, NULL, NULL, 0), RP_OK);
  cr_assert(strstr(rp_error_message(), "'x' appears twice"), "%s", rp_error_message());
  t[1] = (rp_named_tensor){"y", "F31", 1, {2}, b};
  cr_assert_neq(rp_safetensors_write(path, t, 2, NULL, NULL, 0), RP_OK);
  cr_assert(strstr(rp_error_message(), "F31"), "%s", rp_error_message());
  t[1] = (rp_named_tensor){"y", "F32", 1, {-2}, b};
  cr_assert_neq(rp_safetensors_write(path, t, 2, NULL, NULL, 0), RP_OK);
  t[1] = (rp_named_tensor){"y", "F32", 5, {2}, b};
  cr_assert_neq(rp_safetensors_write(path, t, 2, NULL, NULL, 0), RP_OK);
  t[1] = (rp_named_tensor){"y", "F32", 1, {2}, NULL};
  cr_assert_neq(rp_safetensors_write(path, t, 2, NULL, NULL, 0), RP_OK);
  cr_assert_eq(access(path, F_OK), -1, "a failed write created %s", path);
  cr_assert_neq(rp_safetensors_write("/nonexistent-dir/x.safetensors", t, 1, NULL, NULL, 0), RP_OK);
  cr_assert(strstr(rp_error_message(), "/nonexistent-dir/x.safetensors"), "%s", rp_error_message());
}

/* The zlib crc32 of the data section of the file at `path` (every byte after the header), as
 * 8 hex digits: computed here from the file's bytes, apart from the writer's own sum. */
static void data_section_crc32(const char *path, char hex[9]) {
  FILE *fp = fopen(path, "rb");
  cr_assert(fp);
  cr_assert_eq(fseek(fp, (long)(8 + header_size(fp)), SEEK_SET), 0);
  uLong crc = crc32(0L, Z_NULL, 0);
  unsigned char buf[256];
  for (size_t got; (got = fread(buf, 1, sizeof buf, fp)) > 0;) crc = crc32(crc, buf, (uInt)got);
  fclose(fp);
  snprintf(hex, 9, "%08lx", (unsigned long)crc);
}

/* A checksummed file holds, under the key asked for and after the caller's metadata, the crc32
 * of its whole data section, which rp_safetensors_crc32 gives again; a byte changed there
 * changes that, and a checksum key that is one of the caller's keys is refused. */
Test(safetensors, checksum_of_the_data) {
  rp_named_tensor t[5];
  int n = sample_tensors(t);
  const char *keys[] = {"format"}, *values[] = {"pt"};
  char path[512], hex[9], now[9];
  path_in_dir(path, sizeof path, "summed.safetensors");
  ASSERT_OK(rp_safetensors_write_checksummed(path, t, n, keys, values, 1, "crc"));
  char *header = read_header(path);
  data_section_crc32(path, hex);
  char expected[64];
  snprintf(expected, sizeof expected, "{\"__metadata__\":{\"format\":\"pt\",\"crc\":\"%s\"},", hex);
  cr_assert(strncmp(header, expected, strlen(expected)) == 0, "header: %s", header);
  free(header);
  rp_safetensors *f;
  ASSERT_OK(rp_safetensors_open(path, &f));
  check_sample(f);
  snprintf(now, sizeof now, "%08x", rp_safetensors_crc32(f));
  cr_assert_str_eq(now, hex);
  cr_assert_str_eq(rp_safetensors_meta(f, "crc"), hex);
  rp_safetensors_close(f);

  /* One bit of the file's last byte (of the last tensor's data) flipped. */
  FILE *fp = fopen(path, "r+b");
  unsigned char byte = 0;
  cr_assert(fp && fseek(fp, -1, SEEK_END) == 0 && fread(&byte, 1, 1, fp) == 1);
  byte ^= 1;
  cr_assert(fseek(fp, -1, SEEK_END) == 0 && fwrite(&byte, 1, 1, fp) == 1 && fclose(fp) == 0);
  ASSERT_OK(rp_safetensors_open(path, &f));
  snprintf(now, sizeof now, "%08x", rp_safetensors_crc32(f));
  cr_assert_str_neq(now, hex, "a changed byte left the crc32 as it was");
  data_section_crc32(path, hex);
  cr_assert_str_eq(now, hex);
  rp_safetensors_close(f);

  /* The checksum alone makes the metadata; a key of the caller's is refused. */
  ASSERT_OK(rp_safetensors_write_checksummed(path, t, n, NULL, NULL, 0, "crc"));
  data_section_crc32(path, hex);
  ASSERT_OK(rp_safetensors_open(path, &f));
  cr_assert_str_eq(rp_safetensors_meta(f, "crc"), hex);
  rp_safetensors_close(f);
  cr_assert_eq(rp_safetensors_write_checksummed(path, t, n, keys, values, 1, "format"),
               RP_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(rp_error_message(), "metadata key 'format' appears twice"), "%s",
            rp_error_message());
}

/* Writes 8-byte size (or `size_override` if >= 0), the header text and `data_bytes` zeros. */
static void write_raw(const char *path, const char *header, long long size_override,
                      size_t data_bytes, size_t truncate_to) {
  size_t hlen = strlen(header);
  uint64_t n = size_override >= 0 ? (uint64_t)size_override : hlen;
  size_t total = 8 + hlen + data_bytes;
  unsigned char *buf = calloc(total, 1);
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(n >> (8 * i));
  for (size_t i = 0; i < hlen; i++) buf[8 + i] = (unsigned char)header[i];
  FILE *fp = fopen(path, "wb");
  cr_assert(fp);
  fwrite(buf, 1, truncate_to ? truncate_to : total, fp);
  fclose(fp);
  free(buf);
}

static void expect_rejected(const char *what, const char *header, long long size_override,
                            size_t data_bytes, size_t truncate_to, const char *needle) {
  char path[512];
  path_in_dir(path, sizeof path, "malformed.safetensors");
  write_raw(path, header, size_override, data_bytes, truncate_to);
  rp_safetensors *f = (rp_safetensors *)(uintptr_t)1;
  rp_status st = rp_safetensors_open(path, &f);
  const char *msg = rp_error_message();
  cr_assert_neq(st, RP_OK, "%s: accepted", what);
  cr_assert_null(f, "%s: out pointer not cleared", what);
  cr_assert(strstr(msg, path), "%s: message does not name the file: %s", what, msg);
  cr_assert(strstr(msg, needle), "%s: message lacks '%s': %s", what, needle, msg);
  cr_assert_null(strchr(msg, '\n'), "%s: message is more than one line: %s", what, msg);
}

/* An empty tensor whose other dimensions multiply past any integer is still empty: no bytes,
 * no elements (it was refused as needing -1 bytes). */
Test(safetensors, empty_tensor_with_huge_dimensions) {
  char path[512];
  path_in_dir(path, sizeof path, "empty.safetensors");
  write_raw(path,
            "{\"e\":{\"dtype\":\"F32\",\"shape\":[67108864,67108864,0],\"data_offsets\":"
            "[0,0]}}",
            -1, 0, 0);
  rp_safetensors *f;
  ASSERT_OK(rp_safetensors_open(path, &f));
  const rp_named_tensor *t = rp_safetensors_find(f, "e");
  cr_assert_not_null(t);
  cr_assert_eq(rp_named_tensor_numel(t), 0);
  rp_safetensors_close(f);
}

Test(safetensors, malformed_files) {
  const char *ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  /* sanity: the well-formed version of the fixture opens */
  char path[512];
  path_in_dir(path, sizeof path, "good.safetensors");
  write_raw(path, ok, -1, 8, 0);
  rp_safetensors *f;
  ASSERT_OK(rp_safetensors_open(path, &f));
  cr_assert_eq(rp_safetensors_count(f), 1);
  rp_safetensors_close(f);

  expect_rejected("empty file", "", 0, 0, 1, "truncated");
  expect_rejected("7 bytes", "", 0, 0, 7, "truncated");
  expect_rejected("header size beyond file", ok, 4096, 8, 0, "beyond the file");
  expect_rejected("huge header size", ok, (long long)1 << 62, 8, 0, "beyond the file");
  expect_rejected("bad JSON", "{\"a\":{\"dtype\":\"F32\",", -1, 8, 0, "JSON");
  expect_rejected("JSON array", "[1,2]", -1, 8, 0, "JSON");
  expect_rejected("trailing garbage", "{} x", -1, 0, 0, "JSON");
  expect_rejected("unknown dtype",
                  "{\"a\":{\"dtype\":\"F31\",\"shape\":[2],\"data_offsets\":[0,8]}}", -1, 8, 0,
                  "unknown dtype 'F31'");
  expect_rejected("end beyond data", ok, -1, 4, 0, "out of range");
  expect_rejected("begin after end",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", -1, 8, 0,
                  "out of range");
  expect_rejected("negative offset",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", -1, 8, 0,
                  "out of range");
  expect_rejected("overlap",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                  -1, 12, 0, "overlap");
  expect_rejected("same span twice",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                  -1, 4, 0, "overlap");
  expect_rejected("shape x dtype != span",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", -1, 8, 0,
                  "need 12 bytes");
  expect_rejected("I64 span too small",
                  "{\"a\":{\"dtype\":\"I64\",\"shape\":[2,1],\"data_offsets\":[0,8]}}", -1, 8, 0,
                  "need 16 bytes");
  expect_rejected("negative dim",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", -1, 8, 0,
                  "dim 0");
  expect_rejected("fractional dim",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", -1, 8, 0,
                  "dim 0");
  expect_rejected("missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", -1, 8, 0,
                  "data_offsets");
  expect_rejected("five dims",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}", -1, 8,
                  0, "5 dims");
  expect_rejected("a shape beyond 2^53 bytes",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[67108864,67108864],\"data_offsets\":"
                  "[0,0]}}",
                  -1, 0, 0, "tensor 'a' has a shape of more than 2^53 bytes");
  expect_rejected("duplicate name",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                  -1, 8, 0, "twice");
  expect_rejected("metadata not strings", "{\"__metadata__\":{\"step\":3}}", -1, 0, 0,
                  "metadata 'step'");
  rp_status st = rp_safetensors_open("/nonexistent-dir/none.safetensors", &f);
  cr_assert_neq(st, RP_OK);
  cr_assert(strstr(rp_error_message(), "/nonexistent-dir/none.safetensors"), "%s",
            rp_error_message());
}

/* Headers a damaged or hostile file may have: 50,000 empty tensors open (and one name among
 * them twice is refused) in the time of a sort, not of comparing every pair, which took
 * minutes; a header size above the reference reader's 100 MB is refused before it is read. */
Test(safetensors, large_headers) {
  enum { COUNT = 50000 };
  size_t size = (size_t)COUNT * 64 + 64;
  char *header = malloc(size);
  size_t used = (size_t)snprintf(header, size, "{");
  for (int i = 0; i < COUNT; i++)
    used += (size_t)snprintf(header + used, size - used,
                             "%s\"t%d\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}",
                             i ? "," : "", i);
  snprintf(header + used, size - used, "}");
  char path[512];
  path_in_dir(path, sizeof path, "many.safetensors");
  write_raw(path, header, -1, 0, 0);
  rp_safetensors *f;
  ASSERT_OK(rp_safetensors_open(path, &f));
  cr_assert_eq(rp_safetensors_count(f), COUNT);
  rp_safetensors_close(f);
  snprintf(header + used, size - used,
           ",\"t7\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}");
  expect_rejected("a name twice among many", header, -1, 0, 0, "tensor 't7' appears twice");
  free(header);

  /* A header size over the limit, in a (sparse) file large enough to hold it. */
  path_in_dir(path, sizeof path, "huge-header.safetensors");
  write_raw(path, "{}", RP_ST_MAX_HEADER + 1LL, 0, 0);
  cr_assert_eq(truncate(path, RP_ST_MAX_HEADER + 16LL), 0);
  f = (rp_safetensors *)(uintptr_t)1;
  cr_assert_neq(rp_safetensors_open(path, &f), RP_OK);
  cr_assert_null(f);
  char expected[700];
  snprintf(expected, sizeof expected,
           "safetensors %s: header of 100000001 bytes, more than the 100000000 a reader takes: "
           "damaged or not safetensors",
           path);
  cr_assert_str_eq(rp_error_message(), expected);
  remove(path);
}

/* A file a foreign writer laid out with an I64 tensor at a 4-byte offset: data is still handed
 * out aligned, with the right values. */
Test(safetensors, misaligned_foreign_layout) {
  char path[512];
  path_in_dir(path, sizeof path, "foreign.safetensors");
  const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[4,12]}}    ";
  size_t hlen = strlen(h);
  cr_assert_eq(hlen % 8, 0u, "fixture header of %zu bytes", hlen);
  write_raw(path, h, -1, 12, 0);
  FILE *fp = fopen(path, "r+b");
  fseek(fp, (long)(8 + hlen + 4), SEEK_SET);
  int64_t v = -123456789012345LL;
  fwrite(&v, 8, 1, fp);
  fclose(fp);
  rp_safetensors *f;
  ASSERT_OK(rp_safetensors_open(path, &f));
  const rp_named_tensor *t = rp_safetensors_find(f, "b");
  cr_assert((uintptr_t)t->data % 8 == 0);
  cr_assert_eq(*(const int64_t *)t->data, v);
  rp_safetensors_close(f);
}

/* ---- PyTorch interchange ---- */

Test(safetensors, pytorch_interchange) {
  const char *python = torch_python_or_skip("the PyTorch loader");
  char tools[400];
  torch_tools_dir(tools, sizeof tools);
  rp_named_tensor t[5];
  int n = sample_tensors(t);
  const char *keys[] = {"format", "step"};
  const char *values[] = {"pt", "1200"};
  char path[512], pypath[512], script[512];
  path_in_dir(path, sizeof path, "c_written.safetensors");
  path_in_dir(pypath, sizeof pypath, "py_written.safetensors");
  path_in_dir(script, sizeof script, "check.py");
  ASSERT_OK(rp_safetensors_write(path, t, n, keys, values, 2));

  /* One Python process (torch is slow to import): load what C wrote and check every value, run
   * the command-line listing, and write a file of its own for the C reader. */
  FILE *fp = fopen(script, "w");
  fprintf(fp,
          "import contextlib, io, runpy, sys\n"
          "import torch\n"
          "sys.path.insert(0, '%s')\n"
          "from safetensors_torch import load_file, load_metadata, save_file\n"
          "t = load_file(sys.argv[1])\n"
          "assert sorted(t) == ['empty', 'layer1.bias', 'layer2.weight', 'lr', 'step'], sorted(t)\n"
          "w = torch.arange(15, dtype=torch.float32).reshape(3, 5) * 0.5 - 3\n"
          "assert torch.equal(t['layer2.weight'], w), t['layer2.weight']\n"
          "b = 1.0 / torch.arange(1, 8, dtype=torch.float32)\n"
          "assert torch.equal(t['layer1.bias'], b), t['layer1.bias']\n"
          "s = torch.arange(3, dtype=torch.int64) * 1000000007 - 5000000000\n"
          "assert t['step'].dtype == torch.int64 and torch.equal(t['step'], s), t['step']\n"
          "assert t['lr'].shape == () and t['lr'].item() == 2.5\n"
          "assert t['empty'].shape == (0, 4)\n"
          "assert load_metadata(sys.argv[1]) == {'format': 'pt', 'step': '1200'}\n"
          "out = io.StringIO()\n"
          "argv, sys.argv = sys.argv, ['safetensors_torch.py', sys.argv[1]]\n"
          "with contextlib.redirect_stdout(out):\n"
          "    try:\n"
          "        runpy.run_path('%s/safetensors_torch.py', run_name='__main__')\n"
          "    except SystemExit as e:\n"
          "        assert e.code == 0, e.code\n"
          "sys.argv = argv\n"
          "assert 'layer2.weight\\tF32\\t[3, 5]' in out.getvalue(), out.getvalue()\n"
          "assert 'meta format = pt' in out.getvalue(), out.getvalue()\n"
          "save_file({'z': torch.linspace(-1, 1, 9).reshape(3, 3), 'a': torch.tensor([7, -9]),\n"
          "           'h': torch.tensor([1.5, -2.0], dtype=torch.float64)}, sys.argv[2],\n"
          "          {'origin': 'torch'})\n",
          tools, tools);
  fclose(fp);

  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' '%s' 2>&1", python, script, path, pypath);
  int rc = system(cmd);
  cr_assert(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "python check failed: %s", cmd);

  /* The C reader on the Python-written file. */
  rp_safetensors *f;
  ASSERT_OK(rp_safetensors_open(pypath, &f));
  cr_assert_eq(rp_safetensors_count(f), 3);
  cr_assert_str_eq(rp_safetensors_meta(f, "origin"), "torch");
  const rp_named_tensor *z = rp_safetensors_find(f, "z");
  cr_assert(z && strcmp(z->dtype, "F32") == 0 && z->ndim == 2 && z->shape[0] == 3);
  for (int i = 0; i < 9; i++) {
    float want = -1.0f + 0.25f * (float)i, got = ((const float *)z->data)[i];
    cr_assert(got == want, "z[%d] = %g, want %g", i, got, want);
  }
  const rp_named_tensor *a = rp_safetensors_find(f, "a");
  cr_assert(a && strcmp(a->dtype, "I64") == 0 && a->shape[0] == 2);
  cr_assert(((const int64_t *)a->data)[0] == 7 && ((const int64_t *)a->data)[1] == -9);
  const rp_named_tensor *h = rp_safetensors_find(f, "h");
  cr_assert(h && strcmp(h->dtype, "F64") == 0);
  cr_assert(((const double *)h->data)[0] == 1.5 && ((const double *)h->data)[1] == -2.0);
  rp_safetensors_close(f);
}
