#include "ops/dispatch.h"
#include "ops/ops.h"

#define REDUCE_WORKGROUP 256u
/* Elements each workgroup of the first pass of rp_sum adds up. */
#define CHUNK 16384

static rp_status sum_rows(rp_recorder *rec, const rp_buffer *x, int64_t n, int64_t rows,
                          int64_t cols, const rp_buffer *out) {
  rp_context *ctx = rp_rec_context(rec);
  uint32_t spec[] = {REDUCE_WORKGROUP};
  const rp_pipeline *pipeline;
  rp_status st = rp_pipeline_get(ctx, &(rp_pipeline_key){"reduce_sum", 2, spec, 1}, &pipeline);
  uint32_t groups[3];
  /* one workgroup per row */
  if (st == RP_OK) st = rp_grid_1d(rp_context_caps(ctx), rows, 1, groups);
  if (st) return st;
  struct {
    uint32_t rows, cols, n;
  } push = {(uint32_t)rows, (uint32_t)cols, (uint32_t)n};
  rp_arg args[] = {{x, 0, (uint64_t)n * sizeof(float), RP_READ},
                   {out, 0, (uint64_t)rows * sizeof(float), RP_WRITE}};
  return rp_rec_dispatch(rec, pipeline, args, 2, &push, sizeof push, groups);
}

rp_status rp_sum_rows(rp_recorder *rec, const rp_tensor *x, int64_t rows, const rp_tensor *out) {
  int64_t n = rp_tensor_numel(x);
  if (rows < 1 || n % rows != 0 || rp_tensor_numel(out) < rows)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "sum_rows: %lld elements do not split into %lld rows of an output of %lld",
                   (long long)n, (long long)rows, (long long)rp_tensor_numel(out));
  return sum_rows(rec, &x->buffer, n, rows, n / rows, &out->buffer);
}

int64_t rp_sum_scratch_elems(int64_t n) { return (n + CHUNK - 1) / CHUNK; }

rp_status rp_sum(rp_recorder *rec, const rp_tensor *x, const rp_tensor *out,
                 const rp_tensor *scratch) {
  int64_t n = rp_tensor_numel(x);
  int64_t partials = rp_sum_scratch_elems(n);
  if (partials == 1) return sum_rows(rec, &x->buffer, n, 1, n, &out->buffer);
  if (rp_tensor_numel(scratch) < partials)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "sum of %lld elements needs %lld floats of scratch, got %lld", (long long)n,
                   (long long)partials, (long long)rp_tensor_numel(scratch));
  /* Two passes, each a fixed tree: chunks into partial sums, then the partial sums. Deeper
   * inputs than CHUNK^2 elements would need a third pass; they exceed any storage buffer. */
  rp_status st = sum_rows(rec, &x->buffer, n, partials, CHUNK, &scratch->buffer);
  return st ? st : sum_rows(rec, &scratch->buffer, partials, 1, partials, &out->buffer);
}
