/* repro bench [--json FILE] [--device D] [--repeats N] [--batch B] [--profile] [NAME...]
 * repro bench --compare FILE...
 *
 * NAME is peak, copy, gemm256, gemm1024, gemm2048 or gemm (all three sizes), or
 * train_MODEL (a training step of MODEL at batch 128, in images/s); none means peak, copy,
 * the GEMMs, train_mnist_cnn and train_resnet20. The FMA peak is always measured, since every
 * compute figure is reported as a fraction of it. --profile times every dispatch of one
 * training step (through REPRO_PROFILE=1) and prints them summed by kernel, the costliest
 * first; the JSON has both. --compare prints results files of earlier runs side by side
 * (bench/compare.h), measuring nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/compare.h"
#include "cli/cli.h"
#include "io/json.h"
#include "nn/models.h"
#include "train/train_bench.h"

static const int gemm_sizes[] = {256, 1024, 2048};

static const char *default_train[] = {"train_mnist_cnn", "train_resnet20"};

static bool wanted(int names, char **list, const char *name) {
  if (names == 0) return true;
  for (int i = 0; i < names; i++) {
    if (strcmp(list[i], name) == 0) return true;
    if (strcmp(list[i], "gemm") == 0 && strncmp(name, "gemm", 4) == 0) return true;
  }
  return false;
}

static bool known(const char *name) {
  if (strncmp(name, "train_", 6) == 0 && name[6]) return true;
  const char *all[] = {"peak", "copy", "gemm", "gemm256", "gemm1024", "gemm2048"};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    if (strcmp(name, all[i]) == 0) return true;
  return false;
}

static void print_result(const rp_bench_result *r, double peak) {
  printf("%-10s %10.2f %-8s median %9.3f ms (min %.3f, max %.3f, %d runs)", r->name, r->value,
         r->unit, r->median_ms, r->min_ms, r->max_ms, r->repeats);
  if (peak > 0 && strcmp(r->unit, "GFLOP/s") == 0 && strcmp(r->name, "peak_fma") != 0)
    printf("  %5.1f%% of peak", 100.0 * r->value / peak);
  printf("\n");
  fflush(stdout);
}

/* ---- --profile: one step's dispatches, summed by kernel */

enum { PROFILE_KERNELS = 128 };

typedef struct profile_row {
  char shader[48]; /* a copy: the recorder's own names go with it */
  int dispatches;
  double ms;
} profile_row;

typedef struct profile_table {
  profile_row rows[PROFILE_KERNELS];
  int count;
  double total_ms;
  cJSON *dispatches; /* [[shader, ms], ...] in recording order */
} profile_table;

static void collect_profile(const char *shader, double ms, void *user) {
  profile_table *t = user;
  int i = 0;
  while (i < t->count && strcmp(t->rows[i].shader, shader) != 0) i++;
  if (i == t->count && t->count < PROFILE_KERNELS)
    snprintf(t->rows[t->count++].shader, sizeof t->rows[0].shader, "%s", shader);
  if (i < t->count) t->rows[i].dispatches++, t->rows[i].ms += ms;
  t->total_ms += ms;
  cJSON *d = cJSON_CreateArray();
  cJSON_AddItemToArray(d, cJSON_CreateString(shader));
  cJSON_AddItemToArray(d, cJSON_CreateNumber(ms));
  cJSON_AddItemToArray(t->dispatches, d);
}

static int by_time(const void *a, const void *b) {
  double x = ((const profile_row *)a)->ms, y = ((const profile_row *)b)->ms;
  return x > y ? -1 : x < y;
}

/* Prints the kernels of the profiled step, the costliest first, and adds them and every
 * dispatch to the result's JSON. */
static void report_profile(profile_table *t, cJSON *result) {
  qsort(t->rows, (size_t)t->count, sizeof *t->rows, by_time);
  printf("  one profiled step, %.1f ms (a timestamp after every dispatch slows it):\n",
         t->total_ms);
  cJSON *kernels = cJSON_CreateArray();
  for (int i = 0; i < t->count; i++) {
    const profile_row *r = &t->rows[i];
    printf("    %-30s %4d dispatches %10.1f ms %5.1f%%\n", r->shader, r->dispatches, r->ms,
           t->total_ms > 0 ? 100 * r->ms / t->total_ms : 0);
    cJSON *k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "shader", r->shader);
    cJSON_AddNumberToObject(k, "dispatches", r->dispatches);
    cJSON_AddNumberToObject(k, "ms", r->ms);
    cJSON_AddItemToArray(kernels, k);
  }
  cJSON *profile = cJSON_AddObjectToObject(result, "profile");
  cJSON_AddNumberToObject(profile, "total_ms", t->total_ms);
  cJSON_AddItemToObject(profile, "kernels", kernels);
  cJSON_AddItemToObject(profile, "dispatches", t->dispatches);
  t->dispatches = NULL;
}

static cJSON *result_json(const rp_bench_result *r, double peak) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "name", r->name);
  cJSON_AddNumberToObject(j, "value", r->value);
  cJSON_AddStringToObject(j, "unit", r->unit);
  cJSON_AddNumberToObject(j, "median_ms", r->median_ms);
  cJSON_AddNumberToObject(j, "min_ms", r->min_ms);
  cJSON_AddNumberToObject(j, "max_ms", r->max_ms);
  cJSON_AddNumberToObject(j, "repeats", r->repeats);
  cJSON_AddStringToObject(j, "detail", r->detail);
  if (peak > 0 && strcmp(r->unit, "GFLOP/s") == 0)
    cJSON_AddNumberToObject(j, "fraction_of_peak", r->value / peak);
  return j;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: repro bench [--json FILE] [--device D] [--repeats N] [--batch B] [--profile] "
          "[NAME...]\n"
          "  NAME         peak, copy, gemm256, gemm1024, gemm2048, gemm (all three), train_MODEL\n"
          "               (a training step of MODEL, images/s); none: peak, copy, the GEMMs,\n"
          "               train_mnist_cnn and train_resnet20. The FMA peak is always measured:\n"
          "               compute figures are reported as a fraction of it\n"
          "  --repeats N  timed repetitions per benchmark (median, min and max; default 5,\n"
          "               for training steps on CPU devices 3)\n"
          "  --batch B    batch of the training steps (default 128)\n"
          "  --profile    one training step's time by kernel (every dispatch in the JSON)\n"
          "  --json FILE  the device's capabilities and every result as JSON\n"
          "usage: repro bench --compare FILE...\n"
          "  --compare    results files of --json side by side as a Markdown table (a column\n"
          "               per device, and each over the first; a ratio of steps at unlike\n"
          "               batches, or of fp32 against TF32 math, flagged); measures nothing\n");
}

/* repro bench --compare FILE...: every other argument a results file. */
static int compare(int argc, char **argv) {
  const char **paths = calloc((size_t)argc, sizeof *paths);
  if (!paths) return rp_cli_error(rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory"));
  int count = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--compare") == 0) continue;
    if (argv[i][0] == '-') {
      free(paths);
      return rp_cli_usage_error("bench", "--compare takes results files only, not '%s'", argv[i]);
    }
    if (!argv[i][0]) {
      free(paths);
      return rp_cli_usage_error("bench", "--compare needs results files, not ''");
    }
    paths[count++] = argv[i];
  }
  if (count == 0) {
    free(paths);
    return rp_cli_usage_error("bench", "--compare needs results files (of repro bench --json)");
  }
  char *table = NULL;
  rp_status st = rp_bench_compare(paths, count, &table);
  free(paths);
  if (st) return rp_cli_error(st);
  fputs(table, stdout);
  free(table);
  return 0;
}

int rp_cmd_bench(int argc, char **argv) {
  const char *json_path = NULL, *device = NULL;
  int repeats = 5, batch = 128;
  bool profile = false, repeats_given = false, batch_given = false;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    }
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--compare") == 0) return compare(argc, argv);
  char **names = calloc((size_t)argc, sizeof *names);
  if (!names) return rp_cli_error(rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory"));
  int name_count = 0, code = 0;
  for (int i = 1; i < argc && !code; i++) {
    const char *opt = argv[i], *v = NULL;
    long long n = 0;
    if (strcmp(opt, "--profile") == 0) {
      profile = true;
    } else if (strcmp(opt, "--json") == 0 || strcmp(opt, "--device") == 0 ||
               strcmp(opt, "--batch") == 0 || strcmp(opt, "--repeats") == 0) {
      if (!rp_cli_take_value(argc, argv, &i, &v))
        code = rp_cli_usage_error("bench", "%s needs a value", opt);
      else if (!*v)
        code = rp_cli_usage_error("bench", "%s needs a value, not ''", opt);
      else if (strcmp(opt, "--json") == 0)
        json_path = v;
      else if (strcmp(opt, "--device") == 0)
        device = v;
      else if (!rp_cli_parse_int("bench", opt, v, 1, strcmp(opt, "--batch") == 0 ? 4096 : 1000, &n))
        code = 2;
      else if (strcmp(opt, "--batch") == 0)
        batch = (int)n, batch_given = true;
      else
        repeats = (int)n, repeats_given = true;
    } else if (opt[0] == '-') {
      code = rp_cli_usage_error("bench", "unknown option '%s'", opt);
    } else if (strncmp(opt, "train_", 6) == 0 && !rp_model_parse(opt + 6, NULL)) {
      code = rp_cli_usage_error("bench", "%s: unknown model '%s' (models: %s)", opt, opt + 6,
                                rp_model_names);
    } else if (known(opt)) {
      for (int k = 0; k < name_count && !code; k++)
        if (strcmp(names[k], opt) == 0)
          code = rp_cli_usage_error("bench", "%s is named twice", opt);
      names[name_count++] = argv[i];
    } else {
      code = rp_cli_usage_error(
          "bench",
          "unknown benchmark '%s' (peak, copy, gemm, gemm256, gemm1024, gemm2048, train_MODEL)",
          opt);
    }
  }
  /* --profile times training steps: the default list has them, or a name must be one. */
  bool any_train = name_count == 0;
  for (int i = 0; i < name_count; i++) any_train |= strncmp(names[i], "train_", 6) == 0;
  if (!code && profile && !any_train)
    code = rp_cli_usage_error("bench", "--profile times training steps; name a train_MODEL");
  if (!code && batch_given && !any_train)
    code = rp_cli_usage_error("bench", "--batch is the training steps' batch; name a train_MODEL");
  /* The results file is checked before minutes of measuring. */
  if (!code && json_path && !rp_cli_check_writable("bench", "--json", json_path)) code = 2;
  if (code) {
    free(names);
    return code;
  }
  if (profile) setenv("REPRO_PROFILE", "1", 1);

  rp_context *ctx;
  rp_status st = rp_cli_open_device(device, &ctx);
  if (st) {
    free(names);
    return rp_cli_error(st);
  }
  const rp_caps *caps = rp_context_caps(ctx);
  printf("device %u: %s (%s, %s %s)\n", caps->index, caps->name,
         rp_device_class_name(caps->device_class), caps->driver_name, caps->driver_info);

  cJSON *root = rp_cli_json_header(caps);
  cJSON *results = cJSON_AddArrayToObject(root, "results");

  rp_bench_result r;
  st = rp_bench_peak(ctx, repeats, &r);
  double peak = st == RP_OK ? r.value : 0.0;
  if (st == RP_OK) {
    print_result(&r, peak);
    cJSON_AddItemToArray(results, result_json(&r, peak));
  }
  if (st == RP_OK && wanted(name_count, names, "copy")) {
    st = rp_bench_copy(ctx, repeats, &r);
    if (st == RP_OK) {
      print_result(&r, peak);
      cJSON_AddItemToArray(results, result_json(&r, peak));
    }
  }
  rp_gemm_tuning tuning = rp_gemm_default_tuning(caps);
  for (size_t i = 0; st == RP_OK && i < sizeof gemm_sizes / sizeof *gemm_sizes; i++) {
    char name[16];
    snprintf(name, sizeof name, "gemm%d", gemm_sizes[i]);
    if (!wanted(name_count, names, name)) continue;
    st = rp_bench_gemm(ctx, gemm_sizes[i], &tuning, repeats, &r);
    if (st == RP_OK) {
      print_result(&r, peak);
      cJSON_AddItemToArray(results, result_json(&r, peak));
    }
  }
  /* Training steps: those named, or the default pair. Slow on CPU devices, so fewer
   * repeats there unless --repeats says otherwise. */
  int train_count = 0;
  const char **train = calloc((size_t)argc + 2, sizeof *train);
  if (name_count == 0)
    for (size_t i = 0; i < sizeof default_train / sizeof *default_train; i++)
      train[train_count++] = default_train[i];
  for (int i = 0; i < name_count; i++)
    if (strncmp(names[i], "train_", 6) == 0) train[train_count++] = names[i];
  bool cpu = caps->device_class == RP_CLASS_CPU;
  for (int i = 0; st == RP_OK && i < train_count; i++) {
    profile_table table = {.dispatches = cJSON_CreateArray()};
    st = rp_bench_train_step(ctx, train[i] + 6, batch, cpu ? 1 : 20,
                             cpu && !repeats_given ? 3 : repeats, &r,
                             profile ? collect_profile : NULL, &table);
    if (st == RP_OK) {
      print_result(&r, peak);
      cJSON *result = result_json(&r, peak);
      cJSON_AddNumberToObject(result, "batch", batch); /* for bench --compare */
      if (profile) report_profile(&table, result);
      cJSON_AddItemToArray(results, result);
    }
    cJSON_Delete(table.dispatches);
  }
  free(train);
  code = st == RP_OK ? 0 : rp_cli_error(st);
  if (st == RP_OK && json_path) {
    st = rp_json_write_file(json_path, root);
    if (st)
      code = rp_cli_error(st);
    else
      printf("wrote %s\n", json_path);
  }
  cJSON_Delete(root);
  rp_context_destroy(ctx);
  free(names);
  return code;
}
