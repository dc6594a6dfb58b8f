#include "ops/dispatch.h"
#include "ops/ops.h"

rp_status rp_copy(rp_recorder *rec, const rp_tensor *x, const rp_tensor *y) {
  int64_t n = rp_tensor_numel(x);
  if (rp_tensor_numel(y) != n)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "copy of %lld elements into a tensor of %lld",
                   (long long)n, (long long)rp_tensor_numel(y));
  rp_context *ctx = rp_rec_context(rec);
  const rp_caps *caps = rp_context_caps(ctx);
  uint32_t spec[] = {RP_ELEMENTWISE_WORKGROUP};
  rp_arg args[] = {{&x->buffer, 0, rp_tensor_bytes(x), RP_READ},
                   {&y->buffer, 0, rp_tensor_bytes(y), RP_WRITE}};
  char name[48];
  rp_pipeline_key key = rp_texel_key(caps, "copy", name, sizeof name, 2, spec, 1, args, 1u, 1u);
  const rp_pipeline *pipeline;
  rp_status st = rp_pipeline_get(ctx, &key, &pipeline);
  uint32_t groups[3];
  if (st == RP_OK) st = rp_grid_1d(caps, rp_vec4_invocations(n), spec[0], groups);
  if (st) return st;
  uint32_t push = (uint32_t)n;
  return rp_rec_dispatch(rec, pipeline, args, 2, &push, sizeof push, groups);
}
