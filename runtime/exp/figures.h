/* Line charts as SVG files (PLplot's svg driver). PLplot keeps global state: call these from
 * one thread at a time. */
#ifndef RP_EXP_FIGURES_H
#define RP_EXP_FIGURES_H

#include <stdbool.h>

#include "vk/status.h"

typedef struct rp_series {
  const char *label;
  const double *x, *y; /* NaN y values break the line */
  int n;
} rp_series;

/* Whether PLplot's SVG driver can be loaded. Without it (a machine without PLplot's driver
 * files) PLplot would end the process on plinit, so callers ask first and skip figures. */
bool rp_plot_available(void);

/* One chart with a line and a legend entry per series, written to `path` atomically. */
rp_status rp_plot_lines(const char *path, const char *title, const char *x_label,
                        const char *y_label, const rp_series *series, int count);

#endif
