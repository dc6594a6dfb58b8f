#include "ops/dispatch.h"
#include "ops/ops.h"

rp_status rp_copy(rp_recorder *rec, const rp_tensor *x, const rp_tensor *y) {
  int64_t n = rp_tensor_numel(x);
  if (rp_tensor_numel(y) != n)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "copy of %lld elements into a tensor of %lld",
                   (long long)n, (long long)rp_tensor_numel(y));
  uint32_t spec[] = {RP_ELEMENTWISE_WORKGROUP};
  rp_arg args[] = {{&x->buffer, 0, rp_tensor_bytes(x), RP_READ},
                   {&y->buffer, 0, rp_tensor_bytes(y), RP_WRITE}};
  uint32_t push = (uint32_t)n;
  return rp_vec4_dispatch(rec, "copy", spec, 1, args, 2, 1u, n, &push, sizeof push);
}
