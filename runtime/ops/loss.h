/* Softmax with the losses the experiments compare: cross-entropy, label-smoothed cross-entropy
 * and the TaylorGLO family (docs/taylorglo.md §1). One dispatch gives, per
 * sample, the loss, whether the argmax is right and the softmax probability of the true class,
 * and the gradient of the batch's mean loss with respect to the logits. */
#ifndef RP_LOSS_H
#define RP_LOSS_H

#include <stdbool.h>

#include "ops/tensor.h"

typedef enum rp_loss_kind { RP_LOSS_CE, RP_LOSS_LS, RP_LOSS_TAYLORGLO } rp_loss_kind;

typedef struct rp_loss {
  rp_loss_kind kind;
  float alpha; /* RP_LOSS_LS: labels become (1 - alpha) x + alpha / n */
  /* RP_LOSS_TAYLORGLO, in the code convention, genome order [a1..a6, theta0, theta1]:
   * f(x, y) = a1 (y-t1) + a2 (y-t1)^2 + a3 (y-t1)^3 + a4 (x-t0)(y-t1) + a5 (x-t0)(y-t1)^2
   *         + a6 (x-t0)^2 (y-t1),   per-sample loss = -sum_j f(x_j, y_j), y = softmax. */
  float theta[8];
} rp_loss;

/* Rows of the `stats` tensor [RP_LOSS_STATS, B] the loss writes. */
enum { RP_STAT_LOSS, RP_STAT_CORRECT, RP_STAT_TRUE_PROB, RP_LOSS_STATS };

/* logits [B, n], labels RP_U32 [B] (dtype checked), stats [RP_LOSS_STATS, B]: stats[s * B + r]
 * is, for row r, its loss (RP_STAT_LOSS), 1 or 0 as its argmax (the first maximum on ties) is
 * its label (RP_STAT_CORRECT), and the softmax probability of its label (RP_STAT_TRUE_PROB).
 * A label >= n marks a padding row (a partial last batch): its stats and gradient are 0.
 * When dlogits [B, n] is not NULL it receives d(mean loss)/d(logits) with the mean over the
 * `valid` rows, i.e. each real row's gradient divided by `valid` (1 <= valid <= B; the caller
 * passes the number of real labels, which the op does not count). Computed from log-softmax
 * relative to the row's maximum, so any finite logits give finite results. One dispatch, one
 * workgroup per row, deterministic. LS needs alpha in [0, 1]; TaylorGLO finite parameters. */
rp_status rp_softmax_loss(rp_recorder *rec, const rp_loss *loss, const rp_tensor *logits,
                          const rp_tensor *labels, uint32_t valid, const rp_tensor *stats,
                          const rp_tensor *dlogits);

/* The paper's convention (1/2!, 1/3! factors) to the code's, both in genome order:
 * a2 / 2, a3 / 6, a5 / 2, a6 / 2; the rest unchanged. `code` may be `paper`. */
void rp_taylorglo_paper_to_code(const float paper[8], float code[8]);

#endif
