/* SGD exactly as torch.optim.SGD (dampening 0):
 *   g = grad + weight_decay * w
 *   buf = momentum * buf + g          (buf starts at 0, so the first step gives buf = g)
 *   w  -= lr * (nesterov ? g + momentum * buf : buf)
 * The learning rate is read on the device from `hyper` (F32 [1] or more, element 0), which the
 * host rewrites between submissions, so a schedule needs no re-recording.
 *
 * The caller fills `momentum_buf` (as many elements as w) with 0 before the first step. With
 * momentum 0 it is neither read nor written and may be NULL (torch keeps no buffer then).
 * Refused as torch refuses them: a negative momentum or weight decay, nesterov without
 * momentum. One dispatch; w, grad and momentum_buf must not overlap. */
#ifndef RP_OPTIMIZER_H
#define RP_OPTIMIZER_H

#include <stdbool.h>

#include "ops/tensor.h"

rp_status rp_sgd_step(rp_recorder *rec, const rp_tensor *w, const rp_tensor *grad,
                      const rp_tensor *momentum_buf, const rp_tensor *hyper, float momentum,
                      float weight_decay, bool nesterov);

#endif
