#include "ops/loss.h"

#include <math.h>

#include "ops/dispatch.h"

/* One workgroup per row: the smallest power of two from 32 to 128 that covers a row, so the
 * classes of a row are spread over the workgroup with at most a few per invocation. */
static uint32_t row_workgroup(int64_t n) {
  uint32_t w = 32;
  while (w < 128 && w < n) w *= 2;
  return w;
}

rp_status rp_softmax_loss(rp_recorder *rec, const rp_loss *loss, const rp_tensor *logits,
                          const rp_tensor *labels, uint32_t valid, const rp_tensor *stats,
                          const rp_tensor *dlogits) {
  char a[96], b[96], c[96];
  if ((unsigned)loss->kind > RP_LOSS_TAYLORGLO)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "softmax_loss: unknown loss kind %d", (int)loss->kind);
  if (logits->ndim != 2)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "softmax_loss: logits of shape %s, want [B, n]",
                   rp_shape_string(logits, a, sizeof a));
  int64_t rows = logits->shape[0], n = logits->shape[1];
  if (rp_tensor_numel(labels) != rows || labels->dtype != RP_U32)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "softmax_loss: labels of shape %s (%s) for logits %s, want U32 [%lld]",
                   rp_shape_string(labels, a, sizeof a), labels->dtype == RP_U32 ? "U32" : "F32",
                   rp_shape_string(logits, b, sizeof b), (long long)rows);
  if (rp_tensor_numel(stats) != RP_LOSS_STATS * rows)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "softmax_loss: stats of shape %s for logits %s, want "
                   "[%d, %lld]",
                   rp_shape_string(stats, a, sizeof a), rp_shape_string(logits, b, sizeof b),
                   RP_LOSS_STATS, (long long)rows);
  if (dlogits && rp_tensor_numel(dlogits) != rows * n)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "softmax_loss: dlogits of shape %s for logits %s",
                   rp_shape_string(dlogits, c, sizeof c), rp_shape_string(logits, b, sizeof b));
  if (valid < 1 || valid > rows)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "softmax_loss: %u valid rows in a batch of %lld (want 1 to the batch size)",
                   valid, (long long)rows);
  if (loss->kind == RP_LOSS_LS && !(loss->alpha >= 0.0f && loss->alpha <= 1.0f))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "softmax_loss: label smoothing alpha %g, want [0, 1]",
                   (double)loss->alpha);
  if (loss->kind == RP_LOSS_TAYLORGLO)
    for (int i = 0; i < 8; i++)
      if (!isfinite(loss->theta[i]))
        return rp_fail(RP_ERR_INVALID_ARGUMENT, "softmax_loss: TaylorGLO parameter %d is %g", i,
                       (double)loss->theta[i]);

  rp_context *ctx = rp_rec_context(rec);
  uint32_t spec[] = {row_workgroup(n), (uint32_t)loss->kind, dlogits != NULL};
  const rp_pipeline *pipeline;
  rp_status st = rp_pipeline_get(ctx, &(rp_pipeline_key){"softmax_loss", 4, spec, 3}, &pipeline);
  uint32_t groups[3];
  if (st == RP_OK) st = rp_grid_1d(rp_context_caps(ctx), rows, 1, groups);
  if (st) return st;
  struct {
    uint32_t rows, n;
    float inv_valid, alpha;
    float theta[8];
  } push = {(uint32_t)rows, (uint32_t)n, 1.0f / (float)valid, loss->alpha, {0}};
  for (int i = 0; i < 8; i++) push.theta[i] = loss->theta[i];
  /* Without dlogits, binding 3 holds the stats again: the shader never touches it then. */
  const rp_tensor *grad = dlogits ? dlogits : stats;
  rp_arg args[] = {{&logits->buffer, 0, rp_tensor_bytes(logits), RP_READ},
                   {&labels->buffer, 0, rp_tensor_bytes(labels), RP_READ},
                   {&stats->buffer, 0, rp_tensor_bytes(stats), RP_WRITE},
                   {&grad->buffer, 0, rp_tensor_bytes(grad), dlogits ? RP_WRITE : RP_READ}};
  return rp_rec_dispatch(rec, pipeline, args, 4, &push, sizeof push, groups);
}

void rp_taylorglo_paper_to_code(const float paper[8], float code[8]) {
  float g[8];
  for (int i = 0; i < 8; i++) g[i] = paper[i]; /* paper and code may be the same array */
  g[1] /= 2.0f;                                /* a2 */
  g[2] /= 6.0f;                                /* a3 */
  g[4] /= 2.0f;                                /* a5 */
  g[5] /= 2.0f;                                /* a6 */
  for (int i = 0; i < 8; i++) code[i] = g[i];
}
