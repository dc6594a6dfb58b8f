#version 450
// Batch-norm backward, first pass: for each (channel c, chunk k) (batchnorm_common.glsl), the
// chunk's sum of dy and of dy * xhat (xhat = (x - mean) * invstd), into partial[c*chunks + k].
// Same fixed reduction tree as batchnorm_stats.comp; batchnorm_grad_finalize.comp adds the
// chunks up.
// variants: texel
#include "common.glsl"
#include "batchnorm_common.glsl"
#include "texel.glsl"

INPUT4(0, x);
INPUT4(1, dy);
layout(set = 0, binding = 2) readonly buffer Mean { float mean[]; };
layout(set = 0, binding = 3) readonly buffer Invstd { float invstd[]; };
layout(set = 0, binding = 4) writeonly buffer Partial { vec2 partial[]; };
layout(push_constant) uniform Push { uint C, inner, M, chunk, chunks, in_magic, in_sh; } p;

shared float s_dy[gl_WorkGroupSize.x];
shared float s_dyx[gl_WorkGroupSize.x];

void main() {
  uint c, k, begin, end;
  if (!channel_chunk(p.C, p.M, p.chunk, p.chunks, c, k, begin, end))
    return; // uniform across the workgroup: barriers stay legal
  float mu = mean[c];
  float a = 0.0, b = 0.0; // sum dy, sum dy * (x - mean)
  if (VEC4 == 1u) {
    vec4 a4 = vec4(0.0), b4 = vec4(0.0);
    for (uint m = begin + gl_LocalInvocationID.x; m < end; m += gl_WorkGroupSize.x) {
      uint i = channel_element(m, c, p.C, p.inner, p.in_magic, p.in_sh);
      vec4 g = LOAD4(dy, i);
      a4 += g;
      b4 = fma(g, LOAD4(x, i) - mu, b4);
    }
    a = (a4.x + a4.y) + (a4.z + a4.w);
    b = (b4.x + b4.y) + (b4.z + b4.w);
  } else {
    for (uint m = begin + gl_LocalInvocationID.x; m < end; m += gl_WorkGroupSize.x) {
      uint i = channel_element(m, c, p.C, p.inner, p.in_magic, p.in_sh);
      float g = LOAD4_ONE(dy, i);
      a += g;
      b = fma(g, LOAD4_ONE(x, i) - mu, b);
    }
  }
  uint lid = gl_LocalInvocationID.x;
  s_dy[lid] = a;
  s_dyx[lid] = b;
  barrier();
  for (uint half_size = gl_WorkGroupSize.x / 2u; half_size > 0u; half_size /= 2u) {
    if (lid < half_size) {
      s_dy[lid] += s_dy[lid + half_size];
      s_dyx[lid] += s_dyx[lid + half_size];
    }
    barrier();
  }
  if (lid == 0u) partial[c * p.chunks + k] = vec2(s_dy[0], s_dyx[0] * invstd[c]);
}
