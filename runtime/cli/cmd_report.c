/* repro report DIR: regenerates DIR/summary.md, DIR/results.json and DIR/figures/ from the run
 * records in DIR/runs/ alone (no device, no training). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "exp/driver.h"
#include "exp/files.h"

static void usage(FILE *out) {
  fprintf(out, "usage: repro report DIR\n"
               "  DIR: an experiment's output directory (repro run --out), holding runs/*.json\n");
}

int rp_cmd_report(int argc, char **argv) {
  int asked = rp_cli_usage_if_asked(argc, argv, usage);
  if (asked >= 0) return asked;
  if (argv[1][0] == '-') return rp_cli_usage_error("report", "unknown option '%s'", argv[1]);
  if (!argv[1][0]) return rp_cli_usage_error("report", "a results directory is needed, not ''");
  if (argc > 2)
    return rp_cli_usage_error("report", "one directory at a time: '%s' after '%s'", argv[2],
                              argv[1]);
  char dir[4096], runs[4200];
  rp_cli_dir_arg(argv[1], dir, sizeof dir);
  snprintf(runs, sizeof runs, "%s/runs", dir);
  struct stat s;
  if (stat(dir, &s) != 0) {
    fprintf(stderr, "repro: %s: %s\n", dir, strerror(errno));
    return 2;
  }
  if (!S_ISDIR(s.st_mode)) {
    fprintf(stderr, "repro: %s is not a directory\n", dir);
    return 2;
  }
  if (stat(runs, &s) != 0 || !S_ISDIR(s.st_mode)) {
    fprintf(stderr, "repro: %s has no runs/ directory: not an experiment's output\n", dir);
    return 2;
  }
  /* not while a repro run works on it: it writes the same files */
  rp_exp_lock lock;
  rp_status st = rp_exp_lock_dir(dir, &lock);
  if (st) return rp_cli_error(st);
  st = rp_exp_report(dir);
  rp_exp_unlock_dir(&lock);
  if (st) return rp_cli_error(st);
  rp_cli_print_report(dir);
  return 0;
}
