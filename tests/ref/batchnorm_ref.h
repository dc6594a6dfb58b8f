/* Plain C references for batch normalization, per-channel bias and the input normalization
 * (ops/batchnorm.h), in double throughout, on tensors viewed as [n, c, inner]. No Vulkan. */
#ifndef RP_TEST_BATCHNORM_REF_H
#define RP_TEST_BATCHNORM_REF_H

#include <stdint.h>

/* Training mode: the batch mean, invstd = 1 / sqrt(biased variance + eps) and y; when
 * running_mean/var are not NULL they move toward the batch's mean and unbiased variance:
 * r = (1 - momentum) * r + momentum * statistic. Mean and variance are computed in two passes. */
void ref_batchnorm_train(const double *x, int64_t n, int64_t c, int64_t inner, const double *gamma,
                         const double *beta, double momentum, double eps, double *running_mean,
                         double *running_var, double *mean, double *invstd, double *y);

/* Eval mode: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta. */
void ref_batchnorm_eval(const double *x, int64_t n, int64_t c, int64_t inner, const double *gamma,
                        const double *beta, const double *running_mean, const double *running_var,
                        double eps, double *y);

/* Gradients of the training-mode forward given its saved mean and invstd. */
void ref_batchnorm_backward(const double *x, const double *dy, int64_t n, int64_t c, int64_t inner,
                            const double *gamma, const double *mean, const double *invstd,
                            double *dx, double *dgamma, double *dbeta);

/* y[n, c, i] += bias[c]; dbias[c] = sum of dy[n, c, i] over n and i. */
void ref_bias_add(const double *bias, int64_t n, int64_t c, int64_t inner, double *y);
void ref_bias_grad(const double *dy, int64_t n, int64_t c, int64_t inner, double *dbias);

/* y = (x - mean[c]) / std[c]; dx = dy / std[c]. */
void ref_normalize_forward(const double *x, int64_t n, int64_t c, int64_t inner, const double *mean,
                           const double *std, double *y);
void ref_normalize_backward(const double *dy, int64_t n, int64_t c, int64_t inner,
                            const double *std, double *dx);

#endif
