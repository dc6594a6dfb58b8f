#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/file.h"

int rp_cli_error(rp_status status) {
  fprintf(stderr, "repro: %s\n", rp_error_message());
  return status == RP_ERR_INVALID_ARGUMENT ? 2 : 1;
}

rp_status rp_write_json_file(const char *path, const cJSON *json) {
  char *text = cJSON_Print(json);
  if (!text) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory printing JSON");
  size_t n = strlen(text);
  char *line = realloc(text, n + 2);
  if (!line) {
    free(text);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory printing JSON");
  }
  line[n] = '\n';
  line[n + 1] = '\0';
  rp_status st = rp_file_write_atomic(path, line, n + 1);
  free(line);
  return st;
}
