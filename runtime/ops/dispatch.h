/* Small helpers the op files share for 1-D elementwise dispatches. */
#ifndef RP_DISPATCH_H
#define RP_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vk/caps.h"
#include "vk/pipeline.h"
#include "vk/recorder.h"
#include "vk/status.h"

#define RP_ELEMENTWISE_WORKGROUP 256u

/* Workgroups covering `invocations` at `workgroup` each, spread over x and y when x alone
 * would exceed the device's limit (shaders use flat_workgroup() from common.glsl). */
rp_status rp_grid_1d(const rp_caps *caps, int64_t invocations, uint32_t workgroup,
                     uint32_t groups[3]);

/* A 2-D grid of groups[0] x groups[1] workgroups (groups[2] = 1) whose x exceeds the device's
 * limit, spread over x and z: groups[0] becomes ceil(groups[0] / z) for the fewest z that fit,
 * and the shader finds its x with folded_workgroup_x() (common.glsl), past the last one in at
 * most z - 1 workgroups, which its bounds checks must skip. Where even z cannot hold them, or
 * z is taken, the grid is left as it was, for the dispatch to refuse naming the limit. (The
 * limit is 65,535 on Intel and Mesa's drivers: an implicit-GEMM convolution of 4096 images of
 * 32 x 32 pixels takes 65,536 tiles of 64.) */
void rp_grid_fold_x(const rp_caps *caps, uint32_t groups[3]);

/* Invocations for `n` elements in kernels that take four per invocation and the n % 4 left
 * over one each (copy.comp, elementwise.comp, relu.comp). */
static inline int64_t rp_vec4_invocations(int64_t n) { return n / 4 > n % 4 ? n / 4 : n % 4; }

/* Whether ops read their inputs through uniform texel buffers, with the _texel variants of
 * their shaders (shaders/texel.glsl): on CPU devices, where lavapipe (Mesa 22.3) reads a
 * storage buffer one SIMD lane at a time, each with a bounds check, and a texel buffer with the
 * CPU's vector gathers (a copy of 8 MiB measured 2.5-5 times as fast); not on GPUs, where it
 * has not been measured. REPRO_TEXEL=0 or 1 overrides, read at each call (tests run both). */
bool rp_texel_reads(const rp_caps *caps);

/* Checks the kernel-choice switches a user may set (REPRO_GEMM, REPRO_CONV, REPRO_TEXEL): a
 * value the ops would ignore, or one that would crash a kernel, is an error naming the
 * variable. The ops themselves read only valid values; commands call this first. */
rp_status rp_check_environment(const rp_caps *caps);

/* The pipeline key of `shader`, or, where `texel_bindings` names some, rp_texel_reads() and
 * every argument of `texel_bindings` fits a texel view, of `shader`_texel (written to `name`, of
 * `name_size` bytes) reading those bindings as texel buffers, of vec4s for the bindings in
 * `texel_vec4`. */
rp_pipeline_key rp_texel_key(const rp_caps *caps, const char *shader, char *name, size_t name_size,
                             uint32_t binding_count, const uint32_t *spec, uint32_t spec_count,
                             const rp_arg *args, uint32_t texel_bindings, uint32_t texel_vec4);

/* One dispatch of a shader that takes four elements per invocation and the n % 4 left over
 * one each (copy.comp, elementwise.comp, relu.comp; spec[0] its workgroup size), reading the
 * bindings `inputs` as vec4 texel buffers where rp_texel_key() says. */
rp_status rp_vec4_dispatch(rp_recorder *rec, const char *shader, const uint32_t *spec,
                           uint32_t spec_count, const rp_arg *args, uint32_t nargs, uint32_t inputs,
                           int64_t n, const void *push, uint32_t push_bytes);

#endif
