/* Plain C reference of the MNIST CNN (runtime/nn/models.c) in eval mode, in double, one image
 * at a time: conv5x5 32 (pad 2) + ReLU + max-pool 2, conv5x5 64 (pad 2) + ReLU + max-pool 2,
 * fc 1024 + ReLU (dropout: the identity in eval mode), fc 10. No Vulkan here. */
#ifndef RP_TEST_MNIST_CNN_REF_H
#define RP_TEST_MNIST_CNN_REF_H

#include <stdint.h>

enum {
  REF_CNN_SIDE = 28,
  REF_CNN_PIXELS = REF_CNN_SIDE * REF_CNN_SIDE,
  REF_CNN_C1 = 32,
  REF_CNN_C2 = 64,
  REF_CNN_H1 = REF_CNN_SIDE / 2, /* after the first pool */
  REF_CNN_H2 = REF_CNN_SIDE / 4, /* after the second */
  REF_CNN_FLAT = REF_CNN_C2 * REF_CNN_H2 * REF_CNN_H2,
  REF_CNN_HIDDEN = 1024,
  REF_CNN_CLASSES = 10,
};

/* The weights, in PyTorch's layouts (conv [out, in, 5, 5], linear [out, in]). */
typedef struct ref_cnn {
  double *conv1_w, *conv1_b, *conv2_w, *conv2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
} ref_cnn;

/* One image's activations, kept for the backward pass, and the backward pass's scratch. */
typedef struct ref_cnn_pass {
  double input[REF_CNN_PIXELS]; /* set by the caller: the normalized image */
  double conv1[REF_CNN_C1 * REF_CNN_PIXELS], pool1[REF_CNN_C1 * REF_CNN_H1 * REF_CNN_H1];
  double conv2[REF_CNN_C2 * REF_CNN_H1 * REF_CNN_H1], pool2[REF_CNN_FLAT];
  double hidden[REF_CNN_HIDDEN], logits[REF_CNN_CLASSES];
  uint32_t where1[REF_CNN_C1 * REF_CNN_H1 * REF_CNN_H1], where2[REF_CNN_FLAT]; /* pool maxima */
  double d_conv1[REF_CNN_C1 * REF_CNN_PIXELS], d_pool1[REF_CNN_C1 * REF_CNN_H1 * REF_CNN_H1];
  double d_conv2[REF_CNN_C2 * REF_CNN_H1 * REF_CNN_H1], d_pool2[REF_CNN_FLAT];
  double d_hidden[REF_CNN_HIDDEN];
} ref_cnn_pass;

/* logits of pass->input, every activation kept in `pass` */
void ref_cnn_forward(const ref_cnn *m, ref_cnn_pass *pass);

/* d_input = d(sum_j d_logits[j] logit_j)/d input at the last forward pass (its ReLU masks and
 * pooling choices); only the weights are read, not the biases. */
void ref_cnn_backward(const ref_cnn *m, ref_cnn_pass *pass, const double *d_logits,
                      double *d_input);

#endif
