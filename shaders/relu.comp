#version 450
// ReLU, one invocation per four elements (the tail one at a time, as in copy.comp: on lavapipe
// a vec4 load costs about what a float's does); specialization constant 1 picks the direction:
//   0 forward:  out = a < 0 ? 0 : a               (a = x; b is x again, unread)
//   1 backward: out = a <= 0 ? 0 : b              (a = y, the forward output; b = dy)
// NaN as in PyTorch: the forward keeps it, and the backward passes dy where y is NaN. The NaN
// test is on the bits (is_nan): drivers may compile `a < 0 ? 0 : a` to max(a, 0), which gives
// 0 for NaN (NVIDIA's does).
// variants: texel
#include "common.glsl"
#include "texel.glsl"

layout(constant_id = 1) const uint BACKWARD = 0;

INPUT4(0, a4);
INPUT4(1, b4);
layout(set = 0, binding = 2) writeonly buffer Out { float result[]; };
layout(set = 0, binding = 2) writeonly buffer Out4 { vec4 result4[]; };
layout(push_constant) uniform Push { uint n; } p;

// mix() with a bvec selects, without arithmetic: NaN passes through untouched.
vec4 relu(vec4 v, vec4 g) {
  bvec4 pass = bvec4(uvec4(greaterThan(v, vec4(0.0))) | uvec4(is_nan(v)));
  return mix(vec4(0.0), BACKWARD == 0u ? v : g, pass);
}

void main() {
  uint i = flat_invocation();
  uint whole = p.n / 4u;
  if (i < whole) result4[i] = relu(LOAD4(a4, i), BACKWARD == 0u ? vec4(0.0) : LOAD4(b4, i));
  uint tail = whole * 4u + i;
  if (i < p.n % 4u)
    result[tail] =
        relu(vec4(LOAD4_ONE(a4, tail)), vec4(BACKWARD == 0u ? 0.0 : LOAD4_ONE(b4, tail))).x;
}
