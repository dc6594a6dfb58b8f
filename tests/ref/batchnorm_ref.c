#include "ref/batchnorm_ref.h"

#include <math.h>

/* Element i of sample s in channel ch of a tensor viewed as [n, c, inner]. */
#define AT(s, ch, i) (((s)*c + (ch)) * inner + (i))

void ref_batchnorm_train(const double *x, int64_t n, int64_t c, int64_t inner, const double *gamma,
                         const double *beta, double momentum, double eps, double *running_mean,
                         double *running_var, double *mean, double *invstd, double *y) {
  double m = (double)(n * inner);
  for (int64_t ch = 0; ch < c; ch++) {
    double sum = 0.0, sq = 0.0;
    for (int64_t s = 0; s < n; s++)
      for (int64_t i = 0; i < inner; i++) sum += x[AT(s, ch, i)];
    double mu = sum / m;
    for (int64_t s = 0; s < n; s++)
      for (int64_t i = 0; i < inner; i++) sq += (x[AT(s, ch, i)] - mu) * (x[AT(s, ch, i)] - mu);
    double is = 1.0 / sqrt(sq / m + eps);
    mean[ch] = mu;
    invstd[ch] = is;
    for (int64_t s = 0; s < n; s++)
      for (int64_t i = 0; i < inner; i++)
        y[AT(s, ch, i)] = gamma[ch] * (x[AT(s, ch, i)] - mu) * is + beta[ch];
    if (running_mean) running_mean[ch] = (1.0 - momentum) * running_mean[ch] + momentum * mu;
    if (running_var)
      running_var[ch] = (1.0 - momentum) * running_var[ch] + momentum * sq / (m - 1.0);
  }
}

void ref_batchnorm_eval(const double *x, int64_t n, int64_t c, int64_t inner, const double *gamma,
                        const double *beta, const double *running_mean, const double *running_var,
                        double eps, double *y) {
  for (int64_t ch = 0; ch < c; ch++) {
    double is = 1.0 / sqrt(running_var[ch] + eps);
    for (int64_t s = 0; s < n; s++)
      for (int64_t i = 0; i < inner; i++)
        y[AT(s, ch, i)] = gamma[ch] * (x[AT(s, ch, i)] - running_mean[ch]) * is + beta[ch];
  }
}

void ref_batchnorm_backward(const double *x, const double *dy, int64_t n, int64_t c, int64_t inner,
                            const double *gamma, const double *mean, const double *invstd,
                            double *dx, double *dgamma, double *dbeta) {
  double m = (double)(n * inner);
  for (int64_t ch = 0; ch < c; ch++) {
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t s = 0; s < n; s++)
      for (int64_t i = 0; i < inner; i++) {
        double g = dy[AT(s, ch, i)];
        sum_dy += g;
        sum_dy_xhat += g * (x[AT(s, ch, i)] - mean[ch]) * invstd[ch];
      }
    dbeta[ch] = sum_dy;
    dgamma[ch] = sum_dy_xhat;
    /* dL/dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) */
    for (int64_t s = 0; s < n; s++)
      for (int64_t i = 0; i < inner; i++) {
        double xhat = (x[AT(s, ch, i)] - mean[ch]) * invstd[ch];
        dx[AT(s, ch, i)] =
            gamma[ch] * invstd[ch] * (dy[AT(s, ch, i)] - sum_dy / m - xhat * sum_dy_xhat / m);
      }
  }
}

void ref_bias_add(const double *bias, int64_t n, int64_t c, int64_t inner, double *y) {
  for (int64_t s = 0; s < n; s++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t i = 0; i < inner; i++) y[AT(s, ch, i)] += bias[ch];
}

void ref_bias_grad(const double *dy, int64_t n, int64_t c, int64_t inner, double *dbias) {
  for (int64_t ch = 0; ch < c; ch++) {
    double sum = 0.0;
    for (int64_t s = 0; s < n; s++)
      for (int64_t i = 0; i < inner; i++) sum += dy[AT(s, ch, i)];
    dbias[ch] = sum;
  }
}

void ref_normalize_forward(const double *x, int64_t n, int64_t c, int64_t inner, const double *mean,
                           const double *std, double *y) {
  for (int64_t s = 0; s < n; s++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t i = 0; i < inner; i++) y[AT(s, ch, i)] = (x[AT(s, ch, i)] - mean[ch]) / std[ch];
}

void ref_normalize_backward(const double *dy, int64_t n, int64_t c, int64_t inner,
                            const double *std, double *dx) {
  for (int64_t s = 0; s < n; s++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t i = 0; i < inner; i++) dx[AT(s, ch, i)] = dy[AT(s, ch, i)] / std[ch];
}
