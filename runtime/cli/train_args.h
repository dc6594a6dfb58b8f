/* The training options `repro train` and `repro eval` share, parsed into an rp_train_config. */
#ifndef RP_TRAIN_ARGS_H
#define RP_TRAIN_ARGS_H

#include <cjson/cJSON.h>

#include "train/trainer.h"

typedef struct rp_train_args {
  rp_train_config cfg;
  const char *device;
  char loss_text[256];
} rp_train_args;

extern const char *const rp_train_args_help;

/* Parses argv (after the subcommand; argv[0] is its name, "train" or "eval", for the hint of an
 * error). `save` and `json` receive --save and --json (either may be NULL when the command has
 * no such option). Values are checked against the experiment schema's ranges. Returns 0, 1 for
 * --help, or 2 after printing a one-line error naming the option and the value. */
int rp_train_args_parse(int argc, char **argv, rp_train_args *a, const char **save,
                        const char **json);

/* The resolved configuration, for results files. */
cJSON *rp_train_args_json(const rp_train_args *a);

#endif
