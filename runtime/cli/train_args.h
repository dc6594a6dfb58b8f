/* The training options `repro train` and `repro eval` share, parsed into an rp_train_config. */
#ifndef RP_TRAIN_ARGS_H
#define RP_TRAIN_ARGS_H

#include <cjson/cJSON.h>

#include "train/trainer.h"

typedef struct rp_train_args {
  rp_train_config cfg;
  const char *device;
  char loss_text[256];
  /* The files given (NULL: not given), of the options the command takes (rp_train_files). */
  const char *save, *json, *state;
} rp_train_args;

/* The file options a command takes, or'ed. */
enum rp_train_files {
  RP_TRAIN_SAVE = 1,  /* --save CKPT */
  RP_TRAIN_JSON = 2,  /* --json FILE */
  RP_TRAIN_STATE = 4, /* --state FILE */
};

extern const char *const rp_train_args_help;

/* Parses argv (after the subcommand; argv[0] is its name, "train" or "eval", for the hint of an
 * error). `files` (rp_train_files) says which file options the command takes; another is an
 * unknown option. Values are checked against the experiment schema's ranges. Returns 0, 1 for
 * --help, or 2 after printing a one-line error naming the option and the value. */
int rp_train_args_parse(int argc, char **argv, rp_train_args *a, unsigned files);

/* Whether `opt` is an option of repro train (eval refuses those it has no use for by name). */
bool rp_train_args_option(const char *opt);

/* The resolved configuration, for results files. */
cJSON *rp_train_args_json(const rp_train_args *a);

#endif
