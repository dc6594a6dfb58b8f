#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/file.h"
#include "train/trainer.h"

void rp_cli_progress(const rp_progress *p) {
  int left = (int)p->seconds_left;
  fprintf(stderr,
          "\r\033[Kepoch %d/%d  step %lld/%lld  loss %.4g  acc %5.1f%%  %.0f img/s  %dh%02dm%02ds "
          "left",
          p->epoch, p->epochs, (long long)p->step, (long long)p->steps, p->loss,
          100.0 * p->accuracy, p->images_per_second, left / 3600, left / 60 % 60, left % 60);
  fflush(stderr);
}

void rp_cli_progress_clear(void) {
  fprintf(stderr, "\r\033[K");
  fflush(stderr);
}

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
