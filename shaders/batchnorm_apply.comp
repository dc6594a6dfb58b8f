#version 450
// Batch-norm output, a workgroup per (channel, chunk) (batchnorm_common.glsl):
//   training (EVAL 0): y = gamma * (x - mean) * invstd + beta, `stat` holding invstd
//   eval     (EVAL 1): the same with invstd = 1 / sqrt(stat + eps), `stat` the running variance
// variants: texel
#include "common.glsl"
#include "batchnorm_common.glsl"
#include "texel.glsl"

layout(constant_id = 1) const uint EVAL = 0;

INPUT4(0, x);
layout(set = 0, binding = 1) readonly buffer Mean { float mean[]; };
layout(set = 0, binding = 2) readonly buffer Stat { float stat[]; };
layout(set = 0, binding = 3) readonly buffer Gamma { float gamma[]; };
layout(set = 0, binding = 4) readonly buffer Beta { float beta[]; };
layout(set = 0, binding = 5) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 5) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform Push {
  uint C, inner, M, chunk, chunks, in_magic, in_sh;
  float eps;
} p;

void main() {
  uint c, k, begin, end;
  if (!channel_chunk(p.C, p.M, p.chunk, p.chunks, c, k, begin, end)) return;
  float invstd = EVAL == 0u ? stat[c] : 1.0 / sqrt(stat[c] + p.eps);
  float scale = gamma[c] * invstd, mu = mean[c], shift = beta[c];
  for (uint m = begin + gl_LocalInvocationID.x; m < end; m += gl_WorkGroupSize.x) {
    uint i = channel_element(m, c, p.C, p.inner, p.in_magic, p.in_sh);
    if (VEC4 == 1u)
      y4[i] = fma(vec4(scale), LOAD4(x, i) - mu, vec4(shift));
    else
      y[i] = fma(scale, LOAD4_ONE(x, i) - mu, shift);
  }
}
