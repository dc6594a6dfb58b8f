/* The `repro` command: one file per subcommand, each taking argc/argv after its name and
 * returning the process exit status. Only this layer prints and exits.
 *
 * Exit statuses: 0 success; 1 a failure while working (a device, a file that cannot be read or
 * written once work has begun, a diverged run); 2 bad input, found before any work starts: a bad
 * command line (an option given twice, an input file that is not there, an output that cannot
 * be created), or a file whose contents are wrong (a malformed experiment file, a checkpoint
 * without repro's metadata, a damaged or hand-edited run record or search state, one made with
 * another configuration). Bad input gets one line on stderr naming the option, file or value; the
 * full usage goes out only for --help (to stdout) or a command given no arguments at all. */
#ifndef RP_CLI_H
#define RP_CLI_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vk/caps.h"
#include "vk/status.h"

/* The git commit the binary was built from, "+dirty" where tracked sources differed from it,
 * "unknown" where it was not built from a git checkout (cmake/build_commit.cmake). */
extern const char rp_build_commit[];

int rp_cmd_devices(int argc, char **argv);
int rp_cmd_bench(int argc, char **argv);
int rp_cmd_train(int argc, char **argv);
int rp_cmd_eval(int argc, char **argv);
int rp_cmd_taylorglo(int argc, char **argv);
int rp_cmd_data(int argc, char **argv);
int rp_cmd_run(int argc, char **argv);
int rp_cmd_report(int argc, char **argv);

/* Prints "repro: <message>" for the last failure and returns the exit status for it. */
int rp_cli_error(rp_status status);

/* The device a command works on: `device` (its --device), else REPRO_DEVICE, else repro's
 * choice. A request that matches no device names where it came from; the kernel-choice
 * variables (REPRO_GEMM, REPRO_CONV, REPRO_TEXEL) are checked before any work. */
struct rp_context;
rp_status rp_cli_open_device(const char *device, struct rp_context **ctx);
/* Whether the device `device` (or else REPRO_DEVICE) asks for exists, without opening it:
 * the same error as rp_cli_open_device's where it does not; the automatic choice is not
 * checked. For repro run --dry-run, which opens no device. */
rp_status rp_cli_check_device(const char *device);

/* The usage, where it is the answer: for a bare command (argc < 2) to stderr with status 2,
 * for --help or -h anywhere among its arguments to stdout with status 0. Returns that status,
 * or -1 when neither applies. */
int rp_cli_usage_if_asked(int argc, char **argv, void (*usage)(FILE *out));

/* A bad command line of `command` ("train", "data fetch"; NULL for repro itself): prints
 * "repro: <message> (see repro <command> --help)" as one line and returns 2. */
int rp_cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A command line of `command` that gives an option twice ("--epochs 3 ... --epochs 30"): prints
 * one line naming it and returns 2, rather than let one of the two win unseen. Returns -1
 * when every option is given once, or when --help or -h is among them (the usage is then the
 * answer). */
int rp_cli_refuse_repeats(const char *command, int argc, char **argv);

/* The value of the option argv[*i]: advances *i and returns true, or returns false when there
 * is none (the option is last, or the next argument is another option, "--..."), so that
 * "--epochs" alone reads "--epochs needs a value" rather than an unknown argument. */
bool rp_cli_take_value(int argc, char **argv, int *i, const char **value);

/* Strict conversions of an option's value: the whole text must be the number, within the
 * range. On failure they print "repro: OPT expects ..., not 'TEXT' (see repro COMMAND --help)"
 * and return false. `lo_open` / `hi_open` exclude that bound. */
bool rp_cli_parse_int(const char *command, const char *opt, const char *text, long long lo,
                      long long hi, long long *out);
bool rp_cli_parse_number(const char *command, const char *opt, const char *text, double lo,
                         bool lo_open, double hi, bool hi_open, double *out);

/* Checks before any work that an output file given as `opt` can be written: its directory
 * exists and takes a new file (one is created and removed), and `path` is not a directory.
 * Prints one line naming the option, the path and the reason and returns false otherwise, so
 * that a long training is not lost to a typo in --save. */
bool rp_cli_check_writable(const char *command, const char *opt, const char *path);

/* Checks before any work that an input file given as `opt` (a checkpoint to evaluate or start
 * from) is there and readable: prints "repro: OPT PATH: REASON (see repro COMMAND --help)" and
 * returns false otherwise, so that a typo in a path is bad input (status 2) found before a
 * device is opened or a dataset loaded. */
bool rp_cli_check_readable(const char *command, const char *opt, const char *path);

/* A directory argument into `out` without its trailing slashes ("/" stays), for the paths
 * printed under it: DIR/summary.md, not DIR//summary.md. */
void rp_cli_dir_arg(const char *arg, char *out, size_t size);

/* Checks before any work that the files named by `count` options (opts[i] naming paths[i]; a
 * NULL path is an option not given) are different files, as written or through links: one
 * command's outputs written over each other or over its input would lose one of them (a
 * checkpoint saved, then removed as the run's state). Prints "repro: OPT and OPT name the same
 * file, PATH (see repro COMMAND --help)" and returns false otherwise. */
bool rp_cli_check_distinct(const char *command, const char *const *opts, const char *const *paths,
                           int count);

/* Seconds between saves of a training's state (repro run's runs/<id>.state and search
 * candidates, repro train --state): REPRO_STATE_INTERVAL, default 60. An interruption loses at
 * most this much training, and big models (WRN-16-8's weights and momentum are 88 MB) are not
 * written after every few-second epoch of a fast GPU. */
double rp_cli_state_interval(void);

/* Progress within an epoch on stderr. On a terminal it is one line rewritten in place ("\r");
 * otherwise (nohup, CI logs) a plain line "epoch 1/30: step 120/390, ..." at most every
 * REPRO_PROGRESS_INTERVAL seconds (default 30), so that a log shows a long epoch moving without
 * filling up. */
struct rp_progress;
typedef struct rp_cli_progress {
  bool tty;            /* stderr is a terminal */
  double interval;     /* seconds between plain lines */
  double next_line_at; /* monotonic time before which no plain line is printed */
  bool shown;          /* the terminal line holds something to clear */
} rp_cli_progress;

void rp_cli_progress_init(rp_cli_progress *s);
/* "1h02m03s", "3m10s" or "42s" (hours past 24 stay hours: "55h00m00s"). */
void rp_cli_format_duration(double seconds, char *out, size_t size);
void rp_cli_progress_show(rp_cli_progress *s, const struct rp_progress *p);
/* Clears the terminal line, before a whole line is printed (nothing when not a terminal). */
void rp_cli_progress_clear(rp_cli_progress *s);

/* After a report of experiment directory `dir` is written: "wrote DIR/summary.md, ..." and
 * the results part of summary.md (test accuracy, accuracy under attack), so that the numbers of
 * a long run are on the terminal where it ends. */
void rp_cli_print_report(const char *dir);

/* A new JSON object with what every results file of bench, train and eval starts with: the
 * repro version and the commit it was built from, the date (UTC), and the device (`caps`, or
 * null where none was opened). */
cJSON *rp_cli_json_header(const rp_caps *caps);

#endif
