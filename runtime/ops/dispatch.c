#include "ops/dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv2d.h"
#include "ops/ops.h"
#include "vk/context.h"

rp_status rp_grid_1d(const rp_caps *caps, int64_t invocations, uint32_t workgroup,
                     uint32_t groups[3]) {
  if (invocations > (int64_t)UINT32_MAX)
    return rp_fail(RP_ERR_TOO_LARGE, "%lld elements in one dispatch; at most %u",
                   (long long)invocations, UINT32_MAX);
  uint64_t total = ((uint64_t)invocations + workgroup - 1) / workgroup;
  uint64_t max_x = caps->max_workgroup_count[0];
  groups[0] = (uint32_t)(total < max_x ? total : max_x);
  groups[1] = (uint32_t)((total + groups[0] - 1) / (groups[0] ? groups[0] : 1));
  groups[2] = 1;
  if (groups[1] > caps->max_workgroup_count[1])
    return rp_fail(RP_ERR_TOO_LARGE, "%lld elements need more workgroups than the device allows",
                   (long long)invocations);
  return RP_OK;
}

void rp_grid_fold_x(const rp_caps *caps, uint32_t groups[3]) {
  uint32_t max_x = caps->max_workgroup_count[0];
  if (groups[0] <= max_x || groups[2] != 1 || max_x == 0) return;
  uint32_t z = (uint32_t)(((uint64_t)groups[0] + max_x - 1) / max_x);
  if (z > caps->max_workgroup_count[2]) return;
  groups[0] = (uint32_t)(((uint64_t)groups[0] + z - 1) / z);
  groups[2] = z;
}

rp_status rp_check_environment(const rp_caps *caps) {
  const char *gemm = getenv("REPRO_GEMM"), *conv = getenv("REPRO_CONV");
  const char *texel = getenv("REPRO_TEXEL");
  rp_gemm_tuning t;
  const char *name = NULL, *value = NULL;
  rp_status st = RP_OK;
  if (gemm && (st = rp_gemm_parse_override(caps, gemm, &t)))
    name = "REPRO_GEMM", value = gemm;
  else if (conv && (st = rp_conv2d_check_override(conv)))
    name = "REPRO_CONV", value = conv;
  else if (texel && strcmp(texel, "0") != 0 && strcmp(texel, "1") != 0)
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "expected 0 or 1"), name = "REPRO_TEXEL", value = texel;
  if (!st) return RP_OK;
  return rp_fail(st, "%s=%s: %s", name, value, rp_error_message());
}

bool rp_texel_reads(const rp_caps *caps) {
  const char *force = getenv("REPRO_TEXEL");
  if (force && (strcmp(force, "0") == 0 || strcmp(force, "1") == 0)) return force[0] == '1';
  return caps->device_class == RP_CLASS_CPU;
}

rp_pipeline_key rp_texel_key(const rp_caps *caps, const char *shader, char *name, size_t name_size,
                             uint32_t binding_count, const uint32_t *spec, uint32_t spec_count,
                             const rp_arg *args, uint32_t texel_bindings, uint32_t texel_vec4) {
  rp_pipeline_key plain = {shader, binding_count, spec, spec_count};
  if (!texel_bindings || !rp_texel_reads(caps)) return plain; /* no inputs to read so */
  for (uint32_t i = 0; i < binding_count; i++) {
    if (!(texel_bindings >> i & 1u)) continue;
    uint64_t at = args[i].buffer->offset + args[i].offset;
    if (!rp_texel_view_fits(caps, at, rp_arg_bytes(&args[i]), rp_texel_size(texel_vec4, i)))
      return plain;
  }
  snprintf(name, name_size, "%s_texel", shader);
  return (rp_pipeline_key){name, binding_count, spec, spec_count, texel_bindings, texel_vec4};
}

rp_status rp_vec4_dispatch(rp_recorder *rec, const char *shader, const uint32_t *spec,
                           uint32_t spec_count, const rp_arg *args, uint32_t nargs, uint32_t inputs,
                           int64_t n, const void *push, uint32_t push_bytes) {
  rp_context *ctx = rp_rec_context(rec);
  const rp_caps *caps = rp_context_caps(ctx);
  char name[48];
  rp_pipeline_key key =
      rp_texel_key(caps, shader, name, sizeof name, nargs, spec, spec_count, args, inputs, inputs);
  const rp_pipeline *pipeline;
  uint32_t groups[3];
  rp_status st = rp_pipeline_get(ctx, &key, &pipeline);
  if (st == RP_OK) st = rp_grid_1d(caps, rp_vec4_invocations(n), spec[0], groups);
  return st ? st : rp_rec_dispatch(rec, pipeline, args, nargs, push, push_bytes, groups);
}
