/* Plain C reference for runtime/ops/optimizer.h, in double. No Vulkan calls here. */
#ifndef RP_TEST_OPTIMIZER_REF_H
#define RP_TEST_OPTIMIZER_REF_H

#include <stdbool.h>
#include <stdint.h>

/* One step of torch.optim.SGD (dampening 0) on n parameters, following torch's
 * _single_tensor_sgd line by line: buf is created from the first gradient (`*has_buf` false
 * before the first step; with momentum 0 it is never used). `scale` (optional) accumulates,
 * per element, the magnitudes each fp32 step computes from, for tolerances. */
void ref_sgd_step(double *w, double *buf, bool *has_buf, const float *grad, int64_t n, double lr,
                  double momentum, double weight_decay, bool nesterov, double *scale);

#endif
