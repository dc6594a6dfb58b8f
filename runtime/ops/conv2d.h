/* 2-D convolution, NCHW: forward, backward-data and backward-filter.
 *
 * On GPUs each pass is an implicit GEMM over a shared-memory tiled core whose loads compute
 * the im2col index on the fly; on CPU devices (lavapipe) subgroup-shuffle ("lanes") implicit
 * kernels where they apply and im2col + rp_gemm elsewhere. REPRO_CONV=implicit|lanes|im2col
 * forces a path (runtime/ops/conv2d.c says which pass takes which kernel). Deterministic: no
 * atomics, every sum in a fixed order. Intermediate results use rp_rec_scratch (<= 32 MiB).
 *
 * Shapes: x [N, C, H, W], w [K, C, R, S] (PyTorch's layout), y and dy [N, K, P, Q] with
 * P = rp_conv2d_out_size(H, R, stride, pad) and Q likewise; H, W <= 65535 and R, S, stride,
 * pad <= 255. Zero padding, no dilation, no groups. Outputs are overwritten. */
#ifndef RP_CONV2D_H
#define RP_CONV2D_H

#include "ops/tensor.h"

/* Whether `text` is a REPRO_CONV value (implicit, lanes, im2col[,CHUNK_BYTES]); an error
 * saying what is expected otherwise. */
rp_status rp_conv2d_check_override(const char *text);

/* (in + 2 pad - kernel) / stride + 1, or 0 when the kernel does not fit. */
int64_t rp_conv2d_out_size(int64_t in, int64_t kernel, int stride, int pad);

/* y = conv(x, w) + bias (bias [K] or NULL) */
rp_status rp_conv2d_forward(rp_recorder *rec, const rp_tensor *x, const rp_tensor *w,
                            const rp_tensor *bias, int stride, int pad, const rp_tensor *y);

/* dx = d(loss)/dx given dy: the transposed convolution, computed as a gather (deterministic). */
rp_status rp_conv2d_backward_data(rp_recorder *rec, const rp_tensor *dy, const rp_tensor *w,
                                  int stride, int pad, const rp_tensor *dx);

/* dw = d(loss)/dw and, when dbias is not NULL, dbias[k] = sum of dy over n, p, q. */
rp_status rp_conv2d_backward_filter(rp_recorder *rec, const rp_tensor *x, const rp_tensor *dy,
                                    int stride, int pad, const rp_tensor *dw,
                                    const rp_tensor *dbias);

#endif
