/* Plain C references for the ops, accumulating in double. No Vulkan here. */
#ifndef RP_TEST_REF_H
#define RP_TEST_REF_H

#include <stdbool.h>
#include <stdint.h>

/* C = alpha * op(A) * op(B) + beta * C, row-major, as rp_gemm; also returns in `mag` (if not
 * NULL) sum_k |op(A)[i,k] * op(B)[k,j]| per element, the scale of its rounding error. */
void ref_gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const float *a,
              const float *b, double beta, const float *c_in, double *c_out, double *mag);

double ref_sum(const float *x, int64_t n);

#endif
