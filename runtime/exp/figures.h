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

/* Scales the finite values of y[0..n) onto [0, 1] (NaN stays NaN; a flat series goes to 0):
 * for charts of quantities on unrelated scales, where the shape is what compares. */
void rp_series_scale_to_unit(double *y, int n);

/* Whether the series' largest magnitudes differ by more than `ratio` times, so that on one
 * axis the smaller ones would lie flat along the bottom. */
bool rp_series_scales_differ(const rp_series *series, int count, double ratio);

/* One chart with a line and a legend entry per series, written to `path` atomically. */
rp_status rp_plot_lines(const char *path, const char *title, const char *x_label,
                        const char *y_label, const rp_series *series, int count);

/* The same with a categorical x axis: x of every point is the index of its category, and the
 * axis shows x_labels[0..label_count) evenly spaced at 0, 1, ... For grids such as FGSM's
 * ε = 0, 1/255, 2/255, 4/255, 8/255, 0.05, ..., 0.3, whose small values a linear axis would
 * crowd into one corner. */
rp_status rp_plot_lines_categorical(const char *path, const char *title, const char *x_label,
                                    const char *y_label, const rp_series *series, int count,
                                    const char *const *x_labels, int label_count);

#endif
