#include "bench/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What one benchmark records: the dispatches of one timed run. */
typedef rp_status (*record_fn)(rp_recorder *rec, void *user);

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Records the work once between two timestamps, then submits it 1 + repeats times, keeping
 * the timings of all but the first (warm-up: caches, clocks, lazy driver work). */
static rp_status time_runs(rp_context *ctx, record_fn record, void *user, int repeats,
                           rp_bench_result *out) {
  rp_recorder *rec;
  rp_status st = rp_recorder_create(ctx, &rec);
  if (st) return st;
  int t0 = -1, t1 = -1;
  st = rp_rec_begin(rec);
  if (st == RP_OK) {
    t0 = rp_rec_timestamp(rec);
    st = record(rec, user);
    t1 = rp_rec_timestamp(rec);
    rp_status end = rp_rec_end(rec);
    if (st == RP_OK) st = end;
  }
  double *ms = calloc((size_t)repeats, sizeof *ms);
  if (!ms) {
    rp_recorder_destroy(rec);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  }
  for (int i = -1; st == RP_OK && i < repeats; i++) {
    double start = now_ms();
    st = rp_rec_run(rec);
    double wall = now_ms() - start;
    if (st == RP_OK && i >= 0) {
      ms[i] = wall;
      if (t0 >= 0 && t1 >= 0) st = rp_rec_elapsed_ms(rec, t0, t1, &ms[i]);
    }
  }
  if (st == RP_OK) {
    qsort(ms, (size_t)repeats, sizeof *ms, compare_doubles);
    out->repeats = repeats;
    out->min_ms = ms[0];
    out->max_ms = ms[repeats - 1];
    out->median_ms = repeats % 2 ? ms[repeats / 2] : 0.5 * (ms[repeats / 2 - 1] + ms[repeats / 2]);
    double per_second = out->work / (out->median_ms * 1e-3);
    out->value = per_second * 1e-9;
  }
  free(ms);
  rp_recorder_destroy(rec);
  return st;
}

/* ---- peak ---- */

typedef struct peak_job {
  const rp_pipeline *pipeline;
  rp_tensor *sink;
  uint32_t loops, groups;
} peak_job;

#define PEAK_WORKGROUP 256u
#define PEAK_FLOPS_PER_LOOP (8.0 * 4.0 * 2.0 * 4.0) /* chains x lanes x (mul+add) x unroll */

static rp_status record_peak(rp_recorder *rec, void *user) {
  peak_job *job = user;
  struct {
    uint32_t loops;
    float seed;
  } push = {job->loops, 1.0f};
  rp_arg args[] = {{&job->sink->buffer, 0, 0, RP_WRITE}};
  uint32_t groups[3] = {job->groups, 1, 1};
  return rp_rec_dispatch(rec, job->pipeline, args, 1, &push, sizeof push, groups);
}

rp_status rp_bench_peak(rp_context *ctx, int repeats, rp_bench_result *out) {
  memset(out, 0, sizeof *out);
  const rp_caps *caps = rp_context_caps(ctx);
  /* Enough workgroups to fill any device several times over; fewer on a CPU, where every
   * workgroup is a slice of a thread's time anyway. */
  uint32_t groups = caps->device_class == RP_CLASS_CPU ? 64 : 4096;
  uint32_t spec[] = {PEAK_WORKGROUP};
  peak_job job = {.groups = groups, .loops = 16};
  rp_tensor sink;
  rp_status st = rp_pipeline_get(ctx, &(rp_pipeline_key){"peak_fma", 1, spec, 1}, &job.pipeline);
  if (st == RP_OK)
    st = rp_tensor_create(ctx, 1, (int64_t[]){(int64_t)groups * PEAK_WORKGROUP}, &sink);
  if (st) return st;
  job.sink = &sink;
  /* Grow the chain length until one run takes long enough to time well (>= 50 ms). */
  for (;;) {
    out->work = PEAK_FLOPS_PER_LOOP * job.loops * groups * PEAK_WORKGROUP;
    st = time_runs(ctx, record_peak, &job, 1, out);
    if (st || out->median_ms >= 50.0 || job.loops >= (1u << 24)) break;
    double scale = out->median_ms > 0.5 ? 60.0 / out->median_ms : 64.0;
    job.loops = (uint32_t)(job.loops * (scale < 64.0 ? scale : 64.0)) + 1;
  }
  if (st == RP_OK) st = time_runs(ctx, record_peak, &job, repeats, out);
  snprintf(out->name, sizeof out->name, "peak_fma");
  snprintf(out->unit, sizeof out->unit, "GFLOP/s");
  snprintf(out->detail, sizeof out->detail, "%u x %u invocations, %u x 32 vec4 FMAs each", groups,
           PEAK_WORKGROUP, job.loops);
  rp_tensor_destroy(ctx, &sink);
  return st;
}

/* ---- copy bandwidth ---- */

typedef struct copy_job {
  rp_tensor *src, *dst;
} copy_job;

static rp_status record_copy(rp_recorder *rec, void *user) {
  copy_job *job = user;
  return rp_copy(rec, job->src, job->dst);
}

rp_status rp_bench_copy(rp_context *ctx, int repeats, rp_bench_result *out) {
  memset(out, 0, sizeof *out);
  const rp_caps *caps = rp_context_caps(ctx);
  /* Far larger than any cache: 64 MiB on a CPU device, 256 MiB on a GPU, within one binding. */
  uint64_t bytes = caps->device_class == RP_CLASS_CPU ? 64ull << 20 : 256ull << 20;
  if (bytes > caps->max_storage_buffer_range) bytes = caps->max_storage_buffer_range & ~15ull;
  int64_t n = (int64_t)(bytes / sizeof(float));
  rp_tensor src, dst;
  rp_status st = rp_tensor_create(ctx, 1, &n, &src);
  if (st) return st;
  st = rp_tensor_create(ctx, 1, &n, &dst);
  if (st) {
    rp_tensor_destroy(ctx, &src);
    return st;
  }
  copy_job job = {&src, &dst};
  out->work = 2.0 * (double)bytes; /* read once, written once */
  st = time_runs(ctx, record_copy, &job, repeats, out);
  snprintf(out->name, sizeof out->name, "copy");
  snprintf(out->unit, sizeof out->unit, "GB/s");
  snprintf(out->detail, sizeof out->detail, "%llu MiB buffer to buffer, shader vec4 copy",
           (unsigned long long)(bytes >> 20));
  rp_tensor_destroy(ctx, &src);
  rp_tensor_destroy(ctx, &dst);
  return st;
}

/* ---- GEMM ---- */

typedef struct gemm_job {
  const rp_gemm_tuning *tuning;
  rp_tensor *a, *b, *c;
} gemm_job;

static rp_status record_gemm(rp_recorder *rec, void *user) {
  gemm_job *job = user;
  return rp_gemm_tuned(rec, job->tuning, false, false, 1.0f, job->a, job->b, 0.0f, job->c);
}

rp_status rp_bench_gemm(rp_context *ctx, int n, const rp_gemm_tuning *tuning, int repeats,
                        rp_bench_result *out) {
  memset(out, 0, sizeof *out);
  int64_t shape[2] = {n, n};
  rp_tensor t[3] = {0};
  rp_status st = RP_OK;
  for (int i = 0; i < 3 && st == RP_OK; i++) st = rp_tensor_create(ctx, 2, shape, &t[i]);
  /* Inputs of small integers keep the products exact; the values do not change the speed. */
  float *host = st == RP_OK ? malloc((size_t)n * n * sizeof *host) : NULL;
  if (st == RP_OK && !host) st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  for (int64_t i = 0; host && i < (int64_t)n * n; i++) host[i] = (float)(i % 7) - 3.0f;
  if (st == RP_OK) st = rp_tensor_upload(ctx, &t[0], host);
  if (st == RP_OK) st = rp_tensor_upload(ctx, &t[1], host);
  free(host);
  if (st == RP_OK) {
    gemm_job job = {tuning, &t[0], &t[1], &t[2]};
    out->work = 2.0 * n * (double)n * n;
    st = time_runs(ctx, record_gemm, &job, repeats, out);
  }
  snprintf(out->name, sizeof out->name, "gemm%d", n);
  snprintf(out->unit, sizeof out->unit, "GFLOP/s");
  if (tuning->kernel == RP_GEMM_REGBLOCK)
    snprintf(out->detail, sizeof out->detail, "%d^3 regblock wg %u, %ux%u per invocation", n,
             tuning->workgroup, tuning->tm, tuning->tn);
  else if (tuning->kernel == RP_GEMM_LANES)
    snprintf(out->detail, sizeof out->detail, "%d^3 lanes subgroup %u, %ux%u per invocation", n,
             tuning->workgroup, tuning->tm, tuning->tn);
  else
    snprintf(out->detail, sizeof out->detail, "%d^3 tiled %ux%ux%u, %ux%u per invocation", n,
             tuning->bm, tuning->bn, tuning->bk, tuning->tm, tuning->tn);
  for (int i = 0; i < 3; i++) rp_tensor_destroy(ctx, &t[i]);
  return st;
}
