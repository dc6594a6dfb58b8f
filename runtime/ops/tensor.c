#include "ops/tensor.h"

#include <stdbool.h>
#include <stdio.h>

static rp_status create(rp_context *ctx, int ndim, const int64_t *shape, bool mapped,
                        rp_tensor *out) {
  *out = (rp_tensor){.dtype = RP_F32, .ndim = ndim};
  if (ndim < 1 || ndim > RP_MAX_DIMS)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "a tensor has 1 to %d dimensions, not %d", RP_MAX_DIMS,
                   ndim);
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 1)
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "dimension %d of a tensor is %lld", d,
                     (long long)shape[d]);
    out->shape[d] = shape[d];
  }
  uint64_t bytes = rp_tensor_bytes(out);
  const rp_caps *caps = rp_context_caps(ctx);
  char dims[96];
  if (bytes > caps->max_storage_buffer_range)
    return rp_fail(RP_ERR_TOO_LARGE,
                   "a tensor of shape %s needs %llu MiB, more than one storage buffer may hold "
                   "on %s (maxStorageBufferRange = %llu MiB)",
                   rp_shape_string(out, dims, sizeof dims), (unsigned long long)(bytes >> 20),
                   caps->name, (unsigned long long)(caps->max_storage_buffer_range >> 20));
  return mapped ? rp_buffer_create_mapped(ctx, bytes, &out->buffer)
                : rp_buffer_create(ctx, bytes, &out->buffer);
}

rp_status rp_tensor_create(rp_context *ctx, int ndim, const int64_t *shape, rp_tensor *out) {
  return create(ctx, ndim, shape, false, out);
}

rp_status rp_tensor_create_mapped(rp_context *ctx, int ndim, const int64_t *shape, rp_tensor *out) {
  return create(ctx, ndim, shape, true, out);
}

void rp_tensor_destroy(rp_context *ctx, rp_tensor *t) { rp_buffer_destroy(ctx, &t->buffer); }

int64_t rp_tensor_numel(const rp_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
  return n;
}

uint64_t rp_tensor_bytes(const rp_tensor *t) {
  return (uint64_t)rp_tensor_numel(t) * sizeof(float);
}

rp_status rp_tensor_upload(rp_context *ctx, const rp_tensor *t, const float *src) {
  return rp_buffer_upload(ctx, &t->buffer, 0, src, rp_tensor_bytes(t));
}

rp_status rp_tensor_download(rp_context *ctx, const rp_tensor *t, float *dst) {
  return rp_buffer_download(ctx, &t->buffer, 0, dst, rp_tensor_bytes(t));
}

const char *rp_shape_string(const rp_tensor *t, char *out, unsigned size) {
  int used = snprintf(out, size, "[");
  for (int d = 0; d < t->ndim && used > 0 && (unsigned)used < size; d++)
    used +=
        snprintf(out + used, size - (unsigned)used, d ? ", %lld" : "%lld", (long long)t->shape[d]);
  if (used > 0 && (unsigned)used < size) snprintf(out + used, size - (unsigned)used, "]");
  return out;
}
