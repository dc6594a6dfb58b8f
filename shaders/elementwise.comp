#version 450
// z = op(x, y) elementwise, the op chosen by specialization constant 1:
//   0 add:   z = x + y        1 mul:   z = x * y
//   2 axpy:  z = alpha*x + y  3 scale: z = alpha*x   (y is bound but unread)
#include "common.glsl"

layout(constant_id = 1) const uint OP = 0;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Y { float y[]; };
layout(set = 0, binding = 2) writeonly buffer Z { float z[]; };
layout(push_constant) uniform Push { uint n; float alpha; } p;

void main() {
  uint i = flat_invocation();
  if (i >= p.n) return;
  float r;
  if (OP == 0u) r = x[i] + y[i];
  else if (OP == 1u) r = x[i] * y[i];
  else if (OP == 2u) r = fma(p.alpha, x[i], y[i]);
  else r = p.alpha * x[i];
  z[i] = r;
}
