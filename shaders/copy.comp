#version 450
// y[i] = x[i], four floats per invocation where the size allows (the bandwidth benchmark's
// kernel too), one at a time for the tail.
// variants: texel
#include "common.glsl"
#include "texel.glsl"

INPUT4(0, x4);
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 1) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform Push { uint n; } p;

void main() {
  uint i = flat_invocation();
  uint whole = p.n / 4u;
  if (i < whole) y4[i] = LOAD4(x4, i);
  uint tail = whole * 4u + i;
  if (i < p.n % 4u) y[tail] = LOAD4_ONE(x4, tail);
}
