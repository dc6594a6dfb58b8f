#version 450
// y[n, c, ...] += bias[c], a workgroup per (channel, chunk) of y (batchnorm_common.glsl).
#include "common.glsl"
#include "batchnorm_common.glsl"

layout(set = 0, binding = 0) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push { uint C, inner, M, chunk, chunks, in_magic, in_sh; } p;

void main() {
  uint c, k, begin, end;
  if (!channel_chunk(p.C, p.M, p.chunk, p.chunks, c, k, begin, end)) return;
  float b = bias[c];
  for (uint m = begin + gl_LocalInvocationID.x; m < end; m += gl_WorkGroupSize.x)
    y[channel_element(m, c, p.C, p.inner, p.in_magic, p.in_sh)] += b;
}
