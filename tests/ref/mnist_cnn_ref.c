#include "ref/mnist_cnn_ref.h"

#include <string.h>

#include "ref/activation_ref.h"
#include "ref/conv2d_ref.h"
#include "ref/pool_ref.h"

enum { SIDE = REF_CNN_SIDE, C1 = REF_CNN_C1, C2 = REF_CNN_C2, H1 = REF_CNN_H1 };

static const ref_conv_shape conv1_shape = {1, 1, SIDE, SIDE, C1, 5, 5, 1, 2};
static const ref_conv_shape conv2_shape = {1, C1, H1, H1, C2, 5, 5, 1, 2};

/* out[o] = b[o] + sum_i w[o, i] in[i] */
static void linear(const double *w, const double *b, const double *in, int n_in, int n_out,
                   double *out) {
  for (int o = 0; o < n_out; o++) {
    double s = b[o];
    for (int i = 0; i < n_in; i++) s += w[(size_t)o * n_in + i] * in[i];
    out[o] = s;
  }
}

/* in_grad[i] = sum_o w[o, i] out_grad[o] */
static void linear_backward(const double *w, const double *out_grad, int n_in, int n_out,
                            double *in_grad) {
  memset(in_grad, 0, (size_t)n_in * sizeof *in_grad);
  for (int o = 0; o < n_out; o++)
    for (int i = 0; i < n_in; i++) in_grad[i] += w[(size_t)o * n_in + i] * out_grad[o];
}

void ref_cnn_forward(const ref_cnn *m, ref_cnn_pass *a) {
  ref_conv2d_forward(&conv1_shape, a->input, m->conv1_w, m->conv1_b, a->conv1);
  ref_relu_forward(a->conv1, (int64_t)C1 * SIDE * SIDE, a->conv1);
  ref_maxpool2d_forward(a->conv1, C1, SIDE, SIDE, 2, 2, 0, a->pool1, a->where1);
  ref_conv2d_forward(&conv2_shape, a->pool1, m->conv2_w, m->conv2_b, a->conv2);
  ref_relu_forward(a->conv2, (int64_t)C2 * H1 * H1, a->conv2);
  ref_maxpool2d_forward(a->conv2, C2, H1, H1, 2, 2, 0, a->pool2, a->where2);
  linear(m->fc1_w, m->fc1_b, a->pool2, REF_CNN_FLAT, REF_CNN_HIDDEN, a->hidden);
  ref_relu_forward(a->hidden, REF_CNN_HIDDEN, a->hidden);
  linear(m->fc2_w, m->fc2_b, a->hidden, REF_CNN_HIDDEN, REF_CNN_CLASSES, a->logits);
}

void ref_cnn_backward(const ref_cnn *m, ref_cnn_pass *a, const double *d_logits, double *d_input) {
  linear_backward(m->fc2_w, d_logits, REF_CNN_HIDDEN, REF_CNN_CLASSES, a->d_hidden);
  ref_relu_backward(a->hidden, a->d_hidden, REF_CNN_HIDDEN, a->d_hidden);
  linear_backward(m->fc1_w, a->d_hidden, REF_CNN_FLAT, REF_CNN_HIDDEN, a->d_pool2);
  ref_maxpool2d_backward(a->d_pool2, a->where2, C2, H1, H1, 2, 2, 0, a->d_conv2);
  ref_relu_backward(a->conv2, a->d_conv2, (int64_t)C2 * H1 * H1, a->d_conv2);
  ref_conv2d_backward_data(&conv2_shape, a->d_conv2, m->conv2_w, a->d_pool1);
  ref_maxpool2d_backward(a->d_pool1, a->where1, C1, SIDE, SIDE, 2, 2, 0, a->d_conv1);
  ref_relu_backward(a->conv1, a->d_conv1, (int64_t)C1 * SIDE * SIDE, a->d_conv1);
  ref_conv2d_backward_data(&conv1_shape, a->d_conv1, m->conv1_w, d_input);
}
