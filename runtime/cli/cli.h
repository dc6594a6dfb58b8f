/* The `repro` command: one file per subcommand, each taking argc/argv after its name and
 * returning the process exit status. Only this layer prints and exits. */
#ifndef RP_CLI_H
#define RP_CLI_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "vk/status.h"

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

/* The progress line of a training on stderr, rewritten in place ("\r"): call it only when
 * stderr is a terminal; rp_cli_progress_clear before printing a whole line. */
struct rp_progress;
void rp_cli_progress(const struct rp_progress *p);
void rp_cli_progress_clear(void);

/* Writes `json` to `path` through a temporary file and a rename, so a reader never sees a
 * half-written file. */
rp_status rp_write_json_file(const char *path, const cJSON *json);

#endif
