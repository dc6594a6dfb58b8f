#include "ops/attack.h"

#include <math.h>

#include "ops/dispatch.h"

/* FGSM is the PGD step from x itself without the projection: one shader for both, the
 * projection switched by specialization constant 1. */
static rp_status attack_step(rp_recorder *rec, const char *name, bool pgd, const rp_tensor *x,
                             const rp_tensor *grad, const rp_tensor *x_orig, float step, float eps,
                             float lo, float hi, const rp_tensor *out) {
  int64_t n = rp_tensor_numel(out);
  if (rp_tensor_numel(x) != n || rp_tensor_numel(grad) != n || rp_tensor_numel(x_orig) != n)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: tensors of %lld, %lld, %lld and %lld elements",
                   name, (long long)rp_tensor_numel(x), (long long)rp_tensor_numel(grad),
                   (long long)rp_tensor_numel(x_orig), (long long)n);
  if (!isfinite(step) || !isfinite(eps) || !(eps >= 0.0f) || !(lo <= hi))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: step %g, eps %g, range [%g, %g]", name,
                   (double)step, (double)eps, (double)lo, (double)hi);
  rp_context *ctx = rp_rec_context(rec);
  uint32_t spec[] = {RP_ELEMENTWISE_WORKGROUP, pgd};
  const rp_pipeline *pipeline;
  rp_status st = rp_pipeline_get(ctx, &(rp_pipeline_key){"attack", 4, spec, 2}, &pipeline);
  uint32_t groups[3];
  if (st == RP_OK) st = rp_grid_1d(rp_context_caps(ctx), n, spec[0], groups);
  if (st) return st;
  struct {
    uint32_t n;
    float step, eps, lo, hi;
  } push = {(uint32_t)n, step, eps, lo, hi};
  uint64_t bytes = rp_tensor_bytes(out);
  rp_arg args[] = {{&x->buffer, 0, bytes, RP_READ},
                   {&grad->buffer, 0, bytes, RP_READ},
                   {&x_orig->buffer, 0, bytes, RP_READ},
                   {&out->buffer, 0, bytes, RP_WRITE}};
  return rp_rec_dispatch(rec, pipeline, args, 4, &push, sizeof push, groups);
}

rp_status rp_fgsm_step(rp_recorder *rec, const rp_tensor *x, const rp_tensor *grad, float eps,
                       float lo, float hi, const rp_tensor *out) {
  return attack_step(rec, "fgsm", false, x, grad, x, eps, eps, lo, hi, out);
}

rp_status rp_pgd_step(rp_recorder *rec, const rp_tensor *x_adv, const rp_tensor *grad,
                      const rp_tensor *x_orig, float step, float eps, float lo, float hi,
                      const rp_tensor *out) {
  return attack_step(rec, "pgd", true, x_adv, grad, x_orig, step, eps, lo, hi, out);
}
