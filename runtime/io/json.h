/* Printing repro's JSON files: cJSON's printer, with integers written whole. */
#ifndef RP_JSON_H
#define RP_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "vk/status.h"

/* cJSON_Print (formatted) or cJSON_PrintUnformatted of `json`, except that a number holding
 * an integer beyond int's range, up to 2^53, is printed as that integer (repro train --seed
 * goes no higher). cJSON prints such a
 * number with 15 significant digits wherever that reads back as nearly the same double, which
 * turns a 16-digit seed such as 5892650052244359 into 5.89265005224436e+15: a different seed
 * for whoever copies it into repro train --seed. Free the text with cJSON_free; NULL when
 * memory runs out. */
char *rp_json_print(const cJSON *json, bool formatted);

/* Writes `json`, formatted and with a final newline, to `path` through a temporary file and a
 * rename (rp_file_write_atomic), so a reader never sees a half-written file. */
rp_status rp_json_write_file(const char *path, const cJSON *json);

#endif
