#include "ops/dispatch.h"
#include "ops/ops.h"

/* Specialization constant 1 of shaders/elementwise.comp */
enum { OP_ADD, OP_MUL, OP_AXPY, OP_SCALE };

static const char *op_names[] = {"add", "mul", "axpy", "scale"};

/* out = op(x, y). For axpy `out` is `y`: bound once to read and once to write, which the
 * hazard tracker sees as both. */
static rp_status elementwise(rp_recorder *rec, uint32_t op, float alpha, const rp_tensor *x,
                             const rp_tensor *y, const rp_tensor *out) {
  int64_t n = rp_tensor_numel(out);
  if (rp_tensor_numel(x) != n || rp_tensor_numel(y) != n)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: tensors of %lld, %lld and %lld elements",
                   op_names[op], (long long)rp_tensor_numel(x), (long long)rp_tensor_numel(y),
                   (long long)n);
  uint32_t spec[] = {RP_ELEMENTWISE_WORKGROUP, op};
  uint64_t bytes = rp_tensor_bytes(out);
  rp_arg args[] = {{&x->buffer, 0, bytes, RP_READ},
                   {&y->buffer, 0, bytes, RP_READ},
                   {&out->buffer, 0, bytes, RP_WRITE}};
  struct {
    uint32_t n;
    float alpha;
  } push = {(uint32_t)n, alpha};
  return rp_vec4_dispatch(rec, "elementwise", spec, 2, args, 3, 3u, n, &push, sizeof push);
}

rp_status rp_add(rp_recorder *rec, const rp_tensor *x, const rp_tensor *y, const rp_tensor *out) {
  return elementwise(rec, OP_ADD, 0.0f, x, y, out);
}

rp_status rp_mul(rp_recorder *rec, const rp_tensor *x, const rp_tensor *y, const rp_tensor *out) {
  return elementwise(rec, OP_MUL, 0.0f, x, y, out);
}

rp_status rp_axpy(rp_recorder *rec, float alpha, const rp_tensor *x, const rp_tensor *y) {
  return elementwise(rec, OP_AXPY, alpha, x, y, y);
}

rp_status rp_scale(rp_recorder *rec, float alpha, const rp_tensor *x, const rp_tensor *out) {
  return elementwise(rec, OP_SCALE, alpha, x, x, out);
}
