#include <math.h>

#include "ref.h"

void ref_gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const float *a,
              const float *b, double beta, const float *c_in, double *c_out, double *mag) {
  for (int i = 0; i < m; i++) {
    for (int j = 0; j < n; j++) {
      double s = 0.0, s_abs = 0.0;
      for (int p = 0; p < k; p++) {
        double av = trans_a ? a[(int64_t)p * m + i] : a[(int64_t)i * k + p];
        double bv = trans_b ? b[(int64_t)j * k + p] : b[(int64_t)p * n + j];
        s += av * bv;
        s_abs += fabs(av * bv);
      }
      int64_t idx = (int64_t)i * n + j;
      c_out[idx] = alpha * s + (beta != 0.0 ? beta * c_in[idx] : 0.0);
      if (mag) mag[idx] = fabs(alpha) * s_abs + fabs(beta * (beta != 0.0 ? c_in[idx] : 0.0));
    }
  }
}
