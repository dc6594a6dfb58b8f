/* Plain C references for pooling (runtime/ops/pool.h), in double, no Vulkan. Tensors are NCHW
 * seen as `planes` = N C planes of h x w inputs and p x q outputs. The backward passes scatter
 * (each output adds into its window), the opposite of the shaders' gathers. */
#ifndef RP_TEST_POOL_REF_H
#define RP_TEST_POOL_REF_H

#include <stdint.h>

/* PyTorch's floor-mode output size. */
int ref_pool_out(int in, int kernel, int stride, int pad);

/* Max over each window (padding excluded), and the flat index h * w + w of the first maximum in
 * row-major order; NaN wins as in PyTorch. */
void ref_maxpool2d_forward(const double *x, int planes, int h, int w, int kernel, int stride,
                           int pad, double *y, uint32_t *indices);
/* dx = 0, then dx[indices[o]] += dy[o] in each plane */
void ref_maxpool2d_backward(const double *dy, const uint32_t *indices, int planes, int h, int w,
                            int kernel, int stride, int pad, double *dx);

/* PyTorch's avg_pool2d with count_include_pad=True, ceil_mode=False: the divisor is the window
 * clipped to the padded input, as PyTorch computes it. */
void ref_avgpool2d_forward(const double *x, int planes, int h, int w, int kernel, int stride,
                           int pad, double *y);
void ref_avgpool2d_backward(const double *dy, int planes, int h, int w, int kernel, int stride,
                            int pad, double *dx);

void ref_global_avgpool_forward(const double *x, int planes, int h, int w, double *y);
void ref_global_avgpool_backward(const double *dy, int planes, int h, int w, double *dx);

#endif
