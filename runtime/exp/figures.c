#include "exp/figures.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <plplot/plplot.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/file.h"

/* Colour map 0: white background, black frame and text, light grey grid, then ten
 * distinguishable line colours (matplotlib's "tab10"). */
static const int palette[][3] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                                 {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                                 {188, 189, 34},  {23, 190, 207}};
#define PALETTE_SIZE ((int)(sizeof palette / sizeof palette[0]))
#define FIRST_LINE_COLOR 3
#define MAX_LEGEND 64

bool rp_plot_available(void) {
  /* plgDevs loads the driver table; a missing drivers directory only makes it come back
   * empty (the process exits only when plinit cannot find the device it was asked for). */
  enum { MAX_DEVICES = 64 };
  const char *menu[MAX_DEVICES], *names[MAX_DEVICES];
  const char **menu_p = menu, **names_p = names;
  PLINT n = MAX_DEVICES;
  plgDevs(&menu_p, &names_p, &n);
  for (PLINT i = 0; i < n; i++)
    if (names[i] && strcmp(names[i], "svg") == 0) return true;
  return false;
}

void rp_series_scale_to_unit(double *y, int n) {
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++)
    if (isfinite(y[i])) lo = fmin(lo, y[i]), hi = fmax(hi, y[i]);
  for (int i = 0; i < n; i++)
    if (isfinite(y[i])) y[i] = hi > lo ? (y[i] - lo) / (hi - lo) : 0;
}

bool rp_series_scales_differ(const rp_series *series, int count, double ratio) {
  double smallest = INFINITY, largest = 0;
  for (int s = 0; s < count; s++) {
    double m = 0;
    for (int i = 0; i < series[s].n; i++)
      if (isfinite(series[s].y[i])) m = fmax(m, fabs(series[s].y[i]));
    if (m > 0) smallest = fmin(smallest, m), largest = fmax(largest, m);
  }
  return largest > ratio * smallest;
}

/* The x axis's labels of a categorical chart: the text of category round(value). */
typedef struct x_ticks {
  const char *const *labels;
  int count;
} x_ticks;

static void tick_label(PLINT axis, PLFLT value, char *label, PLINT length, PLPointer data) {
  const x_ticks *ticks = data;
  double i = round(value);
  bool on_tick = axis == PL_X_AXIS && fabs(value - i) < 1e-6 && i >= 0 && i < ticks->count;
  snprintf(label, (size_t)length, "%s", on_tick ? ticks->labels[(int)i] : "");
}

/* Characters of a UTF-8 string (ε is one, not two bytes' worth of legend). */
static size_t characters(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* Moves PLplot's output `tmp` to `path` once it is known whole. PLplot reports no write error
 * (a full disk leaves a file cut short), so the SVG must end with its closing tag; it is then
 * written again through rp_file_write_atomic, which flushes it to disk before the rename, so
 * that a figure already there is replaced only by a complete one. */
static rp_status publish(const char *tmp, const char *path) {
  char *svg = NULL;
  size_t size = 0;
  rp_status st = rp_file_read(tmp, &svg, &size);
  remove(tmp);
  if (st)
    return rp_fail(RP_ERR_IO, "cannot write %s: its figure could not be read back (%s)", path,
                   rp_error_message());
  size_t end = size; /* without trailing white space */
  while (end > 0 && isspace((unsigned char)svg[end - 1])) end--;
  static const char closing[] = "</svg>";
  size_t n = sizeof closing - 1;
  if (end < n || memcmp(svg + end - n, closing, n) != 0)
    st = rp_fail(RP_ERR_IO,
                 "cannot write %s: PLplot's SVG came out incomplete (%zu bytes; disk "
                 "full?)",
                 path, size);
  else
    st = rp_file_write_atomic(path, svg, size);
  free(svg);
  return st;
}

/* The chart of rp_plot_lines; with ticks, x is a category's index and the x axis shows the
 * categories' labels at 0, 1, ... */
static rp_status plot_lines(const char *path, const char *title, const char *x_label,
                            const char *y_label, const rp_series *series, int count,
                            const x_ticks *ticks) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  /* PLplot gives no error back for a file it cannot open: check first. */
  FILE *probe = fopen(tmp, "wb");
  if (!probe) return rp_fail(RP_ERR_IO, "cannot write %s: %s", path, strerror(errno));
  fclose(probe);
  if (count > MAX_LEGEND) count = MAX_LEGEND;
  if (!rp_plot_available()) {
    remove(tmp);
    return rp_fail(RP_ERR_IO, "%s: PLplot has no SVG driver here (PLPLOT_DRV_DIR)", path);
  }

  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  bool whole_x = true; /* every x a whole number: epochs, generations */
  for (int s = 0; s < count; s++)
    for (int i = 0; i < series[s].n; i++) {
      double x = series[s].x[i], y = series[s].y[i];
      if (!isfinite(x) || !isfinite(y)) continue;
      x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
      whole_x = whole_x && x == round(x);
    }
  if (!(x0 <= x1)) x0 = 0, x1 = 1, y0 = 0, y1 = 1; /* nothing to draw: empty axes */
  if (ticks) x0 = -0.3, x1 = ticks->count - 0.7;   /* every category, with a margin */
  /* A flat range gets some height, relative to its magnitude (a loss of 5e23 minus 0.05 is
   * still 5e23, and PLplot refuses an empty window). */
  if (x1 - x0 <= 1e-12 * fmax(1, fabs(x0))) {
    double d = fmax(0.5, 0.05 * fabs(x0));
    x0 -= d, x1 += d;
  }
  if (y1 - y0 <= 1e-12 * fmax(1, fabs(y0))) {
    double d = fmax(0.05, 0.05 * fabs(y0));
    y0 -= d, y1 += d;
  }
  double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;

  plsdev("svg");
  plsfnam(tmp);
  plscmap0n(FIRST_LINE_COLOR + PALETTE_SIZE);
  plscol0(0, 255, 255, 255);
  plscol0(1, 0, 0, 0);
  plscol0(2, 215, 215, 215);
  for (int i = 0; i < PALETTE_SIZE; i++)
    plscol0(FIRST_LINE_COLOR + i, palette[i][0], palette[i][1], palette[i][2]);
  plinit();
  plcol0(1);
  /* The plot on the left, the legend to its right. The legend takes the line sample and the
   * longest label (up to 0.012 of the page per character at its text size): a plot up to
   * 0.68 of the page wide leaves room for 16 characters, and longer labels narrow the plot
   * rather than run off the page. */
  size_t longest = 0;
  for (int s = 0; s < count; s++)
    if (series[s].label && characters(series[s].label) > longest)
      longest = characters(series[s].label);
  double right = fmax(0.45, fmin(0.68, 0.96 - (0.08 + 0.012 * (double)longest)));
  pladv(0);
  plvpor(0.10, right, 0.12, 0.90);
  plwind(x0, x1, y0, y1);
  /* Categories: a tick, grid line and label at each index ("o": the labels of tick_label).
   * Whole numbers over a short range: a tick at each, not at 1.5 and 2.5. */
  double step = ticks || (whole_x && x1 - x0 <= 8) ? 1 : 0;
  if (ticks) plslabelfunc(tick_label, (PLPointer)ticks);
  plcol0(2);
  plbox("g", step, step > 0, "g", 0, 0);
  plcol0(1);
  plbox(ticks ? "bcnsto" : "bcnst", step, step > 0, "bcnstv", 0, 0);
  if (ticks) plslabelfunc(NULL, NULL);
  pllab(x_label, y_label, title);

  PLINT opt[MAX_LEGEND], colors[MAX_LEGEND], styles[MAX_LEGEND], text_colors[MAX_LEGEND];
  PLFLT widths[MAX_LEGEND];
  const char *text[MAX_LEGEND];
  for (int s = 0; s < count; s++) {
    int color = FIRST_LINE_COLOR + s % PALETTE_SIZE;
    plcol0(color);
    plwidth(2);
    /* Draw each run of finite points as one polyline. */
    const rp_series *se = &series[s];
    PLFLT *xs = malloc((size_t)(se->n > 0 ? se->n : 1) * sizeof *xs);
    PLFLT *ys = malloc((size_t)(se->n > 0 ? se->n : 1) * sizeof *ys);
    int m = 0;
    for (int i = 0; xs && ys && i <= se->n; i++) {
      bool ok = i < se->n && isfinite(se->x[i]) && isfinite(se->y[i]);
      if (ok) {
        xs[m] = se->x[i], ys[m] = se->y[i], m++;
        continue;
      }
      if (m > 1) plline(m, xs, ys);
      /* Markers where points are few (epsilon grids, short runs), and for a lone point. */
      if (m == 1 || (m > 0 && se->n <= 40)) plpoin(m, xs, ys, 17);
      m = 0;
    }
    free(xs);
    free(ys);
    opt[s] = PL_LEGEND_LINE, colors[s] = color, styles[s] = 1, widths[s] = 2;
    text_colors[s] = 1, text[s] = se->label;
  }
  plwidth(1);
  if (count > 0) {
    PLFLT w, h;
    pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_OUTSIDE | PL_POSITION_RIGHT, 0.02, 0.0, 0.06, 0, 1, 1, 0, 0, count, opt,
             0.8, 0.7, 1.6, 0.0, text_colors, text, NULL, NULL, NULL, NULL, colors, styles, widths,
             NULL, NULL, NULL, NULL);
  }
  plend();
  return publish(tmp, path);
}

rp_status rp_plot_lines(const char *path, const char *title, const char *x_label,
                        const char *y_label, const rp_series *series, int count) {
  return plot_lines(path, title, x_label, y_label, series, count, NULL);
}

rp_status rp_plot_lines_categorical(const char *path, const char *title, const char *x_label,
                                    const char *y_label, const rp_series *series, int count,
                                    const char *const *x_labels, int label_count) {
  x_ticks ticks = {x_labels, label_count};
  return plot_lines(path, title, x_label, y_label, series, count, &ticks);
}
