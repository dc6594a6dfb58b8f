#include "ref/conv2d_ref.h"

#include <string.h>

int ref_conv_p(const ref_conv_shape *sh) { return (sh->h + 2 * sh->pad - sh->r) / sh->stride + 1; }
int ref_conv_q(const ref_conv_shape *sh) { return (sh->w + 2 * sh->pad - sh->s) / sh->stride + 1; }

/* Calls visit(y index, x index, w index) for every product term of the convolution: the
 * three passes are the same loop nest, each accumulating into a different operand. */
#define FOR_EACH_TERM(sh, BODY)                                                                    \
  do {                                                                                             \
    int P_ = ref_conv_p(sh), Q_ = ref_conv_q(sh);                                                  \
    for (int n = 0; n < (sh)->n; n++)                                                              \
      for (int k = 0; k < (sh)->k; k++)                                                            \
        for (int p = 0; p < P_; p++)                                                               \
          for (int q = 0; q < Q_; q++) {                                                           \
            long yi = (((long)n * (sh)->k + k) * P_ + p) * Q_ + q;                                 \
            for (int c = 0; c < (sh)->c; c++)                                                      \
              for (int r = 0; r < (sh)->r; r++)                                                    \
                for (int s = 0; s < (sh)->s; s++) {                                                \
                  int hh = p * (sh)->stride - (sh)->pad + r,                                       \
                      ww = q * (sh)->stride - (sh)->pad + s;                                       \
                  if (hh < 0 || ww < 0 || hh >= (sh)->h || ww >= (sh)->w) continue;                \
                  long xi = (((long)n * (sh)->c + c) * (sh)->h + hh) * (sh)->w + ww;               \
                  long wi = (((long)k * (sh)->c + c) * (sh)->r + r) * (sh)->s + s;                 \
                  BODY;                                                                            \
                }                                                                                  \
          }                                                                                        \
  } while (0)

void ref_conv2d_forward(const ref_conv_shape *sh, const double *x, const double *wt,
                        const double *bias, double *y) {
  long ny = (long)sh->n * sh->k * ref_conv_p(sh) * ref_conv_q(sh);
  long pq = (long)ref_conv_p(sh) * ref_conv_q(sh);
  for (long i = 0; i < ny; i++) y[i] = bias ? bias[(i / pq) % sh->k] : 0.0;
  FOR_EACH_TERM(sh, y[yi] += x[xi] * wt[wi]);
}

void ref_conv2d_backward_data(const ref_conv_shape *sh, const double *dy, const double *wt,
                              double *dx) {
  memset(dx, 0, (size_t)sh->n * sh->c * sh->h * sh->w * sizeof *dx);
  FOR_EACH_TERM(sh, dx[xi] += dy[yi] * wt[wi]);
}

void ref_conv2d_backward_filter(const ref_conv_shape *sh, const double *x, const double *dy,
                                double *dw, double *dbias) {
  memset(dw, 0, (size_t)sh->k * sh->c * sh->r * sh->s * sizeof *dw);
  FOR_EACH_TERM(sh, dw[wi] += x[xi] * dy[yi]);
  if (!dbias) return;
  long pq = (long)ref_conv_p(sh) * ref_conv_q(sh);
  for (int k = 0; k < sh->k; k++) {
    dbias[k] = 0.0;
    for (int n = 0; n < sh->n; n++)
      for (long i = 0; i < pq; i++) dbias[k] += dy[((long)n * sh->k + k) * pq + i];
  }
}
