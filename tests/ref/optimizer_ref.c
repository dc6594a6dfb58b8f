#include "ref/optimizer_ref.h"

#include <math.h>

void ref_sgd_step(double *w, double *buf, bool *has_buf, const float *grad, int64_t n, double lr,
                  double momentum, double weight_decay, bool nesterov, double *scale) {
  for (int64_t i = 0; i < n; i++) {
    double d_p = grad[i], old_buf = *has_buf ? buf[i] : 0;
    if (weight_decay != 0) d_p += weight_decay * w[i];
    if (momentum != 0) {
      if (!*has_buf)
        buf[i] = d_p; /* torch.clone(d_p) */
      else
        buf[i] = momentum * buf[i] + d_p;
      d_p = nesterov ? d_p + momentum * buf[i] : buf[i];
    }
    if (scale)
      scale[i] += fabs(w[i]) + fabs(lr) * (fabs(grad[i]) + weight_decay * fabs(w[i]) +
                                           momentum * fabs(old_buf) + 2 * fabs(d_p));
    w[i] -= lr * d_p;
  }
  if (momentum != 0) *has_buf = true;
}
