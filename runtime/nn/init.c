#include "nn/init.h"

#include <math.h>
#include <stdlib.h>

#include "ops/ops.h"

/* splitmix64: the finalizer mixes well enough to derive independent streams from one seed. */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* 53 random bits to a double in [0, 1). */
static double uniform01(uint64_t *state) { return (double)(splitmix64(state) >> 11) * 0x1.0p-53; }

/* One value of `init`'s distribution. The normal is Box-Muller's cosine branch, 1 - u keeping
 * the logarithm's argument in (0, 1]. */
static float draw(const rp_init *init, uint64_t *state) {
  switch (init->kind) {
  case RP_INIT_CONSTANT: return (float)init->scale;
  case RP_INIT_UNIFORM: return (float)((2.0 * uniform01(state) - 1.0) * init->scale);
  case RP_INIT_NORMAL: {
    const double two_pi = 6.283185307179586;
    double r = sqrt(-2.0 * log(1.0 - uniform01(state)));
    double angle = two_pi * uniform01(state);
    return (float)(r * cos(angle) * init->scale);
  }
  }
  return 0.0f;
}

uint64_t rp_seed_mix(uint64_t seed, uint64_t stream) {
  uint64_t s = seed ^ (stream * 0xd1b54a32d192ed03ull);
  return splitmix64(&s);
}

rp_status rp_net_init_params(rp_net *net, uint64_t seed) {
  rp_status st = RP_OK;
  for (int i = 0; i < net->param_count && !st; i++) {
    rp_param *p = &net->params[i];
    int64_t n = rp_tensor_numel(&p->value);
    float *host = malloc((size_t)n * sizeof *host);
    if (!host) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
    uint64_t state = rp_seed_mix(seed, (uint64_t)i);
    for (int64_t k = 0; k < n; k++) host[k] = draw(&p->init, &state);
    st = rp_tensor_upload(net->ctx, &p->value, host);
    if (!st && p->trainable) {
      for (int64_t k = 0; k < n; k++) host[k] = 0.0f;
      st = rp_tensor_upload(net->ctx, &p->momentum, host);
    }
    free(host);
  }
  for (int i = 0; i < net->bn_count; i++) net->bn_batches[i] = 0;
  return st;
}
