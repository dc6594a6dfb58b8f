#version 450
// Batch-norm backward, last pass, a workgroup per (channel, chunk) (batchnorm_common.glsl):
//   dx = gamma * invstd * (dy - dbeta / M - xhat * dgamma / M),  xhat = (x - mean) * invstd,
// M the elements per channel: the gradient through the batch mean and variance.
// variants: texel
#include "common.glsl"
#include "batchnorm_common.glsl"
#include "texel.glsl"

INPUT4(0, x);
INPUT4(1, dy);
layout(set = 0, binding = 2) readonly buffer Mean { float mean[]; };
layout(set = 0, binding = 3) readonly buffer Invstd { float invstd[]; };
layout(set = 0, binding = 4) readonly buffer Gamma { float gamma[]; };
layout(set = 0, binding = 5) readonly buffer Dgamma { float dgamma[]; };
layout(set = 0, binding = 6) readonly buffer Dbeta { float dbeta[]; };
layout(set = 0, binding = 7) writeonly buffer Dx { float dx[]; };
layout(set = 0, binding = 7) writeonly buffer Dx4 { vec4 dx4[]; };
layout(push_constant) uniform Push {
  uint C, inner, M, chunk, chunks, in_magic, in_sh;
  float inv_m; // 1 / M
} p;

void main() {
  uint c, k, begin, end;
  if (!channel_chunk(p.C, p.M, p.chunk, p.chunks, c, k, begin, end)) return;
  float is = invstd[c], mu = mean[c], scale = gamma[c] * is;
  float mean_dy = dbeta[c] * p.inv_m, mean_dy_xhat = dgamma[c] * p.inv_m;
  for (uint m = begin + gl_LocalInvocationID.x; m < end; m += gl_WorkGroupSize.x) {
    uint i = channel_element(m, c, p.C, p.inner, p.in_magic, p.in_sh);
    if (VEC4 == 1u) {
      vec4 xhat = (LOAD4(x, i) - mu) * is;
      dx4[i] = scale * (LOAD4(dy, i) - mean_dy - xhat * mean_dy_xhat);
    } else {
      float xhat = (LOAD4_ONE(x, i) - mu) * is;
      dx[i] = scale * (LOAD4_ONE(dy, i) - mean_dy - xhat * mean_dy_xhat);
    }
  }
}
