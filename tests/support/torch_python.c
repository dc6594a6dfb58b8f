#include "torch_python.h"

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *torch_python(void) {
  static bool looked;
  static const char *found;
  if (looked) return found;
  looked = true;
  const char *candidates[] = {getenv("REPRO_PYTHON"), "python3", "/usr/bin/python3"};
  for (size_t i = 0; i < sizeof candidates / sizeof *candidates && !found; i++) {
    if (!candidates[i] || !*candidates[i]) continue;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import torch' >/dev/null 2>&1", candidates[i]);
    int rc = system(cmd);
    if (rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0) found = candidates[i];
  }
  return found;
}

const char *torch_python_or_skip(const char *what) {
  const char *python = torch_python();
  if (python) return python;
  const char *require = getenv("REPRO_REQUIRE_TORCH");
  cr_assert(!(require && strcmp(require, "1") == 0),
            "REPRO_REQUIRE_TORCH=1, but no python3 with torch (tried $REPRO_PYTHON, python3, "
            "/usr/bin/python3): scripts/install-deps.sh --torch installs it");
  cr_skip_test("no python3 with torch (tried $REPRO_PYTHON, python3, /usr/bin/python3): %s is "
               "not checked (scripts/install-deps.sh --torch)",
               what);
  return NULL; /* not reached */
}

void torch_tools_dir(char *out, size_t size) {
  char here[256];
  snprintf(here, sizeof here, "%s", __FILE__);
  char *slash = strrchr(here, '/');
  if (slash)
    *slash = '\0'; /* .../tests/support */
  else
    snprintf(here, sizeof here, ".");
  const char *up[] = {"/../..", "", "/..", "/../../.."};
  for (size_t i = 0; i <= sizeof up / sizeof *up; i++) {
    char probe[600];
    /* last, tools/ of the working directory: the tests run on another machine than they were
     * built on (scripts/gpu-check.sh) from the root of a copy of the tree */
    if (i < sizeof up / sizeof *up)
      snprintf(out, size, "%s%s/tools", here, up[i]);
    else
      snprintf(out, size, "tools");
    snprintf(probe, sizeof probe, "%s/safetensors_torch.py", out);
    if (access(probe, R_OK) == 0) return;
  }
  cr_assert_fail("tools/safetensors_torch.py not found from %s", __FILE__);
}
