/* Pooling, NCHW: max and average over kernel x kernel windows, and global average.
 * Backward passes are gathers (each input element sums the windows that cover it), so they are
 * deterministic without atomics. Outputs are overwritten.
 * kernel >= 1, stride >= 1 and 0 <= pad <= kernel / 2 (PyTorch's limit), and the output must be
 * [N, C, P, Q] with P, Q from rp_pool_out_size (at least 1); anything else is refused with
 * RP_ERR_INVALID_ARGUMENT. */
#ifndef RP_POOL_H
#define RP_POOL_H

#include "ops/tensor.h"

/* Output size as PyTorch computes it (floor mode): (in + 2 pad - kernel) / stride + 1. */
int64_t rp_pool_out_size(int64_t in, int kernel, int stride, int pad);

/* y [N, C, P, Q] = max over each window of x [N, C, H, W] (padding never wins); `indices`
 * (RP_U32, shape of y) receives the flat index h * W + w of the maximum within its plane,
 * the first one on ties, as PyTorch's return_indices gives. */
rp_status rp_maxpool2d_forward(rp_recorder *rec, const rp_tensor *x, int kernel, int stride,
                               int pad, const rp_tensor *y, const rp_tensor *indices);
rp_status rp_maxpool2d_backward(rp_recorder *rec, const rp_tensor *dy, const rp_tensor *indices,
                                int kernel, int stride, int pad, const rp_tensor *dx);

/* Average with padding counted in the divisor (PyTorch's count_include_pad=True default). */
rp_status rp_avgpool2d_forward(rp_recorder *rec, const rp_tensor *x, int kernel, int stride,
                               int pad, const rp_tensor *y);
rp_status rp_avgpool2d_backward(rp_recorder *rec, const rp_tensor *dy, int kernel, int stride,
                                int pad, const rp_tensor *dx);

/* y [N, C] = mean of x [N, C, H, W] over H and W; backward spreads dy / (H W). y may have any
 * shape of N C elements ([N, C], [N, C, 1, 1]). */
rp_status rp_global_avgpool_forward(rp_recorder *rec, const rp_tensor *x, const rp_tensor *y);
rp_status rp_global_avgpool_backward(rp_recorder *rec, const rp_tensor *dy, const rp_tensor *dx);

#endif
