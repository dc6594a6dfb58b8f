#version 450
// One step of an adversarial attack per element (runtime/ops/attack.h):
//   v = x[i] + step * sign(grad[i])                    (sign(0) = 0)
//   PGD: v = clamp(v, x_orig[i] - eps, x_orig[i] + eps)   (FGSM: x_orig is bound but unread)
//   out[i] = clamp(v, lo, hi)
// `out` may be the same buffer as x: each invocation reads its element before writing it.
#include "common.glsl"

layout(constant_id = 1) const bool PGD = false;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Grad { float grad[]; };
layout(set = 0, binding = 2) readonly buffer XOrig { float x_orig[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float out_[]; };
layout(push_constant) uniform Push { uint n; float step; float eps; float lo; float hi; } p;

void main() {
  uint i = flat_invocation();
  if (i >= p.n) return;
  float v = x[i] + p.step * sign(grad[i]);
  if (PGD) v = clamp(v, x_orig[i] - p.eps, x_orig[i] + p.eps);
  out_[i] = clamp(v, p.lo, p.hi);
}
