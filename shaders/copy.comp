#version 450
// y[i] = x[i], four floats per invocation where the size allows (the bandwidth benchmark's
// kernel too), one at a time for the tail.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 1) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform Push { uint n; } p;

void main() {
  uint i = flat_invocation();
  uint whole = p.n / 4u;
  if (i < whole) y4[i] = x4[i];
  uint tail = whole * 4u + i;
  if (i < p.n % 4u) y[tail] = x[tail];
}
