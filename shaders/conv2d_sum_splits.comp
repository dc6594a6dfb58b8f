#version 450
// out[i] = sum over s of part[s * count + i], in the order s = 0, 1, ...: the fixed-order
// reduction of conv2d_implicit.comp's split-depth partial sums of dw (deterministic).
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer Part { float part[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push {
  uint count;
  uint splits;
} p;

void main() {
  uint i = flat_invocation();
  if (i >= p.count) return;
  float s = 0.0;
  for (uint k = 0u; k < p.splits; k++) s += part[k * p.count + i];
  result[i] = s;
}
