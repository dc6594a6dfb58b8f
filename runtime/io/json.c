#include "io/json.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/file.h"

/* Turns `node` and every node below it that is a number holding an integer above int's range
 * (cJSON prints those within it as integers already) and exact in a double into a raw node of
 * its digits. False when memory runs out. */
static bool whole_integers(cJSON *node) {
  for (cJSON *child = node->child; child; child = child->next)
    if (!whole_integers(child)) return false;
  double v = node->valuedouble;
  if (!cJSON_IsNumber(node) || v != floor(v) || fabs(v) <= INT_MAX || fabs(v) > 0x1p53) return true;
  char digits[32];
  int n = snprintf(digits, sizeof digits, "%.0f", v);
  char *raw = cJSON_malloc((size_t)n + 1);
  if (!raw) return false;
  memcpy(raw, digits, (size_t)n + 1);
  /* in place, so the node keeps its key and place (cJSON_Delete frees valuestring) */
  node->type = cJSON_Raw | (node->type & cJSON_StringIsConst);
  node->valuestring = raw;
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
