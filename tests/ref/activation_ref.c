#include "activation_ref.h"

void ref_relu_forward(const double *x, int64_t n, double *y) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0 ? x[i] : 0.0;
}

void ref_relu_backward(const double *y, const double *dy, int64_t n, double *dx) {
  /* PyTorch's threshold_backward: y <= 0 ? 0 : dy, so dy passes where y is NaN */
  for (int64_t i = 0; i < n; i++) dx[i] = y[i] <= 0.0 ? 0.0 : dy[i];
}

/* Random123's constants: the round multipliers and the Weyl sequence that bumps the key. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void ref_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; round++) {
    uint64_t prod0 = (uint64_t)PHILOX_M0 * c0, prod1 = (uint64_t)PHILOX_M1 * c2;
    uint32_t n0 = (uint32_t)(prod1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)prod1;
    uint32_t n2 = (uint32_t)(prod0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)prod0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += PHILOX_W0, k1 += PHILOX_W1; /* the bump after the last round is unused */
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

void ref_dropout_mask(int64_t n, float p, uint64_t seed, uint32_t step, uint32_t step_high,
                      uint32_t stream, float *mask) {
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  float scale = p >= 1.0f ? 0.0f : 1.0f / (1.0f - p);
  uint32_t r[4];
  for (int64_t i = 0; i < n; i++) {
    if (i % 4 == 0) {
      const uint32_t ctr[4] = {(uint32_t)(i / 4), stream, step, step_high};
      ref_philox4x32_10(ctr, key, r);
    }
    /* r / 2^32 is exact in double, and so is the float p */
    double u = r[i % 4] / 4294967296.0;
    mask[i] = u >= (double)p ? scale : 0.0f;
  }
}
