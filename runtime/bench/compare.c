/* Benchmark results side by side (bench/compare.h). The files are read whole and checked before
 * anything is printed, so a damaged one gives its one-line error and no half table. */
#include "bench/compare.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"

/* A result's value, which reading its file checked to be a number. */
static double value_of(const cJSON *r) {
  return cJSON_GetObjectItemCaseSensitive(r, "value")->valuedouble;
}

/* One results file, checked: every result has a name, a numeric value and a unit. */
typedef struct bench_file {
  const char *path;
  cJSON *root;
  const cJSON *results;
  const char *device, *driver, *date;
  char software[96]; /* "repro 0.1.0", or a peer's: "pytorch 2.11.0+cu130" */
  char math[64];     /* "fp32", or a peer's TF32 settings; "?" where the file does not say */
} bench_file;

static const char *string_of(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static rp_status load(const char *path, bench_file *f) {
  *f = (bench_file){.path = path};
  char *text;
  size_t size;
  rp_status st = rp_file_read(path, &text, &size);
  /* (a results file that is not there is bad input, as one that is not JSON) */
  if (st)
    return rp_fail(st == RP_ERR_OUT_OF_MEMORY ? st : RP_ERR_INVALID_ARGUMENT, "%s",
                   rp_error_message());
  f->root = cJSON_ParseWithLength(text, size);
  free(text);
  if (!f->root) return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s is not JSON", path);
  const cJSON *device = cJSON_GetObjectItemCaseSensitive(f->root, "device");
  f->results = cJSON_GetObjectItemCaseSensitive(f->root, "results");
  f->device = string_of(device, "name");
  if (!f->device)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: $.device.name is not a string (not a file of "
                   "repro bench --json?)",
                   path);
  if (!cJSON_IsArray(f->results))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: $.results is not a list", path);
  int k = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, f->results) {
    const char *bad = !string_of(r, "name")                                           ? "name"
                      : !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r, "value")) ? "value"
                      : !string_of(r, "unit")                                         ? "unit"
                                                                                      : NULL;
    if (bad)
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "%s: $.results[%d].%s is missing or of the wrong "
                     "type",
                     path, k, bad);
    /* Every measure is a rate or a time: one of 0 or below is a damaged file, and a ratio to
     * it would mean nothing. */
    if (!(value_of(r) > 0))
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: $.results[%d].value is %g, not above 0", path, k,
                     value_of(r));
    /* A second result of one name would show in no row (rows find results by name). */
    const cJSON *earlier;
    int j = 0;
    cJSON_ArrayForEach(earlier, f->results) {
      if (j++ == k) break;
      if (strcmp(string_of(earlier, "name"), string_of(r, "name")) == 0)
        return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: $.results[%d] repeats %s of [%d]", path, k,
                       string_of(r, "name"), j - 1);
    }
    k++;
  }
  /* Driver: the version string the driver reports, else its name (repro's files), or what a
   * peer's file says (bench/pytorch_peer.py: CUDA and cuDNN versions). */
  static const char *const driver_keys[] = {"driver_info", "driver_name", "driver"};
  for (int i = 0; i < 3 && (!f->driver || !*f->driver); i++)
    f->driver = string_of(device, driver_keys[i]);
  if (!f->driver || !*f->driver) f->driver = "?";
  f->date = string_of(f->root, "date");
  const char *version = string_of(f->root, "repro_version"), *peer = string_of(f->root, "peer");
  const char *peer_version = string_of(f->root, "torch_version");
  if (version)
    snprintf(f->software, sizeof f->software, "repro %s", version);
  else if (peer)
    snprintf(f->software, sizeof f->software, "%s%s%s", peer, peer_version ? " " : "",
             peer_version ? peer_version : "");
  else
    snprintf(f->software, sizeof f->software, "?");
  /* Math: repro computes in full fp32; a peer's file says (bench/precision.py's names). */
  const cJSON *math = cJSON_GetObjectItemCaseSensitive(device, "fp32_math");
  const char *conv = string_of(math, "conv"), *matmul = string_of(math, "matmul");
  if (version || (conv && matmul && strcmp(conv, "ieee") == 0 && strcmp(matmul, "ieee") == 0))
    snprintf(f->math, sizeof f->math, "fp32");
  else if (conv && matmul)
    snprintf(f->math, sizeof f->math, "conv %.20s, matmul %.20s", conv, matmul);
  else
    snprintf(f->math, sizeof f->math, "?");
  return RP_OK;
}

/* The result named `name` in f, or NULL. */
static const cJSON *find(const bench_file *f, const char *name) {
  const cJSON *r;
  cJSON_ArrayForEach(r, f->results) {
    if (strcmp(string_of(r, "name"), name) == 0) return r;
  }
  return NULL;
}

/* The batch a training step was measured at: its "batch", or in files from before that member
 * the "batch N" of its detail; 0 where neither says. */
static int batch_of(const cJSON *r) {
  const cJSON *batch = cJSON_GetObjectItemCaseSensitive(r, "batch");
  if (cJSON_IsNumber(batch)) return batch->valueint;
  const char *detail = string_of(r, "detail"), *at = detail ? strstr(detail, "batch ") : NULL;
  int n = 0;
  return at && sscanf(at, "batch %d", &n) == 1 ? n : 0;
}

/* Whether r was measured at a batch other than base's, where both say. */
static bool unlike_batch(const cJSON *base, const cJSON *r) {
  int a = base ? batch_of(base) : 0, b = r ? batch_of(r) : 0;
  return a > 0 && b > 0 && a != b;
}

/* Text in a table cell: '|' and '\\' escaped and line breaks as spaces, so that no name in a
 * file can split the row. */
static void text_of(FILE *out, const char *text) {
  for (const char *c = text; *c; c++) {
    if (*c == '|' || *c == '\\') fputc('\\', out);
    fputc(*c == '\n' || *c == '\r' ? ' ' : *c, out);
  }
}

static void cell(FILE *out, const char *text) {
  fputs("| ", out);
  text_of(out, text);
  fputc(' ', out);
}

/* A rate or a ratio: whole numbers from 1000 up (62055 GFLOP/s, 1069x), `digits` significant
 * digits below (and from 1e15 up, where whole numbers would run long). */
static void number(FILE *out, double v, int digits) {
  if (fabs(v) >= 1000 && fabs(v) < 1e15)
    fprintf(out, "%.0f", v);
  else
    fprintf(out, "%.*g", digits, v);
}

/* The header rows: device, driver, date, version; a ratio column per file after the first. */
static void header(FILE *out, const bench_file *files, int count) {
  char text[512];
  fputs("| ", out);
  for (int i = 0; i < count; i++) {
    snprintf(text, sizeof text, "%d: %s", i + 1, files[i].device);
    cell(out, text);
  }
  for (int i = 1; i < count; i++) fprintf(out, "| %d / 1 ", i + 1);
  fputs("|\n|---", out);
  for (int i = 0; i < 2 * count - 1; i++) fputs("|---:", out);
  fputs("|\n", out);
  static const char *const rows[] = {"software", "driver", "math", "date"};
  for (int row = 0; row < 4; row++) {
    fprintf(out, "| %s ", rows[row]);
    for (int i = 0; i < count; i++) {
      const char *v = row == 0   ? files[i].software
                      : row == 1 ? files[i].driver
                      : row == 2 ? files[i].math
                                 : files[i].date;
      /* the day of an ISO date-time: 2026-11-27 */
      snprintf(text, sizeof text, "%.*s", row == 3 ? 10 : 500, v ? v : "?");
      cell(out, text);
    }
    for (int i = 1; i < count; i++) fputs("| ", out);
    fputs("|\n", out);
  }
}

/* The row of benchmark `name` (first named with `unit`). A value measured at another batch than
 * the first file's says its batch, and its ratio is marked with a dagger; returns whether any
 * was. */
static bool row(FILE *out, const bench_file *files, int count, const char *name, const char *unit) {
  const cJSON *base = find(&files[0], name);
  bool unlike = false;
  fputs("| ", out);
  text_of(out, name);
  fputs(" (", out);
  text_of(out, unit);
  fputs(") ", out);
  for (int i = 0; i < count; i++) {
    const cJSON *r = find(&files[i], name);
    fputs("| ", out);
    if (!r) {
      fputs("— ", out);
      continue;
    }
    number(out, value_of(r), 4);
    if (strcmp(string_of(r, "unit"), unit) != 0) {
      fputc(' ', out);
      text_of(out, string_of(r, "unit"));
    }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(r, "fraction_of_peak");
    if (cJSON_IsNumber(f) && strcmp(name, "peak_fma") != 0)
      fprintf(out, " (%.0f%% of peak)", 100 * f->valuedouble);
    if (unlike_batch(base, r)) fprintf(out, " (batch %d)", batch_of(r));
    fputc(' ', out);
  }
  for (int i = 1; i < count; i++) {
    const cJSON *r = find(&files[i], name);
    /* only a rate over the same unit's: otherwise the quotient means nothing */
    bool comparable = base && r && strcmp(string_of(r, "unit"), string_of(base, "unit")) == 0;
    if (comparable) {
      fputs("| ", out);
      number(out, value_of(r) / value_of(base), 3);
      if (unlike_batch(base, r)) fputs("†", out), unlike = true;
      fputc(' ', out);
    } else
      fputs("| — ", out);
  }
  fputs("|\n", out);
  return unlike;
}

/* The notes under the table: ratios that compare unlike work. */
static void notes(FILE *out, const bench_file *files, int count, bool unlike_batches) {
  if (unlike_batches)
    fputs("\n† measured at another batch than file 1's: the ratio compares unlike work.\n", out);
  bool unlike_math = false;
  for (int i = 1; i < count; i++)
    unlike_math |= strcmp(files[i].math, "?") != 0 && strcmp(files[0].math, "?") != 0 &&
                   strcmp(files[i].math, files[0].math) != 0;
  if (unlike_math)
    fputs("\nThe files differ in math: TF32 rounds fp32 inputs to a 10-bit mantissa on tensor "
          "cores, so its rates are not full fp32's.\n",
          out);
}

rp_status rp_bench_compare(const char *const *paths, int count, char **markdown) {
  *markdown = NULL;
  if (count < 1) return rp_fail(RP_ERR_INVALID_ARGUMENT, "no results file to compare");
  bench_file *files = calloc((size_t)count, sizeof *files);
  if (!files) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  rp_status st = RP_OK;
  for (int i = 0; i < count && !st; i++) st = load(paths[i], &files[i]);
  char *text = NULL;
  size_t size = 0;
  FILE *out = st ? NULL : open_memstream(&text, &size);
  if (!st && !out) st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  if (!st) {
    header(out, files, count);
    bool unlike_batches = false;
    /* Every benchmark once, in the order the files first name it. */
    for (int i = 0; i < count; i++) {
      const cJSON *r;
      cJSON_ArrayForEach(r, files[i].results) {
        const char *name = string_of(r, "name");
        bool seen = false;
        for (int j = 0; j < i && !seen; j++) seen = find(&files[j], name) != NULL;
        if (!seen && find(&files[i], name) == r)
          unlike_batches |= row(out, files, count, name, string_of(r, "unit"));
      }
    }
    notes(out, files, count, unlike_batches);
    if (fclose(out) != 0 || !text) st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  }
  for (int i = 0; i < count; i++) cJSON_Delete(files[i].root);
  free(files);
  if (st) {
    free(text);
    return st;
  }
  *markdown = text;
  return RP_OK;
}
