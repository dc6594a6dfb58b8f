#version 450
// The model's input normalization (C <= 4), a workgroup per (channel, chunk) of x
// (batchnorm_common.glsl):
//   forward  (BACKWARD 0): y = (x - mean[c]) / std[c]
//   backward (BACKWARD 1): dx = dy / std[c]              (x is dy, y is dx; mean unused)
#include "common.glsl"
#include "batchnorm_common.glsl"

layout(constant_id = 1) const uint BACKWARD = 0;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint C, inner, M, chunk, chunks, in_magic, in_sh;
  float mean[4];
  float std_dev[4];
} p;

void main() {
  uint c, k, begin, end;
  if (!channel_chunk(p.C, p.M, p.chunk, p.chunks, c, k, begin, end)) return;
  float mu = BACKWARD == 0u ? p.mean[c] : 0.0, sd = p.std_dev[c];
  for (uint m = begin + gl_LocalInvocationID.x; m < end; m += gl_WorkGroupSize.x) {
    uint i = channel_element(m, c, p.C, p.inner, p.in_magic, p.in_sh);
    y[i] = (x[i] - mu) / sd;
  }
}
