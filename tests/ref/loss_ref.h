/* Plain C references for runtime/ops/loss.h, in double. No Vulkan calls here. */
#ifndef RP_TEST_LOSS_REF_H
#define RP_TEST_LOSS_REF_H

#include <stdint.h>

#include "ops/loss.h"

/* The loss of one row of logits z[n] with a real label (< n). Each of the optional outputs
 * may be NULL: whether the argmax (the first maximum) is the label, the softmax probability of
 * the label, and grad[n] = d loss / d z. */
double ref_loss_row(const rp_loss *loss, const double *z, int n, uint32_t label, double *correct,
                    double *true_prob, double *grad);

/* How large the rounding error of an fp32 evaluation of that row can be, in units of the
 * precision: `loss_scale` for its loss (the sum of the magnitudes it is computed from),
 * `grad_scale` for each element of its gradient. */
void ref_loss_row_scales(const rp_loss *loss, const double *z, int n, uint32_t label,
                         double *loss_scale, double *grad_scale);

/* The batch as rp_softmax_loss computes it: stats [RP_LOSS_STATS, rows], and, when dlogits
 * is not NULL, dlogits [rows, n] = d(sum of row losses / valid)/d logits. Padding rows
 * (label >= n) give zeros. */
void ref_softmax_loss(const rp_loss *loss, const float *logits, const uint32_t *labels, int rows,
                      int n, uint32_t valid, double *stats, double *dlogits);

/* The batch loss whose gradient rp_softmax_loss gives: the sum of the losses of the real rows
 * divided by `valid`, for finite differences. */
double ref_mean_loss(const rp_loss *loss, const double *logits, const uint32_t *labels, int rows,
                     int n, uint32_t valid);

/* rp_taylorglo_paper_to_code in double. */
void ref_taylorglo_paper_to_code(const double paper[8], double code[8]);

#endif
