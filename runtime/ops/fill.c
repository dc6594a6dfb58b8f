#include "ops/dispatch.h"
#include "ops/ops.h"

rp_status rp_fill(rp_recorder *rec, const rp_tensor *y, float value) {
  rp_context *ctx = rp_rec_context(rec);
  uint32_t spec[] = {RP_ELEMENTWISE_WORKGROUP};
  const rp_pipeline *pipeline;
  rp_status st = rp_pipeline_get(ctx, &(rp_pipeline_key){"fill", 1, spec, 1}, &pipeline);
  uint32_t groups[3];
  if (st == RP_OK) st = rp_grid_1d(rp_context_caps(ctx), rp_tensor_numel(y), spec[0], groups);
  if (st) return st;
  struct {
    uint32_t n;
    float value;
  } push = {(uint32_t)rp_tensor_numel(y), value};
  rp_arg args[] = {{&y->buffer, 0, rp_tensor_bytes(y), RP_WRITE}};
  return rp_rec_dispatch(rec, pipeline, args, 1, &push, sizeof push, groups);
}
