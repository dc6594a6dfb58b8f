#include "ops/optimizer.h"

#include <math.h>

#include "ops/dispatch.h"

/* Specialization constant 1 of shaders/sgd.comp */
enum { SGD_PLAIN, SGD_MOMENTUM, SGD_NESTEROV };

rp_status rp_sgd_step(rp_recorder *rec, const rp_tensor *w, const rp_tensor *grad,
                      const rp_tensor *momentum_buf, const rp_tensor *hyper, float momentum,
                      float weight_decay, bool nesterov) {
  int64_t n = rp_tensor_numel(w);
  /* torch.optim.SGD refuses the same values */
  if (!(momentum >= 0.0f) || !isfinite(momentum) || !(weight_decay >= 0.0f) ||
      !isfinite(weight_decay))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "sgd: momentum %g and weight decay %g, want >= 0",
                   (double)momentum, (double)weight_decay);
  if (nesterov && momentum == 0.0f)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "sgd: nesterov needs a momentum above 0");
  if (rp_tensor_numel(grad) != n)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "sgd: %lld weights and %lld gradients", (long long)n,
                   (long long)rp_tensor_numel(grad));
  if (momentum != 0.0f && (!momentum_buf || rp_tensor_numel(momentum_buf) != n))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "sgd: %lld weights and a momentum buffer of %lld",
                   (long long)n, momentum_buf ? (long long)rp_tensor_numel(momentum_buf) : 0ll);
  if (!hyper || hyper->dtype != RP_F32)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "sgd: the hyperparameters are not an F32 tensor");

  uint32_t mode = momentum == 0.0f ? SGD_PLAIN : nesterov ? SGD_NESTEROV : SGD_MOMENTUM;
  rp_context *ctx = rp_rec_context(rec);
  uint32_t spec[] = {RP_ELEMENTWISE_WORKGROUP, mode};
  const rp_pipeline *pipeline;
  rp_status st = rp_pipeline_get(ctx, &(rp_pipeline_key){"sgd", 4, spec, 2}, &pipeline);
  uint32_t groups[3];
  if (st == RP_OK) st = rp_grid_1d(rp_context_caps(ctx), n, spec[0], groups);
  if (st) return st;
  struct {
    uint32_t n;
    float momentum, weight_decay;
  } push = {(uint32_t)n, momentum, weight_decay};
  uint64_t bytes = rp_tensor_bytes(w);
  /* Without momentum the buffer is neither read nor written (as in torch, which does not
   * create one): the gradient fills its binding. */
  rp_arg buf = mode == SGD_PLAIN ? (rp_arg){&grad->buffer, 0, bytes, RP_READ}
                                 : (rp_arg){&momentum_buf->buffer, 0, bytes, RP_READ_WRITE};
  rp_arg args[] = {{&w->buffer, 0, bytes, RP_READ_WRITE},
                   {&grad->buffer, 0, bytes, RP_READ},
                   buf,
                   {&hyper->buffer, 0, sizeof(float), RP_READ}};
  return rp_rec_dispatch(rec, pipeline, args, 4, &push, sizeof push, groups);
}
