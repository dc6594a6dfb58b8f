/* The ops of the runtime's first layer, each recording its dispatches into a recorder.
 * One op family, one host file, one shader of the same name (see shaders/). */
#ifndef RP_OPS_H
#define RP_OPS_H

#include <stdbool.h>

#include "ops/tensor.h"

/* y[:] = value */
rp_status rp_fill(rp_recorder *rec, const rp_tensor *y, float value);

/* y = x (same number of elements) */
rp_status rp_copy(rp_recorder *rec, const rp_tensor *x, const rp_tensor *y);

/* Elementwise, all tensors of the same number of elements; `out` may be an input. */
rp_status rp_add(rp_recorder *rec, const rp_tensor *x, const rp_tensor *y, const rp_tensor *out);
rp_status rp_mul(rp_recorder *rec, const rp_tensor *x, const rp_tensor *y, const rp_tensor *out);
/* y = alpha * x + y */
rp_status rp_axpy(rp_recorder *rec, float alpha, const rp_tensor *x, const rp_tensor *y);
/* out = alpha * x */
rp_status rp_scale(rp_recorder *rec, float alpha, const rp_tensor *x, const rp_tensor *out);

/* out[0] = sum of all elements of x, deterministically (the same bits every time on one
 * device). `scratch` holds rp_sum_scratch_elems(n) floats of partial sums. */
rp_status rp_sum(rp_recorder *rec, const rp_tensor *x, const rp_tensor *out,
                 const rp_tensor *scratch);
int64_t rp_sum_scratch_elems(int64_t n);

/* out[r] = sum over the last dimension of x viewed as [rows, numel / rows]. */
rp_status rp_sum_rows(rp_recorder *rec, const rp_tensor *x, int64_t rows, const rp_tensor *out);

/* ---- GEMM ---- */

typedef enum rp_gemm_kernel {
  RP_GEMM_REGBLOCK, /* register blocking, no shared memory, any shape: CPU devices */
  RP_GEMM_LANES,    /* vec4 reads, op(A) shared across a subgroup by shuffles, a tm x tn
                       block per lane written out in full: CPU devices, when K and N are
                       multiples of 4 and of tn (else RP_GEMM_REGBLOCK); tm x tn is 32x8
                       or 96x8 */
  RP_GEMM_TILED,    /* shared-memory tiles plus register blocking: GPUs */
} rp_gemm_kernel;

/* Which kernel and which tile sizes (specialization constants). */
typedef struct rp_gemm_tuning {
  rp_gemm_kernel kernel;
  uint32_t workgroup;  /* invocations per workgroup (RP_GEMM_LANES: the subgroup size) */
  uint32_t tm, tn;     /* the block of C each invocation holds in registers */
  uint32_t bm, bn, bk; /* RP_GEMM_TILED: the tile of C and the depth of a k-slice */
} rp_gemm_tuning;

/* The tuning for a device class. REPRO_GEMM=KERNEL[,WORKGROUP,TM,TN[,BM,BN,BK]] overrides it,
 * KERNEL being regblock, lanes or tiled (for experiments: `REPRO_GEMM=lanes,8,32,8 repro bench`).
 * rp_gemm takes a smaller lanes block for shapes smaller than the default one (unless
 * REPRO_GEMM is set). */
rp_gemm_tuning rp_gemm_default_tuning(const rp_caps *caps);

/* The tuning a REPRO_GEMM value asks for, into *t: its kernel with that kernel's sizes for
 * this device, replaced by the numbers given. Strict: a known kernel, whole numbers, and sizes
 * the kernel can run on this device; otherwise an error saying what is wrong, *t untouched. */
rp_status rp_gemm_parse_override(const rp_caps *caps, const char *text, rp_gemm_tuning *t);

/* C = alpha * op(A) * op(B) + beta * C with op(X) = X or its transpose: A is [M, K] (or
 * [K, M] when trans_a), B is [K, N] (or [N, K] when trans_b), C is [M, N], all 2-D. */
rp_status rp_gemm(rp_recorder *rec, bool trans_a, bool trans_b, float alpha, const rp_tensor *a,
                  const rp_tensor *b, float beta, const rp_tensor *c);

/* The same with an explicit tuning (tests and benchmarks try each kernel). */
rp_status rp_gemm_tuned(rp_recorder *rec, const rp_gemm_tuning *tuning, bool trans_a, bool trans_b,
                        float alpha, const rp_tensor *a, const rp_tensor *b, float beta,
                        const rp_tensor *c);

#endif
