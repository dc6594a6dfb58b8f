/* The steps of the adversarial attacks used to measure robustness (docs/taylorglo.md §6),
 * each one elementwise dispatch given the gradient of the loss with respect to the input
 * (computed by the caller, model in eval mode):
 *
 *   FGSM:     out = clamp(x + eps * sign(grad), lo, hi)
 *   PGD step: out = clamp(clamp(x_adv + step * sign(grad), x_orig - eps, x_orig + eps), lo, hi)
 *
 * sign(0) = 0, so an input the loss does not depend on stays put; as in PyTorch, sign(NaN) = 0
 * and a NaN input stays NaN. [lo, hi] is the valid input range ([0, 1] for pixels on the
 * standard scale). All tensors have the same number of elements; `out` may be `x` (FGSM) or
 * `x_adv` (PGD), updating in place. */
#ifndef RP_ATTACK_H
#define RP_ATTACK_H

#include "ops/tensor.h"

rp_status rp_fgsm_step(rp_recorder *rec, const rp_tensor *x, const rp_tensor *grad, float eps,
                       float lo, float hi, const rp_tensor *out);

rp_status rp_pgd_step(rp_recorder *rec, const rp_tensor *x_adv, const rp_tensor *grad,
                      const rp_tensor *x_orig, float step, float eps, float lo, float hi,
                      const rp_tensor *out);

#endif
