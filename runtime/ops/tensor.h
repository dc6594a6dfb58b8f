/* Tensors: the unit every op takes.
 *
 * A tensor is a shape, a dtype (fp32 for now) and the device buffer holding its elements,
 * row-major and contiguous. Ops record work into an rp_recorder; they never wait for it. */
#ifndef RP_TENSOR_H
#define RP_TENSOR_H

#include <stdint.h>

#include "vk/context.h"
#include "vk/memory.h"
#include "vk/recorder.h"

#define RP_MAX_DIMS 4

/* Every element is 4 bytes; RP_U32 holds labels, indices and counters. */
typedef enum rp_dtype { RP_F32, RP_U32 } rp_dtype;

typedef struct rp_tensor {
  rp_buffer buffer;
  rp_dtype dtype;
  int ndim;
  int64_t shape[RP_MAX_DIMS];
} rp_tensor;

/* Allocates a tensor of `ndim` dimensions. Fails with RP_ERR_TOO_LARGE when it could not be
 * bound as one storage buffer (maxStorageBufferRange). */
rp_status rp_tensor_create(rp_context *ctx, int ndim, const int64_t *shape, rp_tensor *out);
/* The same in host-visible memory the host writes through `t->buffer.mapped` between
 * submissions (see rp_buffer_create_mapped): the inputs of a recorded step. */
rp_status rp_tensor_create_mapped(rp_context *ctx, int ndim, const int64_t *shape, rp_tensor *out);
void rp_tensor_destroy(rp_context *ctx, rp_tensor *t);

int64_t rp_tensor_numel(const rp_tensor *t);
uint64_t rp_tensor_bytes(const rp_tensor *t);

/* Whole-tensor transfers: host floats in, host floats out (waits for the GPU). */
rp_status rp_tensor_upload(rp_context *ctx, const rp_tensor *t, const float *src);
rp_status rp_tensor_download(rp_context *ctx, const rp_tensor *t, float *dst);

/* "[2, 3, 5]" into `out`, for error messages. */
const char *rp_shape_string(const rp_tensor *t, char *out, unsigned size);

#endif
