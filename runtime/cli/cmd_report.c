/* repro report DIR: regenerates DIR/summary.md, DIR/results.json and DIR/figures/ from the run
 * records in DIR/runs/ alone (no device, no training). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "exp/driver.h"

int rp_cmd_report(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    bool help = argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    fprintf(help ? stdout : stderr,
            "usage: repro report DIR\n"
            "  DIR: an experiment's output directory (repro run --out), holding runs/*.json\n");
    return help ? 0 : 2;
  }
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
  printf("wrote %s/summary.md, %s/results.json, %s/figures/\n", dir, dir, dir);
  return 0;
}
