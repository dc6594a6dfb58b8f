/* Microbenchmarks of a device, measured as vkpeak does: the device's own FMA peak and copy
 * bandwidth first, then each kernel as a fraction of them.
 *
 * Every figure is the median of `repeats` timed runs after one warm-up, timed by GPU
 * timestamps where the device has them and by the wall clock around submit-and-wait
 * otherwise. */
#ifndef RP_BENCH_H
#define RP_BENCH_H

#include "ops/ops.h"

typedef struct rp_bench_result {
  char name[32];
  char unit[16]; /* "GFLOP/s" or "GB/s" */
  double value;  /* from the median time */
  double median_ms, min_ms, max_ms;
  int repeats;
  double work;     /* FLOPs or bytes per run */
  char detail[96]; /* kernel and sizes */
} rp_bench_result;

/* fp32 FMA peak: long chains of vec4 FMAs over enough invocations to fill the device. */
rp_status rp_bench_peak(rp_context *ctx, int repeats, rp_bench_result *out);

/* Device-memory copy bandwidth (bytes read + bytes written per second). */
rp_status rp_bench_copy(rp_context *ctx, int repeats, rp_bench_result *out);

/* C = A * B at n x n x n with the device's default GEMM tuning. */
rp_status rp_bench_gemm(rp_context *ctx, int n, const rp_gemm_tuning *tuning, int repeats,
                        rp_bench_result *out);

#endif
