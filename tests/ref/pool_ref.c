#include "pool_ref.h"

#include <math.h>

int ref_pool_out(int in, int kernel, int stride, int pad) {
  return (in + 2 * pad - kernel) / stride + 1;
}

void ref_maxpool2d_forward(const double *x, int planes, int h, int w, int kernel, int stride,
                           int pad, double *y, uint32_t *indices) {
  int p = ref_pool_out(h, kernel, stride, pad), q = ref_pool_out(w, kernel, stride, pad);
  for (int pl = 0; pl < planes; pl++)
    for (int op = 0; op < p; op++)
      for (int oq = 0; oq < q; oq++) {
        int h0 = op * stride - pad, w0 = oq * stride - pad;
        int h1 = h0 + kernel < h ? h0 + kernel : h, w1 = w0 + kernel < w ? w0 + kernel : w;
        if (h0 < 0) h0 = 0;
        if (w0 < 0) w0 = 0;
        double best = -INFINITY;
        int at = h0 * w + w0;
        for (int i = h0; i < h1; i++)
          for (int j = w0; j < w1; j++) {
            double v = x[((int64_t)pl * h + i) * w + j];
            if (v > best || isnan(v)) best = v, at = i * w + j;
          }
        int64_t o = ((int64_t)pl * p + op) * q + oq;
        y[o] = best;
        indices[o] = (uint32_t)at;
      }
}

void ref_maxpool2d_backward(const double *dy, const uint32_t *indices, int planes, int h, int w,
                            int kernel, int stride, int pad, double *dx) {
  int p = ref_pool_out(h, kernel, stride, pad), q = ref_pool_out(w, kernel, stride, pad);
  for (int64_t i = 0; i < (int64_t)planes * h * w; i++) dx[i] = 0.0;
  for (int pl = 0; pl < planes; pl++)
    for (int o = 0; o < p * q; o++) {
      int64_t at = (int64_t)pl * p * q + o;
      dx[(int64_t)pl * h * w + indices[at]] += dy[at];
    }
}

/* The window of output `o` along one axis as PyTorch's avg_pool2d computes it: [*lo, *hi) in
 * the input, and the length of the window clipped to the padded input (its divisor). */
static int avg_window(int o, int in, int kernel, int stride, int pad, int *lo, int *hi) {
  int start = o * stride - pad;
  int end = start + kernel < in + pad ? start + kernel : in + pad;
  int size = end - start;
  *lo = start < 0 ? 0 : start;
  *hi = end < in ? end : in;
  return size;
}

void ref_avgpool2d_forward(const double *x, int planes, int h, int w, int kernel, int stride,
                           int pad, double *y) {
  int p = ref_pool_out(h, kernel, stride, pad), q = ref_pool_out(w, kernel, stride, pad);
  for (int pl = 0; pl < planes; pl++)
    for (int op = 0; op < p; op++)
      for (int oq = 0; oq < q; oq++) {
        int h0, h1, w0, w1;
        int count = avg_window(op, h, kernel, stride, pad, &h0, &h1) *
                    avg_window(oq, w, kernel, stride, pad, &w0, &w1);
        double sum = 0.0;
        for (int i = h0; i < h1; i++)
          for (int j = w0; j < w1; j++) sum += x[((int64_t)pl * h + i) * w + j];
        y[((int64_t)pl * p + op) * q + oq] = sum / count;
      }
}

void ref_avgpool2d_backward(const double *dy, int planes, int h, int w, int kernel, int stride,
                            int pad, double *dx) {
  int p = ref_pool_out(h, kernel, stride, pad), q = ref_pool_out(w, kernel, stride, pad);
  for (int64_t i = 0; i < (int64_t)planes * h * w; i++) dx[i] = 0.0;
  for (int pl = 0; pl < planes; pl++)
    for (int op = 0; op < p; op++)
      for (int oq = 0; oq < q; oq++) {
        int h0, h1, w0, w1;
        int count = avg_window(op, h, kernel, stride, pad, &h0, &h1) *
                    avg_window(oq, w, kernel, stride, pad, &w0, &w1);
        double g = dy[((int64_t)pl * p + op) * q + oq] / count;
        for (int i = h0; i < h1; i++)
          for (int j = w0; j < w1; j++) dx[((int64_t)pl * h + i) * w + j] += g;
      }
}

void ref_global_avgpool_forward(const double *x, int planes, int h, int w, double *y) {
  for (int pl = 0; pl < planes; pl++) {
    double sum = 0.0;
    for (int i = 0; i < h * w; i++) sum += x[(int64_t)pl * h * w + i];
    y[pl] = sum / (h * w);
  }
}

void ref_global_avgpool_backward(const double *dy, int planes, int h, int w, double *dx) {
  for (int pl = 0; pl < planes; pl++)
    for (int i = 0; i < h * w; i++) dx[(int64_t)pl * h * w + i] = dy[pl] / (h * w);
}
