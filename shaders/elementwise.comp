#version 450
// z = op(x, y) elementwise, the op chosen by specialization constant 1:
//   0 add:   z = x + y        1 mul:   z = x * y
//   2 axpy:  z = alpha*x + y  3 scale: z = alpha*x   (y is bound but unread)
// One invocation per four elements, the tail one at a time, as in copy.comp.
// variants: texel
#include "common.glsl"
#include "texel.glsl"

layout(constant_id = 1) const uint OP = 0;

INPUT4(0, x4);
INPUT4(1, y4);
layout(set = 0, binding = 2) writeonly buffer Z { float z[]; };
layout(set = 0, binding = 2) writeonly buffer Z4 { vec4 z4[]; };
layout(push_constant) uniform Push { uint n; float alpha; } p;

vec4 op(vec4 a, vec4 b) {
  if (OP == 0u) return a + b;
  if (OP == 1u) return a * b;
  if (OP == 2u) return fma(vec4(p.alpha), a, b);
  return p.alpha * a;
}

void main() {
  uint i = flat_invocation();
  uint whole = p.n / 4u;
  if (i < whole) z4[i] = op(LOAD4(x4, i), OP == 3u ? vec4(0.0) : LOAD4(y4, i));
  uint tail = whole * 4u + i;
  if (i < p.n % 4u)
    z[tail] = op(vec4(LOAD4_ONE(x4, tail)), vec4(OP == 3u ? 0.0 : LOAD4_ONE(y4, tail))).x;
}
