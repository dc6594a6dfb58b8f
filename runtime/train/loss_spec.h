/* Losses written as text, as the command line and experiment files name them:
 *   ce                      cross-entropy
 *   ls:ALPHA                label-smoothed cross-entropy
 *   taylorglo:a1,a2,a3,a4,a5,a6,t0,t1   a TaylorGLO loss (genome order)
 */
#ifndef RP_LOSS_SPEC_H
#define RP_LOSS_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "ops/loss.h"

/* `paper`: the TaylorGLO parameters are in the paper's convention (converted to the code's).
 * Errors name the text and the value at fault. */
rp_status rp_loss_parse(const char *spec, bool paper, rp_loss *out);

/* The canonical text of a loss (code convention), for file names and results: each parameter
 * as %g writes it where that reads back as the same float, else with the digits it needs (at
 * most 9), so that two losses never share a text. */
void rp_loss_format(const rp_loss *loss, char *out, size_t size);

#endif
