/* 2-D convolution: shape checks, the choice of path, and the three paths.
 *
 * GPUs (and REPRO_CONV=implicit): one dispatch of shaders/conv2d_implicit.comp per pass, an
 * implicit GEMM over a shared-memory tiled core (the tile loads compute the im2col index;
 * nothing is materialized). Backward-filter splits its long depth (N*P*Q) into slices, each
 * writing a partial dw to scratch, summed in a fixed order afterwards.
 *
 * CPU devices: lavapipe runs shared memory and barriers slowly, a storage-buffer access costs
 * about the same for a vec4 as for a float, and stores are dear (writing an im2col matrix
 * cost as much as the GEMM reading it). So, by default (REPRO_CONV=lanes):
 *   - the lanes kernels, implicit GEMMs in the form of rp_gemm's lanes kernel (one subgroup
 *     per workgroup, the weights or dy shared across lanes by shuffles, each lane gathering
 *     its own inputs, the register block written out by lanes_block.glsl):
 *     conv2d_lanes.glsl for the forward pass and, with stride 1, the backward-data pass (the
 *     forward convolution of dy with flipped, transposed weights); conv2d_lanes_filter.glsl
 *     for backward-filter where P*Q % 4 == 0. For 3-wide kernels at stride 1 (most of a
 *     ResNet's), their row forms conv2d_lanes_row.glsl and conv2d_lanes_filter_row.glsl load
 *     a row of inputs once for the three taps (forward where Q % 8 == 0, backward-filter
 *     where Q % 4 == 0): gathers, not FMAs, bound the lanes kernels on lavapipe. All of them
 *     read their inputs (weights or dy, and x) through uniform texel buffers where
 *     rp_texel_reads() says (texel.glsl): lavapipe reads a storage buffer a lane at a time
 *     with a bounds check each, a texel buffer with vector gathers, and these reads, not the
 *     FMAs or shuffles, were most of the kernels' time (the ResNet-20 step ran 1.8x faster).
 *   - elsewhere (and always with REPRO_CONV=im2col[,CHUNK_BYTES]) im2col + rp_gemm on chunks
 *     of images: the im2col matrix col [C*R*S, images*P*Q] (rows and columns padded with
 *     zeros) goes to scratch, one rp_gemm does the arithmetic, and small layout kernels move
 *     between NCHW and the padded matrices:
 *       forward:          Y [K, cols] = W [K, CRS] * col,        then unpack Y into y (+ bias)
 *       backward data:    dcol = W^T * dY [K, cols],             then col2im (a gather) into dx
 *       backward filter:  dW [K, CRS] += dY [K, cols] * col^T,   then unpack dW into dw
 *     Scratch stays under CHUNK_BYTES by taking as many images per chunk as fit.
 * The geometry (H, W, P, Q, R, S, stride, pad) is specialization constants in every kernel
 * (conv2d_geom.glsl): one set of pipelines per convolution shape. */
#include "ops/conv2d.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/dispatch.h"
#include "ops/ops.h"

#define CHUNK_BYTES (32ull << 20) /* scratch budget of the im2col path */

int64_t rp_conv2d_out_size(int64_t in, int64_t kernel, int stride, int pad) {
  if (stride < 1 || pad < 0 || in + 2 * (int64_t)pad < kernel) return 0;
  return (in + 2 * (int64_t)pad - kernel) / stride + 1;
}

/* The sizes of one convolution, checked. */
typedef struct geom {
  uint32_t n, c, h, w, k, p, q, r, s, stride, pad;
} geom;

enum { PASS_FORWARD, PASS_BACKWARD_DATA, PASS_BACKWARD_FILTER };
static const char *pass_names[] = {"conv2d_forward", "conv2d_backward_data",
                                   "conv2d_backward_filter"};

/* x [N, C, H, W], w [K, C, R, S], y [N, K, P, Q]: checks that they agree and fills `g`.
 * `names` says what the three tensors are called in this pass, for the message. */
static rp_status check_shapes(int pass, const rp_tensor *x, const rp_tensor *w, const rp_tensor *y,
                              int stride, int pad, const char *const names[3], geom *g) {
  const rp_tensor *t[3] = {x, w, y};
  char sx[64], sw[64], sy[64];
  rp_shape_string(x, sx, sizeof sx);
  rp_shape_string(w, sw, sizeof sw);
  rp_shape_string(y, sy, sizeof sy);
  for (int i = 0; i < 3; i++)
    if (t[i]->ndim != 4 || t[i]->dtype != RP_F32)
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %s %s, %s %s, %s %s: %s must be 4-D fp32",
                     pass_names[pass], names[0], sx, names[1], sw, names[2], sy, names[i]);
  if (stride < 1 || pad < 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: stride %d, pad %d (stride >= 1, pad >= 0)",
                   pass_names[pass], stride, pad);
  int64_t p = rp_conv2d_out_size(x->shape[2], w->shape[2], stride, pad);
  int64_t q = rp_conv2d_out_size(x->shape[3], w->shape[3], stride, pad);
  if (w->shape[1] != x->shape[1] || y->shape[0] != x->shape[0] || y->shape[1] != w->shape[0] ||
      y->shape[2] != p || y->shape[3] != q || p < 1 || q < 1)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: %s %s, %s %s, %s %s, stride %d, pad %d: expected %s [%lld, %lld, %lld, "
                   "%lld] and %s [K, %lld, R, S] (R, S <= H, W + 2 pad)",
                   pass_names[pass], names[0], sx, names[1], sw, names[2], sy, stride, pad,
                   names[2], (long long)x->shape[0], (long long)w->shape[0], (long long)p,
                   (long long)q, names[1], (long long)x->shape[1]);
  /* 32-bit indices in the shaders */
  for (int i = 0; i < 3; i++)
    if (rp_tensor_numel(t[i]) >= (int64_t)1 << 31)
      return rp_fail(RP_ERR_TOO_LARGE, "%s: %s %s has 2^31 elements or more", pass_names[pass],
                     names[i],
                     i == 0   ? sx
                     : i == 1 ? sw
                              : sy);
  /* The shaders take the geometry as packed specialization constants (conv2d_geom.glsl). */
  if (x->shape[2] > 0xffff || x->shape[3] > 0xffff || w->shape[2] > 0xff || w->shape[3] > 0xff ||
      stride > 0xff || pad > 0xff)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: %s %s, %s %s, stride %d, pad %d: at most 65535 for H and W, 255 for the "
                   "kernel size, stride and pad",
                   pass_names[pass], names[0], sx, names[1], sw, stride, pad);
  *g = (geom){(uint32_t)x->shape[0], (uint32_t)x->shape[1], (uint32_t)x->shape[2],
              (uint32_t)x->shape[3], (uint32_t)w->shape[0], (uint32_t)p,
              (uint32_t)q,           (uint32_t)w->shape[2], (uint32_t)w->shape[3],
              (uint32_t)stride,      (uint32_t)pad};
  return RP_OK;
}

/* conv2d_geom.glsl's three specialization constants */
static void geom_spec(const geom *g, uint32_t out[3]) {
  out[0] = g->h | g->w << 16;
  out[1] = g->p | g->q << 16;
  out[2] = g->r | g->s << 8 | g->stride << 16 | g->pad << 24;
}

/* The path: on CPU devices the lanes kernels for the passes they take and im2col for the rest;
 * the implicit GEMM elsewhere. REPRO_CONV=implicit, REPRO_CONV=lanes (the same as on CPU
 * devices) or REPRO_CONV=im2col[,CHUNK_BYTES] (never the lanes kernels) overrides it: the
 * tests run each, and small chunks. */
typedef enum conv_path { PATH_IMPLICIT, PATH_IM2COL, PATH_LANES } conv_path;

/* A REPRO_CONV value: implicit, lanes, im2col or im2col,CHUNK_BYTES (at least 4 KiB). */
static bool parse_path(const char *text, conv_path *path, uint64_t *chunk_bytes) {
  *chunk_bytes = CHUNK_BYTES;
  if (strcmp(text, "implicit") == 0 || strcmp(text, "lanes") == 0) {
    *path = text[0] == 'i' ? PATH_IMPLICIT : PATH_LANES;
    return true;
  }
  if (strncmp(text, "im2col", 6) != 0) return false;
  *path = PATH_IM2COL;
  if (text[6] == '\0') return true;
  char *end;
  errno = 0;
  unsigned long long bytes =
      text[6] == ',' && isdigit((unsigned char)text[7]) ? strtoull(text + 7, &end, 10) : 0;
  if (bytes < 4096 || errno || *end != '\0') return false;
  *chunk_bytes = bytes;
  return true;
}

rp_status rp_conv2d_check_override(const char *text) {
  conv_path path;
  uint64_t chunk;
  if (parse_path(text, &path, &chunk)) return RP_OK;
  return rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "expected implicit, lanes, im2col or im2col,CHUNK_BYTES (at least 4096)");
}

static conv_path choose_path(const rp_caps *caps, uint64_t *chunk_bytes) {
  const char *force = getenv("REPRO_CONV");
  conv_path path;
  if (force && parse_path(force, &path, chunk_bytes)) return path;
  *chunk_bytes = CHUNK_BYTES;
  return caps->device_class == RP_CLASS_CPU ? PATH_LANES : PATH_IMPLICIT;
}

static uint32_t round_up(uint32_t x, uint32_t to) { return (x + to - 1) / to * to; }

static rp_status dispatch_1d(rp_recorder *rec, const char *shader, uint32_t binding_count,
                             uint32_t mode, int64_t invocations, const rp_arg *args,
                             const void *push, uint32_t push_bytes) {
  rp_context *ctx = rp_rec_context(rec);
  uint32_t spec[] = {RP_ELEMENTWISE_WORKGROUP, mode};
  const rp_pipeline *pipeline;
  uint32_t groups[3];
  rp_status st =
      rp_pipeline_get(ctx, &(rp_pipeline_key){shader, binding_count, spec, 2}, &pipeline);
  if (st == RP_OK) st = rp_grid_1d(rp_context_caps(ctx), invocations, spec[0], groups);
  if (st) return st;
  return rp_rec_dispatch(rec, pipeline, args, binding_count, push, push_bytes, groups);
}

/* A dispatch of `groups` workgroups of `key`'s pipeline, checked against the device's limits. */
static rp_status dispatch_key(rp_recorder *rec, int pass, const rp_pipeline_key *key,
                              const uint32_t groups[3], const rp_arg *args, const void *push,
                              uint32_t push_bytes) {
  rp_context *ctx = rp_rec_context(rec);
  const rp_caps *caps = rp_context_caps(ctx);
  const char *shader = key->shader;
  for (int i = 0; i < 3; i++)
    if (groups[i] > caps->max_workgroup_count[i])
      return rp_fail(RP_ERR_TOO_LARGE, "%s: %s needs %u workgroups along %c, the device allows %u",
                     pass_names[pass], shader, groups[i], "xyz"[i], caps -> max_workgroup_count[i]);
  const rp_pipeline *pipeline;
  rp_status st = rp_pipeline_get(ctx, key, &pipeline);
  if (st) return st;
  return rp_rec_dispatch(rec, pipeline, args, key->binding_count, push, push_bytes, groups);
}

/* dispatch_key for a pipeline of storage buffers alone: workgroups of the size spec[0]. */
static rp_status dispatch_grid(rp_recorder *rec, int pass, const char *shader,
                               uint32_t binding_count, const uint32_t *spec, uint32_t spec_count,
                               const uint32_t groups[3], const rp_arg *args, const void *push,
                               uint32_t push_bytes) {
  rp_pipeline_key key = {shader, binding_count, spec, spec_count};
  return dispatch_key(rec, pass, &key, groups, args, push, push_bytes);
}

#define GRID_WORKGROUP 64u /* the 2-D and 3-D grids of the im2col path's kernels */

/* dbias[k] = sum of dy[:, k, :, :] */
static rp_status bias_grad(rp_recorder *rec, const geom *g, const rp_tensor *dy,
                           const rp_tensor *dbias) {
  if (dbias->ndim < 1 || rp_tensor_numel(dbias) != g->k)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "conv2d_backward_filter: dbias of %lld elements, K = %u",
                   (long long)rp_tensor_numel(dbias), g->k);
  uint32_t spec[] = {64}, groups[3]; /* a workgroup per k (flat_workgroup) */
  const rp_pipeline *pipeline;
  rp_status st = rp_pipeline_get(rp_rec_context(rec),
                                 &(rp_pipeline_key){"conv2d_bias_grad", 2, spec, 1}, &pipeline);
  if (st == RP_OK) st = rp_grid_1d(rp_context_caps(rp_rec_context(rec)), g->k, 1, groups);
  if (st) return st;
  uint32_t push[] = {g->n, g->k, g->p * g->q};
  rp_arg args[] = {{&dy->buffer, 0, rp_tensor_bytes(dy), RP_READ},
                   {&dbias->buffer, 0, rp_tensor_bytes(dbias), RP_WRITE}};
  return rp_rec_dispatch(rec, pipeline, args, 2, push, sizeof push, groups);
}

/* ---- GPU path: implicit GEMM ---- */

typedef struct tiling {
  uint32_t tm, tn, bm, bn, bk;
} tiling;

static tiling implicit_tiling(const rp_caps *caps) {
  tiling t = {4, 4, 64, 64, 16}; /* 256 invocations, as rp_gemm's tiled kernel */
  if (caps->max_workgroup_invocations < 256 || caps->device_class == RP_CLASS_CPU)
    t.bm = t.bn = 32; /* 64 invocations */
  return t;
}

/* One implicit-GEMM dispatch; src0/src1 are A/B's tensors (see conv2d_implicit.comp). */
static rp_status implicit_pass(rp_recorder *rec, int pass, const geom *g, const rp_tensor *src0,
                               const rp_tensor *src1, const rp_tensor *bias, const rp_buffer *dst,
                               uint64_t dst_bytes, uint32_t splits, uint32_t depth_per_split) {
  const rp_caps *caps = rp_context_caps(rp_rec_context(rec));
  tiling t = implicit_tiling(caps);
  uint32_t m = pass == PASS_BACKWARD_DATA ? g->c : g->k;
  uint32_t nc = pass == PASS_FORWARD         ? g->n * g->p * g->q
                : pass == PASS_BACKWARD_DATA ? g->n * g->h * g->w
                                             : g->c * g->r * g->s;
  uint32_t d = pass == PASS_FORWARD         ? g->c * g->r * g->s
               : pass == PASS_BACKWARD_DATA ? g->k * g->r * g->s
                                            : g->n * g->p * g->q;
  uint32_t groups[3] = {(nc + t.bn - 1) / t.bn, (m + t.bm - 1) / t.bm, splits};
  if (pass != PASS_BACKWARD_FILTER) rp_grid_fold_x(caps, groups); /* z is the filter's splits */
  uint32_t spec[8] = {(t.bm / t.tm) * (t.bn / t.tn), (uint32_t)pass | t.bk << 8, t.tm, t.tn,
                      t.bm | t.bn << 16};
  geom_spec(g, spec + 5);
  uint32_t push[] = {g->c, g->k, bias != NULL, m, nc, d, splits > 1 ? depth_per_split : d};
  const rp_tensor *b = bias ? bias : src0; /* bound but not read without a bias */
  rp_arg args[] = {{&src0->buffer, 0, rp_tensor_bytes(src0), RP_READ},
                   {&src1->buffer, 0, rp_tensor_bytes(src1), RP_READ},
                   {&b->buffer, 0, rp_tensor_bytes(b), RP_READ},
                   {dst, 0, dst_bytes, RP_WRITE}};
  return dispatch_grid(rec, pass, "conv2d_implicit", 4, spec, 8, groups, args, push, sizeof push);
}

static rp_status implicit_backward_filter(rp_recorder *rec, const geom *g, const rp_tensor *x,
                                          const rp_tensor *dy, const rp_tensor *dw) {
  const rp_caps *caps = rp_context_caps(rp_rec_context(rec));
  tiling t = implicit_tiling(caps);
  uint32_t count = g->k * g->c * g->r * g->s, depth = g->n * g->p * g->q;
  uint32_t tiles = ((g->c * g->r * g->s + t.bn - 1) / t.bn) * ((g->k + t.bm - 1) / t.bm);
  /* Enough workgroups to fill the device, each with at least 8 slices of depth, and the
   * partial sums within the scratch budget. */
  uint32_t target = caps->device_class == RP_CLASS_CPU ? 8 : 512;
  uint32_t splits = tiles ? (target + tiles - 1) / tiles : 1;
  uint32_t max_by_depth = depth / (8 * t.bk);
  uint32_t max_by_bytes = count ? (uint32_t)(CHUNK_BYTES / ((uint64_t)count * sizeof(float))) : 1;
  if (splits > max_by_depth) splits = max_by_depth;
  if (splits > max_by_bytes) splits = max_by_bytes;
  if (splits > caps->max_workgroup_count[2]) splits = caps->max_workgroup_count[2];
  if (splits <= 1)
    return implicit_pass(rec, PASS_BACKWARD_FILTER, g, dy, x, NULL, &dw->buffer,
                         rp_tensor_bytes(dw), 1, depth);
  uint32_t per = round_up((depth + splits - 1) / splits, t.bk);
  splits = (depth + per - 1) / per;
  const rp_buffer *part;
  uint64_t part_bytes = (uint64_t)splits * count * sizeof(float);
  rp_status st = rp_rec_scratch(rec, part_bytes, &part);
  if (st == RP_OK)
    st = implicit_pass(rec, PASS_BACKWARD_FILTER, g, dy, x, NULL, part, part_bytes, splits, per);
  if (st) return st;
  uint32_t push[] = {count, splits};
  rp_arg args[] = {{part, 0, part_bytes, RP_READ}, {&dw->buffer, 0, rp_tensor_bytes(dw), RP_WRITE}};
  return dispatch_1d(rec, "conv2d_sum_splits", 2, 0, count, args, push, sizeof push);
}

/* ---- CPU path: im2col + rp_gemm, in chunks of images ---- */

/* The padded sizes of the im2col path: col is [crs_p, cols_p] per chunk, W [k_p, crs_p]. */
typedef struct im2col_plan {
  uint32_t crs, crs_p, k_p, pq;
  uint32_t images; /* per chunk */
  uint64_t align;
} im2col_plan;

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

static im2col_plan plan_chunks(const rp_caps *caps, const geom *g, uint64_t budget) {
  im2col_plan pl = {.crs = g->c * g->r * g->s, .pq = g->p * g->q};
  pl.crs_p = round_up(pl.crs, 8); /* a multiple of the lanes kernel's TN, as a GEMM width */
  pl.k_p = round_up(g->k, 4);     /* a multiple of 4, as a GEMM depth */
  pl.align = caps->min_storage_buffer_offset_alignment > 16
                 ? caps->min_storage_buffer_offset_alignment
                 : 16;
  uint64_t fixed = 2 * (uint64_t)pl.k_p * pl.crs_p * sizeof(float) + 4 * pl.align;
  uint64_t per_image = (uint64_t)(pl.crs_p + pl.k_p) * pl.pq * sizeof(float);
  uint64_t fit = fixed < budget && per_image ? (budget - fixed) / per_image : 0;
  pl.images = fit < 1 ? 1 : fit > g->n ? g->n : (uint32_t)fit;
  if (pl.images > caps->max_workgroup_count[2]) pl.images = caps->max_workgroup_count[2];
  return pl;
}

/* A 2-D tensor viewing `bytes` of scratch from `*offset`; advances `*offset`. */
static rp_tensor scratch_view(const rp_buffer *scratch, uint64_t *offset, uint64_t align,
                              uint32_t rows, uint32_t cols) {
  rp_tensor t = {.buffer = *scratch, .dtype = RP_F32, .ndim = 2, .shape = {rows, cols}};
  t.buffer.offset += *offset;
  t.buffer.size = (uint64_t)rows * cols * sizeof(float);
  *offset = align_up(*offset + t.buffer.size, align);
  return t;
}

static uint64_t plan_bytes(const im2col_plan *pl) {
  uint32_t cols_p = round_up(pl->images * pl->pq, 8);
  return align_up((uint64_t)pl->k_p * pl->crs_p * 4, pl->align) +
         align_up((uint64_t)pl->crs_p * cols_p * 4, pl->align) +
         align_up((uint64_t)pl->k_p * cols_p * 4, pl->align);
}

/* MODE 0 / 1 of conv2d_layout.comp: between t [*, rows, pq] (images n0 ..) and the matrix
 * m [rows_p, cols_p] */
static rp_status layout(rp_recorder *rec, int pass, uint32_t mode, const rp_tensor *src,
                        const rp_tensor *bias, const rp_tensor *dst, uint32_t rows, uint32_t rows_p,
                        uint32_t pq, uint32_t n0, uint32_t images) {
  const rp_tensor *m = mode == 0 ? dst : src;
  uint32_t cols_p = (uint32_t)m->shape[1];
  uint32_t push[] = {rows, images * pq, cols_p, pq, n0, bias != NULL};
  const rp_tensor *b = bias ? bias : src;
  rp_arg args[] = {{&src->buffer, 0, rp_tensor_bytes(src), RP_READ},
                   {&b->buffer, 0, rp_tensor_bytes(b), RP_READ},
                   {&dst->buffer, 0, rp_tensor_bytes(dst), RP_WRITE}};
  uint32_t vec = pq % 4 == 0 && cols_p % 4 == 0 ? 4 : 1;
  uint32_t spec[] = {GRID_WORKGROUP, mode, vec};
  uint32_t groups[3] = {(pq / vec + GRID_WORKGROUP - 1) / GRID_WORKGROUP, mode == 0 ? rows_p : rows,
                        images};
  return dispatch_grid(rec, pass, "conv2d_layout", 3, spec, 3, groups, args, push, sizeof push);
}

static rp_status im2col(rp_recorder *rec, int pass, const geom *g, const im2col_plan *pl,
                        const rp_tensor *x, uint32_t n0, uint32_t cols, const rp_tensor *col) {
  uint32_t cols_p = (uint32_t)col->shape[1];
  uint32_t push[] = {g->c, n0, cols, cols_p, pl->crs};
  rp_arg args[] = {{&x->buffer, 0, rp_tensor_bytes(x), RP_READ},
                   {&col->buffer, 0, rp_tensor_bytes(col), RP_WRITE}};
  uint32_t spec[5] = {GRID_WORKGROUP};
  geom_spec(g, spec + 1);
  spec[4] = g->stride == 1 && g->w % 4 == 0 && g->q % 4 == 0; /* ALIGNED */
  uint32_t per_group = GRID_WORKGROUP * 8;                    /* QUADS_PER_INVOCATION */
  uint32_t groups[3] = {(cols_p / 4 + per_group - 1) / per_group, pl->crs_p, 1};
  return dispatch_grid(rec, pass, "conv2d_im2col", 2, spec, 5, groups, args, push, sizeof push);
}

static rp_status col2im(rp_recorder *rec, const geom *g, const rp_tensor *dcol, uint32_t n0,
                        uint32_t images, const rp_tensor *dx) {
  uint32_t push[] = {g->c, n0, (uint32_t)dcol->shape[1]};
  rp_arg args[] = {{&dcol->buffer, 0, rp_tensor_bytes(dcol), RP_READ},
                   {&dx->buffer, 0, rp_tensor_bytes(dx), RP_WRITE}};
  uint32_t spec[4] = {GRID_WORKGROUP};
  geom_spec(g, spec + 1);
  uint32_t groups[3] = {(g->h * g->w + GRID_WORKGROUP - 1) / GRID_WORKGROUP, g->c, images};
  /* dcol through a float texel buffer where rp_texel_reads() says: the gathers are the cost */
  char name[48];
  rp_pipeline_key key = rp_texel_key(rp_context_caps(rp_rec_context(rec)), "conv2d_col2im", name,
                                     sizeof name, 2, spec, 4, args, 1u, 0u);
  return dispatch_key(rec, PASS_BACKWARD_DATA, &key, groups, args, push, sizeof push);
}

static rp_status im2col_pass(rp_recorder *rec, int pass, const geom *g, uint64_t budget,
                             const rp_tensor *x, const rp_tensor *w, const rp_tensor *bias,
                             const rp_tensor *y) {
  /* forward: x, w, bias -> y; backward data: x = dx (out), w, y = dy; backward filter: x,
   * w = dw (out), y = dy */
  im2col_plan pl = plan_chunks(rp_context_caps(rp_rec_context(rec)), g, budget);
  const rp_buffer *scratch;
  rp_status st = rp_rec_scratch(rec, plan_bytes(&pl), &scratch);
  if (st) return st;
  uint64_t off = 0;
  rp_tensor wmat = scratch_view(scratch, &off, pl.align, pl.k_p, pl.crs_p);
  uint64_t chunk_off = off;
  if (pass != PASS_BACKWARD_FILTER)
    st = layout(rec, pass, 0, w, NULL, &wmat, g->k, pl.k_p, pl.crs, 0, 1);
  for (uint32_t n0 = 0; st == RP_OK && n0 < g->n; n0 += pl.images) {
    uint32_t images = g->n - n0 < pl.images ? g->n - n0 : pl.images;
    uint32_t cols = images * pl.pq, cols_p = round_up(cols, 8);
    off = chunk_off;
    rp_tensor col = scratch_view(scratch, &off, pl.align, pl.crs_p, cols_p);
    rp_tensor ymat = scratch_view(scratch, &off, pl.align, pl.k_p, cols_p);
    if (pass == PASS_FORWARD) {
      st = im2col(rec, pass, g, &pl, x, n0, cols, &col);
      if (st == RP_OK) st = rp_gemm(rec, false, false, 1.0f, &wmat, &col, 0.0f, &ymat);
      if (st == RP_OK) st = layout(rec, pass, 1, &ymat, bias, y, g->k, pl.k_p, pl.pq, n0, images);
    } else if (pass == PASS_BACKWARD_DATA) {
      st = layout(rec, pass, 0, y, NULL, &ymat, g->k, pl.k_p, pl.pq, n0, images);
      if (st == RP_OK) st = rp_gemm(rec, true, false, 1.0f, &wmat, &ymat, 0.0f, &col);
      if (st == RP_OK) st = col2im(rec, g, &col, n0, images, x);
    } else {
      st = im2col(rec, pass, g, &pl, x, n0, cols, &col);
      if (st == RP_OK) st = layout(rec, pass, 0, y, NULL, &ymat, g->k, pl.k_p, pl.pq, n0, images);
      if (st == RP_OK) st = rp_gemm(rec, false, true, 1.0f, &ymat, &col, n0 ? 1.0f : 0.0f, &wmat);
    }
  }
  if (st == RP_OK && pass == PASS_BACKWARD_FILTER)
    st = layout(rec, pass, 1, &wmat, NULL, w, g->k, pl.k_p, pl.crs, 0, 1);
  return st;
}

/* ---- CPU path: the lanes kernels ---- */

/* conv2d_lanes.glsl's blocks: TM output channels per subgroup by 8 pixels per lane, one
 * shader each (conv2d_lanes_<TM>x8.comp): the smallest that holds K, 64 past that. */
static uint32_t lanes_tm(const geom *g) { return g->k <= 16 ? 16 : g->k <= 32 ? 32 : 64; }
#define LANES_TN 8u /* (16 ran no faster for K = 16) */

/* The lanes kernels are written for one subgroup per workgroup, of a fixed size dividing
 * their blocks, that shuffles. */
static bool lanes_fits(const rp_caps *caps) {
  uint32_t sg = caps->subgroup_size;
  return caps->subgroup_size_fixed && caps->subgroup_shuffle && sg && 16 % sg == 0;
}

/* conv2d_lanes_row.glsl takes 3-wide kernels at stride 1 where each lane's 8 pixels lie in
 * one row (Q % 8 == 0), sharing the inputs across the three taps. */
static bool lanes_row_fits(const geom *g) {
  return g->s == 3 && g->stride == 1 && g->q % LANES_TN == 0;
}

/* y = conv(x, w) + bias with w given as `wmat`: [K, round_up(C*R*S, 4)] zero-padded, or for
 * the row kernel [K, C*R*4] (lanes_weights). */
static rp_status lanes_dispatch(rp_recorder *rec, int pass, const geom *g, const rp_tensor *x,
                                const rp_tensor *wmat, const rp_tensor *bias, const rp_tensor *y) {
  const rp_caps *caps = rp_context_caps(rp_rec_context(rec));
  uint32_t crs = g->c * g->r * g->s, lda = round_up(crs, 4);
  uint32_t tm = lanes_tm(g), sg = caps->subgroup_size;
  uint32_t npq = g->n * g->p * g->q;
  bool row = lanes_row_fits(g);
  uint32_t spec[5] = {sg, sg};
  geom_spec(g, spec + 2);
  uint32_t push[] = {npq, g->c, g->k, crs, lda / 4, bias != NULL};
  uint32_t row_push[] = {npq, g->c, g->k, g->c * g->r, bias != NULL};
  const rp_tensor *b = bias ? bias : x;
  rp_arg args[] = {{&wmat->buffer, 0, rp_tensor_bytes(wmat), RP_READ},
                   {&x->buffer, 0, rp_tensor_bytes(x), RP_READ},
                   {&b->buffer, 0, rp_tensor_bytes(b), RP_READ},
                   {&y->buffer, 0, rp_tensor_bytes(y), RP_WRITE}};
  uint32_t groups[3] = {(npq + sg * LANES_TN - 1) / (sg * LANES_TN), (g->k + tm - 1) / tm, 1};
  rp_grid_fold_x(caps, groups);
  char shader[32];
  snprintf(shader, sizeof shader, "conv2d_lanes_%s%ux%u", row ? "row_" : "", tm, LANES_TN);
  char name[48];
  rp_pipeline_key key = rp_texel_key(caps, shader, name, sizeof name, 4, spec, 5, args, 3u, 1u);
  return dispatch_key(rec, pass, &key, groups, args, row ? row_push : push,
                      row ? sizeof row_push : sizeof push);
}

/* The weights as the lanes kernels read them, in scratch. For `g` (the convolution the kernel
 * runs: for the backward-data pass (flip), the transposed one):
 *   - the row kernel: [K, C*R*4], each (c, r)'s taps padded to four (conv2d_taps.comp);
 *   - else [K, C*R*S] zero-padded to rows of a multiple of 4 (MODE 0 of conv2d_layout.comp),
 *     flipped in r and s for the backward-data pass (MODE 2). */
static rp_status lanes_weights(rp_recorder *rec, int pass, const geom *g, const rp_tensor *w,
                               rp_tensor *wmat) {
  bool flip = pass == PASS_BACKWARD_DATA, row = lanes_row_fits(g);
  uint32_t rows = g->k, cols = g->c * g->r * g->s;
  uint32_t lda = row ? g->c * g->r * 4 : round_up(cols, 4);
  const rp_buffer *scratch;
  rp_status st = rp_rec_scratch(rec, (uint64_t)rows * lda * sizeof(float), &scratch);
  if (st) return st;
  uint64_t off = 0;
  *wmat = scratch_view(scratch, &off, 16, rows, lda);
  rp_arg args[] = {{&w->buffer, 0, rp_tensor_bytes(w), RP_READ},
                   {&w->buffer, 0, rp_tensor_bytes(w), RP_READ},
                   {&wmat->buffer, 0, rp_tensor_bytes(wmat), RP_WRITE}};
  uint32_t groups[3] = {(lda + GRID_WORKGROUP - 1) / GRID_WORKGROUP, rows, 1};
  if (row) {
    uint32_t push[] = {rows, g->c, g->r, g->s, flip};
    uint32_t spec[] = {GRID_WORKGROUP};
    return dispatch_grid(rec, pass, "conv2d_taps", 2, spec, 1, groups, args + 1, push, sizeof push);
  }
  if (!flip) return layout(rec, pass, 0, w, NULL, wmat, g->k, g->k, cols, 0, 1);
  uint32_t push[] = {rows, cols, lda, g->r * g->s, 0, 0};
  uint32_t spec[] = {GRID_WORKGROUP, 2, 1};
  return dispatch_grid(rec, pass, "conv2d_layout", 3, spec, 3, groups, args, push, sizeof push);
}

static rp_status lanes_forward(rp_recorder *rec, const geom *g, const rp_tensor *x,
                               const rp_tensor *w, const rp_tensor *bias, const rp_tensor *y) {
  rp_tensor wmat;
  rp_status st = lanes_weights(rec, PASS_FORWARD, g, w, &wmat);
  return st ? st : lanes_dispatch(rec, PASS_FORWARD, g, x, &wmat, bias, y);
}

/* With stride 1, dx is the forward convolution of dy with the flipped, transposed weights and
 * padding R-1-pad: the same kernel, with dy as its input. */
static bool lanes_backward_data_fits(const rp_caps *caps, const geom *g, geom *t) {
  if (g->stride != 1 || g->pad > g->r - 1 || g->pad > g->s - 1) return false;
  *t = (geom){g->n, g->k, g->p, g->q, g->c, g->h, g->w, g->r, g->s, 1, g->r - 1 - g->pad};
  /* one padding for both dimensions */
  return g->r - 1 - g->pad == g->s - 1 - g->pad && lanes_fits(caps);
}

static rp_status lanes_backward_data(rp_recorder *rec, const geom *g, const geom *t,
                                     const rp_tensor *dy, const rp_tensor *w, const rp_tensor *dx) {
  rp_tensor wmat;
  rp_status st = lanes_weights(rec, PASS_BACKWARD_DATA, t, w, &wmat);
  return st ? st : lanes_dispatch(rec, PASS_BACKWARD_DATA, t, dy, &wmat, NULL, dx);
}

/* dw through conv2d_lanes_filter.glsl: the pixels split by images over enough workgroups to
 * keep the device busy, each split's partial dw summed in a fixed order afterwards. */
static rp_status lanes_backward_filter(rp_recorder *rec, const geom *g, const rp_tensor *x,
                                       const rp_tensor *dy, const rp_tensor *dw) {
  const rp_caps *caps = rp_context_caps(rp_rec_context(rec));
  uint32_t crs = g->c * g->r * g->s, count = g->k * crs;
  /* conv2d_lanes_filter_row.glsl: 3-wide kernels at stride 1, steps of four pixels of a row */
  bool row = g->s == 3 && g->stride == 1 && g->q % 4 == 0;
  uint32_t tm = lanes_tm(g), tn = row ? 12 : LANES_TN, sg = caps->subgroup_size;
  uint32_t groups[3] = {(crs + sg * tn - 1) / (sg * tn), (g->k + tm - 1) / tm, 1};
  uint32_t target = 32; /* workgroups: a few per CPU thread, for balance */
  uint32_t tiles = groups[0] * groups[1];
  uint32_t splits = tiles ? (target + tiles - 1) / tiles : 1;
  uint64_t max_by_bytes = count ? CHUNK_BYTES / ((uint64_t)count * sizeof(float)) : 1;
  if (splits > max_by_bytes) splits = (uint32_t)max_by_bytes;
  if (splits > g->n) splits = g->n;
  if (splits < 1) splits = 1;
  uint32_t per = (g->n + splits - 1) / splits; /* images per split */
  if (per < 1) per = 1;
  splits = (g->n + per - 1) / per;
  groups[2] = splits;
  const rp_buffer *part = &dw->buffer;
  uint64_t part_bytes = (uint64_t)splits * count * sizeof(float);
  if (splits > 1) {
    rp_status st = rp_rec_scratch(rec, part_bytes, &part);
    if (st) return st;
  }
  uint32_t spec[5] = {sg, sg};
  geom_spec(g, spec + 2);
  uint32_t push[] = {g->n, g->c, g->k, crs, per};
  rp_arg args[] = {{&dy->buffer, 0, rp_tensor_bytes(dy), RP_READ},
                   {&x->buffer, 0, rp_tensor_bytes(x), RP_READ},
                   {part, 0, part_bytes, RP_WRITE}};
  char shader[40];
  snprintf(shader, sizeof shader, "conv2d_lanes_filter_%s%ux%u", row ? "row_" : "", tm, tn);
  char name[48];
  rp_pipeline_key key = rp_texel_key(caps, shader, name, sizeof name, 3, spec, 5, args, 3u, 1u);
  rp_status st = dispatch_key(rec, PASS_BACKWARD_FILTER, &key, groups, args, push, sizeof push);
  if (st || splits == 1) return st;
  uint32_t sum_push[] = {count, splits};
  rp_arg sum_args[] = {{part, 0, part_bytes, RP_READ},
                       {&dw->buffer, 0, rp_tensor_bytes(dw), RP_WRITE}};
  return dispatch_1d(rec, "conv2d_sum_splits", 2, 0, count, sum_args, sum_push, sizeof sum_push);
}

/* ---- the ops ---- */

rp_status rp_conv2d_forward(rp_recorder *rec, const rp_tensor *x, const rp_tensor *w,
                            const rp_tensor *bias, int stride, int pad, const rp_tensor *y) {
  static const char *const names[3] = {"x", "w", "y"};
  geom g = {0};
  rp_status st = check_shapes(PASS_FORWARD, x, w, y, stride, pad, names, &g);
  if (st) return st;
  if (bias && (bias->ndim < 1 || rp_tensor_numel(bias) != g.k))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "conv2d_forward: bias of %lld elements, K = %u",
                   (long long)rp_tensor_numel(bias), g.k);
  uint64_t budget;
  conv_path path = choose_path(rp_context_caps(rp_rec_context(rec)), &budget);
  if (path == PATH_LANES && lanes_fits(rp_context_caps(rp_rec_context(rec))))
    return lanes_forward(rec, &g, x, w, bias, y);
  if (path != PATH_IMPLICIT) return im2col_pass(rec, PASS_FORWARD, &g, budget, x, w, bias, y);
  return implicit_pass(rec, PASS_FORWARD, &g, w, x, bias, &y->buffer, rp_tensor_bytes(y), 1, 0);
}

rp_status rp_conv2d_backward_data(rp_recorder *rec, const rp_tensor *dy, const rp_tensor *w,
                                  int stride, int pad, const rp_tensor *dx) {
  static const char *const names[3] = {"dx", "w", "dy"};
  geom g = {0};
  rp_status st = check_shapes(PASS_BACKWARD_DATA, dx, w, dy, stride, pad, names, &g);
  if (st) return st;
  uint64_t budget;
  conv_path path = choose_path(rp_context_caps(rp_rec_context(rec)), &budget);
  geom t = {0};
  if (path == PATH_LANES && lanes_backward_data_fits(rp_context_caps(rp_rec_context(rec)), &g, &t))
    return lanes_backward_data(rec, &g, &t, dy, w, dx);
  if (path != PATH_IMPLICIT)
    return im2col_pass(rec, PASS_BACKWARD_DATA, &g, budget, dx, w, NULL, dy);
  return implicit_pass(rec, PASS_BACKWARD_DATA, &g, w, dy, NULL, &dx->buffer, rp_tensor_bytes(dx),
                       1, 0);
}

rp_status rp_conv2d_backward_filter(rp_recorder *rec, const rp_tensor *x, const rp_tensor *dy,
                                    int stride, int pad, const rp_tensor *dw,
                                    const rp_tensor *dbias) {
  static const char *const names[3] = {"x", "dw", "dy"};
  geom g = {0};
  rp_status st = check_shapes(PASS_BACKWARD_FILTER, x, dw, dy, stride, pad, names, &g);
  if (st) return st;
  uint64_t budget;
  conv_path path = choose_path(rp_context_caps(rp_rec_context(rec)), &budget);
  /* conv2d_lanes_filter.glsl reads dy as vec4s along the pixels */
  if (path == PATH_LANES && lanes_fits(rp_context_caps(rp_rec_context(rec))) && g.p * g.q % 4 == 0)
    st = lanes_backward_filter(rec, &g, x, dy, dw);
  else if (path != PATH_IMPLICIT)
    st = im2col_pass(rec, PASS_BACKWARD_FILTER, &g, budget, x, dw, NULL, dy);
  else
    st = implicit_backward_filter(rec, &g, x, dy, dw);
  if (st == RP_OK && dbias) st = bias_grad(rec, &g, dy, dbias);
  return st;
}
