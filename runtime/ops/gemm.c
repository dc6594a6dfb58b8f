#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/dispatch.h"
#include "ops/ops.h"

/* The lanes kernel comes in these blocks (rows x columns per lane), one shader each:
 * gemm_lanes_<tm>x<tn>.comp. */
static const uint32_t lanes_blocks[][2] = {{32, 8}, {96, 8}};

/* Each kernel's sizes for a device, what `REPRO_GEMM=KERNEL` alone asks for.
 * Measured with `repro bench gemm1024` on lavapipe (Mesa 22.3, 2 cores, shared and noisy):
 * regblock at 8x2 reached 0.8 GFLOP/s; lanes at 32x8 about 17% of the FMA peak, at 64x8 about
 * 24-27%, at 96x8 about 1.1-1.25 times 64x8. Larger blocks run faster still (128x16 about twice
 * 32x8) but take LLVM minutes to compile; 96x8 takes about 11 s per transpose, 64x8 6 s, 32x8
 * 2 s. lavapipe's loads cost about 17 cycles per float and lane, see gemm_lanes.glsl; rp_gemm
 * takes 32x8 for shapes smaller than the block. */
static rp_gemm_tuning kernel_defaults(const rp_caps *caps, rp_gemm_kernel kernel) {
  if (kernel == RP_GEMM_REGBLOCK)
    return (rp_gemm_tuning){.kernel = kernel, .workgroup = 64, .tm = 8, .tn = 2};
  if (kernel == RP_GEMM_LANES)
    return (rp_gemm_tuning){.kernel = kernel, .workgroup = caps->subgroup_size, .tm = 96, .tn = 8};
  rp_gemm_tuning t = {.kernel = kernel, .tm = 4, .tn = 4, .bm = 64, .bn = 64, .bk = 16};
  if (caps->max_workgroup_invocations < 256) t.bm = t.bn = 32; /* 64 invocations */
  t.workgroup = (t.bm / t.tm) * (t.bn / t.tn);
  return t;
}

rp_status rp_gemm_parse_override(const rp_caps *caps, const char *text, rp_gemm_tuning *t) {
  static const char *kernels[] = {"regblock", "lanes", "tiled"};
  static const char syntax[] = "expected KERNEL[,WORKGROUP,TM,TN[,BM,BN,BK]], KERNEL regblock, "
                               "lanes or tiled";
  int kernel = -1;
  size_t n = 0;
  for (int k = 0; k < 3 && kernel < 0; k++) {
    n = strlen(kernels[k]);
    if (strncmp(text, kernels[k], n) == 0 && (text[n] == ',' || text[n] == '\0')) kernel = k;
  }
  if (kernel < 0) return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s", syntax);
  rp_gemm_tuning v = kernel_defaults(caps, (rp_gemm_kernel)kernel);
  uint32_t *fields[] = {&v.workgroup, &v.tm, &v.tn, &v.bm, &v.bn, &v.bk};
  int count = 0;
  for (const char *p = text + n; *p; count++) {
    char *end;
    errno = 0;
    unsigned long x = *p == ',' && p[1] >= '0' && p[1] <= '9' ? strtoul(p + 1, &end, 10) : 0;
    if (count == 6 || x == 0 || x > 65536 || errno || (*end != ',' && *end != '\0'))
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s, each number a whole number in 1..65536", syntax);
    *fields[count] = (uint32_t)x;
    p = end;
  }
  if (count != 0 && count != 3 && count != 6)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %d numbers, not 0, 3 or 6", syntax, count);
  /* What the kernels can run: a workgroup the device allows, a register block of reasonable
   * size, for lanes a block that has a shader, for tiled tiles the workgroup covers exactly
   * and that fit shared memory. */
  if (v.workgroup > caps->max_workgroup_invocations || v.workgroup > caps->max_workgroup_size[0])
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "workgroup %u is more than the device's %u",
                   v.workgroup,
                   caps->max_workgroup_invocations < caps->max_workgroup_size[0]
                       ? caps->max_workgroup_invocations
                       : caps->max_workgroup_size[0]);
  if ((uint64_t)v.tm * v.tn > 1024)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "a %ux%u block per invocation is more than 1024 "
                   "registers",
                   v.tm, v.tn);
  bool built = false;
  for (size_t i = 0; i < sizeof lanes_blocks / sizeof *lanes_blocks; i++)
    built |= v.tm == lanes_blocks[i][0] && v.tn == lanes_blocks[i][1];
  if (v.kernel == RP_GEMM_LANES && !built)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "lanes has %ux%u and %ux%u blocks, not %ux%u",
                   lanes_blocks[0][0], lanes_blocks[0][1], lanes_blocks[1][0], lanes_blocks[1][1],
                   v.tm, v.tn);
  if (v.kernel == RP_GEMM_TILED &&
      (count == 3 || v.bm % v.tm || v.bn % v.tn || v.workgroup != (v.bm / v.tm) * (v.bn / v.tn)))
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "tiled needs BM, BN and BK, with WORKGROUP = (BM/TM) * (BN/TN)");
  if (v.kernel == RP_GEMM_TILED &&
      (uint64_t)(v.bm + v.bn) * v.bk * sizeof(float) > caps->shared_memory_bytes)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "tiles of %ux%u and %ux%u need more than the "
                   "device's %u bytes of shared memory",
                   v.bm, v.bk, v.bk, v.bn, caps->shared_memory_bytes);
  *t = v;
  return RP_OK;
}

rp_gemm_tuning rp_gemm_default_tuning(const rp_caps *caps) {
  rp_gemm_tuning t =
      kernel_defaults(caps, caps->device_class == RP_CLASS_CPU ? RP_GEMM_LANES : RP_GEMM_TILED);
  /* A value that does not parse is ignored here; the command line refuses it first
   * (rp_check_environment). */
  const char *force = getenv("REPRO_GEMM");
  rp_gemm_tuning forced = t;
  if (force && rp_gemm_parse_override(caps, force, &forced) == RP_OK) t = forced;
  return t;
}

static rp_status check_shapes(bool trans_a, bool trans_b, const rp_tensor *a, const rp_tensor *b,
                              const rp_tensor *c) {
  if (a->ndim != 2 || b->ndim != 2 || c->ndim != 2)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "gemm takes 2-D tensors, got %d-D, %d-D and %d-D",
                   a->ndim, b->ndim, c->ndim);
  int64_t m = trans_a ? a->shape[1] : a->shape[0], ka = trans_a ? a->shape[0] : a->shape[1];
  int64_t kb = trans_b ? b->shape[1] : b->shape[0], n = trans_b ? b->shape[0] : b->shape[1];
  if (ka != kb || c->shape[0] != m || c->shape[1] != n) {
    char sa[64], sb[64], sc[64];
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "gemm shapes do not agree: A%s%s x B%s%s -> C%s",
                   rp_shape_string(a, sa, sizeof sa), trans_a ? "^T" : "",
                   rp_shape_string(b, sb, sizeof sb), trans_b ? "^T" : "",
                   rp_shape_string(c, sc, sizeof sc));
  }
  return RP_OK;
}

/* The lanes kernel reads whole vec4s and whole column blocks, and is written for one
 * subgroup per workgroup of a fixed size, at least 4, that shuffles. */
static bool lanes_fits(const rp_caps *caps, const rp_gemm_tuning *t, bool trans_a, uint32_t m,
                       uint32_t n, uint32_t k) {
  bool built = false;
  for (size_t i = 0; i < sizeof lanes_blocks / sizeof *lanes_blocks; i++)
    built |= t->tm == lanes_blocks[i][0] && t->tn == lanes_blocks[i][1];
  return built && caps->subgroup_size_fixed && caps->subgroup_shuffle && t->workgroup >= 4 &&
         t->workgroup == caps->subgroup_size && k % 4 == 0 && n % t->tn == 0 &&
         (!trans_a || m % 4 == 0) && t->tm % (trans_a ? 4 * t->workgroup : t->workgroup) == 0;
}

/* rp_gemm's choice of lanes block for a shape: the default (largest) block when the shape
 * fills it, else 32x8, whose waste on small shapes is smaller. */
static rp_gemm_tuning lanes_for_shape(const rp_caps *caps, rp_gemm_tuning t, bool trans_a,
                                      uint32_t m, uint32_t n, uint32_t k) {
  if (t.kernel != RP_GEMM_LANES || getenv("REPRO_GEMM")) return t;
  if (m < t.tm || n < t.workgroup * t.tn || !lanes_fits(caps, &t, trans_a, m, n, k)) {
    t.tm = 32;
    t.tn = 8;
  }
  return t;
}

rp_status rp_gemm_tuned(rp_recorder *rec, const rp_gemm_tuning *t, bool trans_a, bool trans_b,
                        float alpha, const rp_tensor *a, const rp_tensor *b, float beta,
                        const rp_tensor *c) {
  rp_status st = check_shapes(trans_a, trans_b, a, b, c);
  if (st) return st;
  uint32_t m = (uint32_t)c->shape[0], n = (uint32_t)c->shape[1];
  uint32_t k = (uint32_t)(trans_a ? a->shape[0] : a->shape[1]);

  const rp_caps *caps = rp_context_caps(rp_rec_context(rec));
  rp_gemm_tuning fallback = {.kernel = RP_GEMM_REGBLOCK, .workgroup = 64, .tm = 8, .tn = 2};
  if (t->kernel == RP_GEMM_LANES && !lanes_fits(caps, t, trans_a, m, n, k)) t = &fallback;

  /* Specialization constants 0..2 mean the same in every kernel. */
  uint32_t spec[8] = {t->workgroup, trans_a, trans_b, t->tm, t->tn, t->bm, t->bn, t->bk};
  rp_pipeline_key key = {"gemm_regblock", 3, spec, 5};
  uint32_t groups[3] = {(n + t->workgroup * t->tn - 1) / (t->workgroup * t->tn),
                        (m + t->tm - 1) / t->tm, 1};
  rp_arg args[] = {{&a->buffer, 0, rp_tensor_bytes(a), RP_READ},
                   {&b->buffer, 0, rp_tensor_bytes(b), RP_READ},
                   {&c->buffer, 0, rp_tensor_bytes(c), beta == 0.0f ? RP_WRITE : RP_READ_WRITE}};
  char lanes_name[32], texel_name[48];
  if (t->kernel == RP_GEMM_LANES) {
    /* The block is fixed per shader; constant 3 is SG: the workgroup is one subgroup. A and B
     * are vec4 texel buffers where rp_texel_reads() says: loads, not FMAs, bound this kernel
     * on lavapipe (gemm_lanes.glsl). */
    snprintf(lanes_name, sizeof lanes_name, "gemm_lanes_%ux%u", t->tm, t->tn);
    spec[3] = t->workgroup;
    key = rp_texel_key(caps, lanes_name, texel_name, sizeof texel_name, 3, spec, 4, args, 3u, 3u);
  }
  if (t->kernel == RP_GEMM_TILED) {
    if (t->workgroup != (t->bm / t->tm) * (t->bn / t->tn))
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "gemm tiling: workgroup %u is not (%u/%u)*(%u/%u)",
                     t->workgroup, t->bm, t->tm, t->bn, t->tn);
    key = (rp_pipeline_key){"gemm_tiled", 3, spec, 8};
    groups[0] = (n + t->bn - 1) / t->bn;
    groups[1] = (m + t->bm - 1) / t->bm;
  }
  rp_grid_fold_x(caps, groups);
  const rp_pipeline *pipeline;
  st = rp_pipeline_get(rp_rec_context(rec), &key, &pipeline);
  if (st) return st;
  struct {
    uint32_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
  } push = {m, n, k, (uint32_t)a->shape[1], (uint32_t)b->shape[1], n, alpha, beta};
  return rp_rec_dispatch(rec, pipeline, args, 3, &push, sizeof push, groups);
}

rp_status rp_gemm(rp_recorder *rec, bool trans_a, bool trans_b, float alpha, const rp_tensor *a,
                  const rp_tensor *b, float beta, const rp_tensor *c) {
  const rp_caps *caps = rp_context_caps(rp_rec_context(rec));
  rp_gemm_tuning t = rp_gemm_default_tuning(caps);
  if (a->ndim == 2 && b->ndim == 2 && c->ndim == 2) {
    uint32_t m = (uint32_t)c->shape[0], n = (uint32_t)c->shape[1];
    uint32_t k = (uint32_t)(trans_a ? a->shape[0] : a->shape[1]);
    t = lanes_for_shape(caps, t, trans_a, m, n, k);
  }
  return rp_gemm_tuned(rec, &t, trans_a, trans_b, alpha, a, b, beta, c);
}
