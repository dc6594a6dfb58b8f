#include "vk/quirks.h"

#include <stdio.h>
#include <stdlib.h>

/* One line per quirk, in rp_quirk order. Template for the first one:
 *   [RP_QUIRK_X] = {"X", "driver Y before version Z miscompiles ... (bug link)", applies_x}, */
static const rp_quirk_info table[RP_QUIRK_COUNT + 1] = {{0}};

static bool env_set(const char *name) {
  const char *v = getenv(name);
  return v && *v && *v != '0';
}

void rp_quirks_resolve(const rp_caps *caps, bool active[]) {
  bool all_off = env_set("REPRO_NO_QUIRKS");
  for (unsigned q = 0; table[q].name; q++) { /* the table ends with an empty entry */
    char kill[96];
    snprintf(kill, sizeof kill, "REPRO_NO_QUIRK_%s", table[q].name);
    active[q] = !all_off && !env_set(kill) && table[q].applies(caps);
  }
}

const rp_quirk_info *rp_quirk_table(unsigned *count) {
  *count = RP_QUIRK_COUNT;
  return table;
}
