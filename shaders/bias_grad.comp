#version 450
// The bias gradient's first pass: for each (channel c, chunk k) of dy (batchnorm_common.glsl),
// the sum of the chunk's elements into out[c*chunks + k] (with one chunk per channel that is
// dbias itself; otherwise reduce_sum.comp adds each channel's chunks up). Same fixed reduction
// tree as batchnorm_stats.comp.
#include "common.glsl"
#include "batchnorm_common.glsl"

layout(set = 0, binding = 0) readonly buffer Dy { float dy[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push { uint C, inner, M, chunk, chunks, in_magic, in_sh; } p;

shared float s_sum[gl_WorkGroupSize.x];

void main() {
  uint c, k, begin, end;
  if (!channel_chunk(p.C, p.M, p.chunk, p.chunks, c, k, begin, end))
    return; // uniform across the workgroup: barriers stay legal
  float s = 0.0;
  for (uint m = begin + gl_LocalInvocationID.x; m < end; m += gl_WorkGroupSize.x)
    s += dy[channel_element(m, c, p.C, p.inner, p.in_magic, p.in_sh)];
  uint lid = gl_LocalInvocationID.x;
  s_sum[lid] = s;
  barrier();
  for (uint half_size = gl_WorkGroupSize.x / 2u; half_size > 0u; half_size /= 2u) {
    if (lid < half_size) s_sum[lid] += s_sum[lid + half_size];
    barrier();
  }
  if (lid == 0u) result[c * p.chunks + k] = s_sum[0];
}
