/* The parts of an experiment's report beyond its run tables, each a pure function of files in
 * the experiment's directory; exp/report.c puts them into summary.md and results.json. */
#ifndef RP_EXP_REPORT_PARTS_H
#define RP_EXP_REPORT_PARTS_H

#include <stdbool.h>

#include "exp/text.h"
#include "vk/status.h"

struct cJSON;

/* The searches that `experiment` (DIR/experiment.json, may be NULL) lists: per search a
 * Markdown section (settings, one row per generation, the best loss found and its invariants)
 * appended to `md`; every search's state (less the CMA-ES internals) as a JSON array in
 * *json; with `plots`, DIR/figures/search_progress.svg (best so far and generation mean per
 * generation). *figure says whether it was drawn. A search with no state yet shows as not
 * started. */
rp_status rp_exp_report_searches(const char *dir, const struct cJSON *experiment, bool plots,
                                 rp_text *md, struct cJSON **json, bool *figure);

/* The shapes of `count` losses (canonical texts: ce, ls:A, taylorglo:...) over the target
 * probability p with the other classes at (1-p)/(n-1): a Markdown table of the TaylorGLO ones
 * (where the loss is lowest, the fixed points p*, both invariants) appended to `md` and, with
 * `plots`, DIR/figures/loss_shapes.svg, each curve scaled to [0, 1] so that shapes of very
 * different magnitudes compare. */
rp_status rp_exp_report_loss_shapes(const char *dir, const char *const *labels,
                                    const char *const *losses, int count, int classes, bool plots,
                                    rp_text *md, bool *figure);

#endif
