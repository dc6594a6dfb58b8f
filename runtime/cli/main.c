/* repro: a portable GPU benchmark and reproduction suite on Vulkan compute. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: repro COMMAND [OPTIONS]\n"
          "\n"
          "commands:\n"
          "  devices [--json]                      list Vulkan devices and their capabilities\n"
          "  bench [--json FILE] [--device D] [--repeats N] [--batch B] [--profile] [NAME...]\n"
          "                                        measure FMA peak, copy bandwidth, GEMM,\n"
          "                                        training steps (repro bench --help)\n"
          "  train --model M --dataset D [...]     train a network (repro train --help)\n"
          "  eval --checkpoint CKPT [...]          test accuracy of a checkpoint\n"
          "  taylorglo analyze --theta a1,..,a6,t0,t1 [--classes N] [--convention code|paper]\n"
          "            [--invariant code|softmax] [--smoothing A] [--curves CSV] [--json FILE]\n"
          "                                        analyse a TaylorGLO loss without training\n"
          "  data fetch|info NAME [--dir D]        download a dataset / show where it is\n"
          "                                        (cifar10, cifar100, mnist, fashion-mnist)\n"
          "  run FILE [--out DIR] [--device D] [--dry-run]\n"
          "                                        run an experiment file (docs/experiments.md)\n"
          "  report DIR                            summary.md, results.json, figures of DIR\n"
          "  version                               print the version and commit\n"
          "  help [COMMAND]                        this, or COMMAND's options\n"
          "\n"
          "environment:\n"
          "  REPRO_DEVICE=N|NAME    device to use (index or part of its name)\n"
          "  REPRO_VALIDATE=1       enable the Khronos validation layer\n"
          "  REPRO_FULL_BARRIERS=1  a barrier between every pair of dispatches\n"
          "  REPRO_CACHE_DIR=DIR    where compiled pipelines are cached\n"
          "  REPRO_DATA_DIR=DIR     where datasets are looked for (DIR/NAME)\n"
          "  REPRO_PROGRESS_INTERVAL=S  seconds between progress lines when stderr is not a\n"
          "                         terminal (default 30)\n"
          "  REPRO_STATE_INTERVAL=S  seconds between saves of a training's state, for\n"
          "                         resuming (default 60)\n"
          "  REPRO_DATA_ANY_SIZE=1  accept CIFAR files of other than the official sizes\n"
          "  REPRO_PROFILE=1        a timestamp after every dispatch\n"
          "  REPRO_POISON_SCRATCH=1  NaN over every scratch buffer an op asks for (tests)\n"
          "  REPRO_BIND_SLACK=1     bindings reach 256 bytes past their tensors (tests)\n"
          "  REPRO_GEMM, REPRO_CONV, REPRO_TEXEL  force a kernel, for tuning (README.md)\n"
          "  REPRO_NO_QUIRKS=1, REPRO_NO_QUIRK_NAME=1  turn off driver workarounds\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  /* help, --help and -h: the usage, or with a command, that command's (repro COMMAND --help) */
  const char *first = argv[1];
  bool help =
      strcmp(first, "help") == 0 || strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0;
  if (help && argc > 3)
    return rp_cli_usage_error(NULL, "%s takes one command at most: '%s' after '%s'", first, argv[3],
                              argv[2]);
  bool help_of_help = argc == 3 && (strcmp(argv[2], "help") == 0 ||
                                    strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0);
  if (help && (argc == 2 || help_of_help)) {
    usage(stdout);
    return 0;
  }
  char asked_help[] = "--help";
  char *asked[] = {argv[0], help ? argv[2] : NULL, asked_help, NULL};
  if (help) argv = asked;
  const char *cmd = argv[1];
  static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
  } commands[] = {
      {"devices", rp_cmd_devices}, {"bench", rp_cmd_bench},         {"train", rp_cmd_train},
      {"eval", rp_cmd_eval},       {"taylorglo", rp_cmd_taylorglo}, {"data", rp_cmd_data},
      {"run", rp_cmd_run},         {"report", rp_cmd_report}};
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
    if (strcmp(cmd, commands[i].name) != 0) continue;
    int repeated = rp_cli_refuse_repeats(cmd, argc - 1, argv + 1);
    return repeated >= 0 ? repeated : commands[i].run(argc - 1, argv + 1);
  }
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
      printf("usage: repro version\n  the version and the commit repro was built from\n");
      return 0;
    }
    if (argc > 2) return rp_cli_usage_error(NULL, "%s takes no arguments, not '%s'", cmd, argv[2]);
    printf("repro %s (commit %s)\n", REPRO_VERSION, rp_build_commit);
    return 0;
  }
  return rp_cli_usage_error(NULL, "unknown command '%s'", cmd);
}
