/* The training-step benchmark: images per second of one recorded step (forward, loss,
 * backward, SGD update) of a network on synthetic data, the workload `repro bench` reports
 * beside its microbenchmarks and bench/pytorch_peer.py reproduces in PyTorch. */
#ifndef RP_TRAIN_BENCH_H
#define RP_TRAIN_BENCH_H

#include "bench/bench.h"

/* CIFAR-shaped input (3x32x32, 10 classes) except for mnist_cnn (1x28x28). The median of
 * `repeats` timings of `steps` back-to-back steps each, after one warm-up step; value in
 * images/s. */
typedef void (*rp_profile_fn)(const char *shader, double ms, void *user);

/* With REPRO_PROFILE=1, `profile` (if not NULL) then receives every dispatch of the last step
 * with its time, in recording order. */
rp_status rp_bench_train_step(rp_context *ctx, const char *model, int batch, int steps,
                              int repeats, rp_bench_result *out, rp_profile_fn profile,
                              void *user);

#endif
