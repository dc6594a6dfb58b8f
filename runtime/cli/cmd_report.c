/* repro report DIR: regenerates DIR/summary.md, DIR/results.json and DIR/figures/ from the run
 * records in DIR/runs/ alone (no device, no training). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "exp/driver.h"

static void usage(FILE *out) {
  fprintf(out, "usage: repro report DIR\n"
               "  DIR: an experiment's output directory (repro run --out), holding runs/*.json\n");
}

int rp_cmd_report(int argc, char **argv) {
  int asked = rp_cli_usage_if_asked(argc, argv, usage);
  if (asked >= 0) return asked;
  if (argv[1][0] == '-') return rp_cli_usage_error("report", "unknown option '%s'", argv[1]);
  if (argc > 2)
    return rp_cli_usage_error("report", "one directory at a time: '%s' after '%s'", argv[2],
                              argv[1]);
  const char *dir = argv[1];
  char runs[4096];
  snprintf(runs, sizeof runs, "%s/runs", dir);
  struct stat s;
  if (stat(runs, &s) != 0 || !S_ISDIR(s.st_mode)) {
    fprintf(stderr, "repro: %s has no runs/ directory: not an experiment's output\n", dir);
    return 2;
  }
  rp_status st = rp_exp_report(dir);
  if (st) return rp_cli_error(st);
  rp_cli_print_report(dir);
  return 0;
}
