/* repro data fetch|info NAME [--dir D]: download a dataset, or say where it is and what it
 * holds. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "data/fetch.h"

static void usage(FILE *out) {
  fprintf(out, "usage: repro data fetch|info cifar10|cifar100|mnist|fashion-mnist [--dir D]\n"
               "  fetch  download (md5-checked) and unpack into D itself; without --dir into\n"
               "         $REPRO_DATA_DIR/NAME, else ~/.cache/repro/data/NAME, where training\n"
               "         looks by itself (files in a D of your own need --data-dir D, or\n"
               "         dataset.dir in an experiment file)\n"
               "  info   where the dataset is found (in D itself with --dir) and what it holds\n");
}

/* A line about one loaded split (and, for the training split, its normalization). */
static void print_split(const rp_dataset *ds, bool train) {
  int64_t per_class[256] = {0};
  for (int64_t i = 0; i < ds->count; i++) per_class[ds->labels[i]]++;
  int64_t lo = ds->count, hi = 0;
  for (int c = 0; c < ds->classes; c++) {
    lo = per_class[c] < lo ? per_class[c] : lo;
    hi = per_class[c] > hi ? per_class[c] : hi;
  }
  printf("  %-5s %6lld images %dx%dx%d, %d classes (%lld..%lld per class)%s\n        from %s\n",
         train ? "train" : "test", (long long)ds->count, ds->channels, ds->height, ds->width,
         ds->classes, (long long)lo, (long long)hi,
         ds->partial ? " PARTIAL: not all of data_batch_1..5" : "", ds->dir);
  if (train) {
    printf("  normalization: mean");
    for (int c = 0; c < ds->channels; c++) printf(" %.4f", ds->mean[c]);
    printf(", std");
    for (int c = 0; c < ds->channels; c++) printf(" %.4f", ds->std[c]);
    printf("\n");
  }
}

/* Loads both splits, then prints `heading` and a line about each: a failure (the training
 * split's first, whose message the test split's would repeat) prints nothing on stdout, so
 * that what a redirected output holds is the whole description or nothing. Returns 0 or the
 * error's exit status. */
static int describe(const char *heading, const char *name, const char *dir) {
  rp_dataset train, test;
  rp_status st = rp_dataset_load(name, dir, true, &train);
  if (st) return rp_cli_error(st);
  st = rp_dataset_load(name, dir, false, &test);
  if (st) {
    rp_dataset_free(&train);
    return rp_cli_error(st);
  }
  printf("%s\n", heading);
  print_split(&train, true);
  print_split(&test, false);
  rp_dataset_free(&train);
  rp_dataset_free(&test);
  return 0;
}

int rp_cmd_data(int argc, char **argv) {
  int asked = rp_cli_usage_if_asked(argc, argv, usage);
  if (asked >= 0) return asked;
  const char *action = argv[1], *name = NULL, *dir = NULL;
  if (strcmp(action, "fetch") != 0 && strcmp(action, "info") != 0)
    return rp_cli_usage_error("data", "unknown action '%s' (fetch or info)", action);
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--dir") == 0) {
      if (!rp_cli_take_value(argc, argv, &i, &dir))
        return rp_cli_usage_error("data", "--dir needs a value");
      if (!*dir) return rp_cli_usage_error("data", "--dir needs a value, not ''");
    } else if (a[0] == '-') {
      return rp_cli_usage_error("data", "unknown option '%s'", a);
    } else if (name) {
      return rp_cli_usage_error("data", "one dataset at a time: '%s' after '%s'", a, name);
    } else {
      name = a;
    }
  }
  if (!name)
    return rp_cli_usage_error(
        "data", "%s needs a dataset (cifar10, cifar100, mnist, fashion-mnist)", action);
  if (!rp_dataset_known(name))
    return rp_cli_usage_error(
        "data", "unknown dataset '%s' (cifar10, cifar100, mnist, fashion-mnist)", name);
  if (strcmp(action, "fetch") == 0) {
    char where[1024] = "";
    rp_status st = rp_data_fetch(name, dir, where, sizeof where);
    if (st) return rp_cli_error(st);
    /* Load what was placed, so a bad file shows now rather than at training time. */
    char heading[1200];
    snprintf(heading, sizeof heading, "%s: files in %s", name, where);
    return describe(heading, name, where);
  }
  if (strcmp(action, "info") == 0) return describe(name, name, dir);
  return 2; /* not reached: the action was checked above */
}
