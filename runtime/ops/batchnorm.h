/* Batch normalization over the channels of x [N, C, H, W] (or [N, C], or [N, C, L]), as
 * torch.nn.BatchNorm2d/1d: batch statistics in training (biased variance to normalize, unbiased
 * variance into the running estimate), running statistics in eval mode. Every reduction is a
 * fixed-order tree (no atomics), so results are bit-reproducible on one device. Outputs are
 * overwritten. Per-channel vectors ([C]: gamma, beta, statistics, gradients) may have any shape
 * of C elements; every tensor is fp32 and x has fewer than 2^31 elements. Intermediate partial
 * sums live in recorder scratch (rp_rec_scratch). */
#ifndef RP_BATCHNORM_H
#define RP_BATCHNORM_H

#include "ops/tensor.h"

/* Training mode: y = gamma * (x - mean) * invstd + beta with the batch's mean and
 * invstd = 1 / sqrt(var + eps); saves mean and invstd [C] for the backward pass and updates
 * running_mean/var [C] in place: r = (1 - momentum) r + momentum * batch statistic (PyTorch's
 * momentum convention, 0.1 by default), the variance's being unbiased (n / (n - 1)). Like
 * PyTorch, refuses one value per channel (N * H * W == 1). */
rp_status rp_batchnorm_forward_train(rp_recorder *rec, const rp_tensor *x, const rp_tensor *gamma,
                                     const rp_tensor *beta, float momentum, float eps,
                                     const rp_tensor *running_mean, const rp_tensor *running_var,
                                     const rp_tensor *save_mean, const rp_tensor *save_invstd,
                                     const rp_tensor *y);

/* Eval mode: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta. */
rp_status rp_batchnorm_forward_eval(rp_recorder *rec, const rp_tensor *x, const rp_tensor *gamma,
                                    const rp_tensor *beta, const rp_tensor *running_mean,
                                    const rp_tensor *running_var, float eps, const rp_tensor *y);

/* Gradients of a training-mode forward, given its saved mean and invstd: dx, and dgamma, dbeta
 * [C] (overwritten, not accumulated). With xhat = (x - mean) * invstd and M = N * H * W:
 *   dbeta = sum dy,  dgamma = sum dy * xhat,
 *   dx = gamma * invstd * (dy - (dbeta + xhat * dgamma) / M). */
rp_status rp_batchnorm_backward(rp_recorder *rec, const rp_tensor *x, const rp_tensor *dy,
                                const rp_tensor *gamma, const rp_tensor *save_mean,
                                const rp_tensor *save_invstd, const rp_tensor *dx,
                                const rp_tensor *dgamma, const rp_tensor *dbeta);

/* Per-channel bias, for linear and convolution layers: y [N, C, inner...] += bias[c], and its
 * gradient dbias[c] = sum of dy over every dimension but the channel (overwritten). A 2-D
 * tensor [N, C] has inner size 1. */
rp_status rp_bias_add(rp_recorder *rec, const rp_tensor *bias, const rp_tensor *y);
rp_status rp_bias_grad(rp_recorder *rec, const rp_tensor *dy, const rp_tensor *dbias);

/* The input normalization that sits inside a model, so attacks work on the [0, 1] pixel scale:
 * y[n, c, ...] = (x[n, c, ...] - mean[c]) / std[c] and its backward dx = dy / std[c]; mean and
 * std are host arrays of C <= 4 floats (std finite and nonzero), recorded as push constants. */
rp_status rp_normalize_forward(rp_recorder *rec, const rp_tensor *x, const float *mean,
                               const float *std, const rp_tensor *y);
rp_status rp_normalize_backward(rp_recorder *rec, const rp_tensor *dy, const float *std,
                                const rp_tensor *dx);

#endif
