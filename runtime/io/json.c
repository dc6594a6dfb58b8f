#include "io/json.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/file.h"

/* Turns, in the tree `item`, each number that holds an integer above int's range (cJSON prints
 * those within it as integers already) and exact in a double into a raw node of its digits.
 * False when memory runs out. */
static bool whole_integers(cJSON *item) {
  for (cJSON *child = item->child; child; child = child->next) {
    if (!whole_integers(child)) return false;
    double v = child->valuedouble;
    if (!cJSON_IsNumber(child) || v != floor(v) || fabs(v) <= INT_MAX || fabs(v) > 0x1p53) continue;
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%.0f", v);
    char *raw = cJSON_malloc((size_t)n + 1);
    if (!raw) return false;
    memcpy(raw, digits, (size_t)n + 1);
    /* in place, so the node keeps its key and place (cJSON_Delete frees valuestring) */
    child->type = cJSON_Raw | (child->type & cJSON_StringIsConst);
    child->valuestring = raw;
  }
  return true;
}

char *rp_json_print(const cJSON *json, bool formatted) {
  cJSON *copy = cJSON_Duplicate(json, true);
  char *text = NULL;
  if (copy && whole_integers(copy))
    text = formatted ? cJSON_Print(copy) : cJSON_PrintUnformatted(copy);
  cJSON_Delete(copy);
  return text;
}

rp_status rp_json_write_file(const char *path, const cJSON *json) {
  char *text = rp_json_print(json, true);
  size_t n = text ? strlen(text) : 0;
  char *line = text ? cJSON_malloc(n + 2) : NULL;
  if (line) snprintf(line, n + 2, "%s\n", text);
  cJSON_free(text);
  if (!line) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory printing %s", path);
  rp_status st = rp_file_write_atomic(path, line, n + 1);
  cJSON_free(line);
  return st;
}
