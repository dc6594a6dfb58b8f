/* Counter-based random numbers for the data pipeline.
 *
 * Every random decision (the split, an epoch's order, one image's crop) is drawn from a stream
 * keyed by the values that identify it (seed, epoch, position), never from a shared generator
 * whose state depends on what ran before or on thread timing. splitmix64 (Steele, Lea and
 * Flood 2014) is the mixer: cheap, full-period, and good enough for shuffles and coin flips. */
#ifndef RP_DATA_RNG_H
#define RP_DATA_RNG_H

#include <stdint.h>

typedef struct rp_rng {
  uint64_t state;
} rp_rng;

static inline uint64_t rp_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* A stream identified by (seed, domain, a, b): `domain` keeps the split, the order and the
 * augmentations apart even when they share a seed. */
static inline rp_rng rp_rng_key(uint64_t seed, uint64_t domain, uint64_t a, uint64_t b) {
  uint64_t h = rp_mix64(seed + 0x9e3779b97f4a7c15ULL);
  h = rp_mix64(h ^ (domain * 0x9e3779b97f4a7c15ULL));
  h = rp_mix64(h ^ (a + 0x632be59bd9b4e019ULL));
  h = rp_mix64(h ^ (b + 0x85157af5d0bba4f3ULL));
  return (rp_rng){h};
}

static inline uint64_t rp_rng_next(rp_rng *r) {
  r->state += 0x9e3779b97f4a7c15ULL;
  return rp_mix64(r->state);
}

/* Uniform in [0, n), n > 0, without modulo bias (rejects the short top range). */
static inline uint64_t rp_rng_below(rp_rng *r, uint64_t n) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (;;) {
    uint64_t x = rp_rng_next(r);
    if (x < limit) return x % n;
  }
}

/* Fisher-Yates over idx[0..n). */
static inline void rp_rng_shuffle(rp_rng *r, int64_t *idx, int64_t n) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)rp_rng_below(r, (uint64_t)i + 1);
    int64_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

enum { RP_RNG_SPLIT = 1, RP_RNG_ORDER = 2, RP_RNG_AUGMENT = 3 };

#endif
