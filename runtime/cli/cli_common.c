#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"

int rp_cli_error(rp_status status) {
  fprintf(stderr, "repro: %s\n", rp_error_message());
  return status == RP_ERR_INVALID_ARGUMENT ? 2 : 1;
}

rp_status rp_write_json_file(const char *path, const cJSON *json) {
  char *text = cJSON_Print(json);
  if (!text) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory printing JSON");
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  rp_status st = RP_OK;
  if (!f) {
    st = rp_fail(RP_ERR_IO, "cannot write %s", path);
  } else {
    bool ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
      remove(tmp);
      st = rp_fail(RP_ERR_IO, "cannot write %s", path);
    }
  }
  free(text);
  return st;
}
