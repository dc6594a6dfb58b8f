/* Files of an experiment's output directory: atomic writes (a reader never sees half a file,
 * and an interrupted run leaves no partial result), directories, and the list of run records. */
#ifndef RP_EXP_FILES_H
#define RP_EXP_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "vk/status.h"

struct cJSON;

/* mkdir -p. */
rp_status rp_exp_mkdirs(const char *path);
bool rp_exp_exists(const char *path);
/* Writes through "<path>.<pid>.tmp" and a rename. */
rp_status rp_exp_write_atomic(const char *path, const char *text, size_t size);
/* A member of a JSON object: its number (NaN when absent or not a number) or its string
 * (`fallback` when absent or not a string). */
double rp_exp_json_number(const struct cJSON *o, const char *key);
const char *rp_exp_json_string(const struct cJSON *o, const char *key, const char *fallback);

/* One `repro run` at a time per output directory: an advisory lock (flock) on
 * DIR/.repro-run.lock, which holds the owner's pid, taken before the directory's files are
 * checked and held until rp_exp_unlock_dir. A second run gets an error naming the first's pid
 * instead of training the same runs beside it. The file is removed on unlock. */
typedef struct rp_exp_lock {
  int fd;
  char path[4200];
} rp_exp_lock;

rp_status rp_exp_lock_dir(const char *dir, rp_exp_lock *lock);
void rp_exp_unlock_dir(rp_exp_lock *lock);

/* Reads and parses a JSON file: RP_ERR_IO when it cannot be read, RP_ERR_INVALID_ARGUMENT when
 * what it holds is not JSON. */
rp_status rp_exp_read_json(const char *path, struct cJSON **out);

/* The names (without directory) of the run records "*.json" in `dir`, sorted; *count 0 when
 * the directory does not exist. Free with rp_exp_free_names. */
rp_status rp_exp_list_json(const char *dir, char ***names, int *count);
void rp_exp_free_names(char **names, int count);

/* The JSON path of member `key` of the value at `path`: "$.a.b", or where the key is not a
 * plain name, "$.a[\"x.y\"]", so that no key can make a path ambiguous. */
void rp_exp_json_path_key(char *out, size_t size, const char *path, const char *key);

/* Where `was` and `now` first differ: the JSON path below `root` (e.g. "$.config.lr") and the
 * two values as compact JSON ("absent" for a missing key), cut to fit, for an error that says
 * what changed. False when they are equal. */
bool rp_exp_json_difference(const struct cJSON *was, const struct cJSON *now, const char *root,
                            char *path, size_t path_size, char *was_text, char *now_text,
                            size_t text_size);

/* rp_exp_json_difference of two JSON texts (a saved state's fingerprint and the one a run
 * would save now): true when their values differ, with `path` and the values filled in, or
 * when `was` is not valid JSON ("not valid JSON" for its value). */
bool rp_exp_json_text_difference(const char *was, const char *now, const char *root, char *path,
                                 size_t path_size, char *was_text, char *now_text,
                                 size_t text_size);

#endif
