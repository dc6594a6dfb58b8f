/* Driver bugs worked around, in one table.
 *
 * Each entry names the bug it works around and the drivers it applies to. Any entry can be
 * turned off with REPRO_NO_QUIRK_<NAME>=1 (to check whether the bug is still there), and all
 * of them with REPRO_NO_QUIRKS=1. The table is empty until a driver needs it. */
#ifndef RP_QUIRKS_H
#define RP_QUIRKS_H

#include <stdbool.h>

#include "vk/caps.h"

typedef enum rp_quirk {
  RP_QUIRK_COUNT /* new quirks go above this line */
} rp_quirk;

typedef struct rp_quirk_info {
  const char *name; /* upper case, used in REPRO_NO_QUIRK_<name> */
  const char *bug;  /* the driver bug, with a link or bug number */
  bool (*applies)(const rp_caps *caps);
} rp_quirk_info;

/* Fills `active[q]` for every quirk, honouring the kill switches. */
void rp_quirks_resolve(const rp_caps *caps, bool active[]);

/* The table itself, for `repro devices` to list. */
const rp_quirk_info *rp_quirk_table(unsigned *count);

#endif
