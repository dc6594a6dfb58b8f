#version 450
// One step of an adversarial attack per element (runtime/ops/attack.h):
//   v = x[i] + step * sign(grad[i])                    (sign(0) = sign(NaN) = 0, as in PyTorch)
//   PGD: v = clamp(v, x_orig[i] - eps, x_orig[i] + eps)   (FGSM: x_orig is bound but unread)
//   out[i] = clamp(v, lo, hi)
// A NaN in x, x_orig or v stays NaN, as PyTorch's clamp and min/max keep it.
// GLSL leaves sign() and clamp() of NaN undefined, so both go through the bits (is_nan).
// `out` may be the same buffer as x: each invocation reads its element before writing it.
#include "common.glsl"

layout(constant_id = 1) const bool PGD = false;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Grad { float grad[]; };
layout(set = 0, binding = 2) readonly buffer XOrig { float x_orig[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float out_[]; };
layout(push_constant) uniform Push { uint n; float step; float eps; float lo; float hi; } p;

float sign_or_zero(float g) {
  uint bits = floatBitsToUint(g), magnitude = bits & 0x7fffffffu;
  if (magnitude == 0u || magnitude > 0x7f800000u) return 0.0; // ±0 and NaN
  return (bits >> 31) != 0u ? -1.0 : 1.0;
}

float clamp_keep_nan(float v, float lo, float hi) { return is_nan(v) ? v : clamp(v, lo, hi); }

void main() {
  uint i = flat_invocation();
  if (i >= p.n) return;
  float v = x[i] + p.step * sign_or_zero(grad[i]);
  if (PGD) {
    float o = x_orig[i];
    v = is_nan(o) ? o : clamp_keep_nan(v, o - p.eps, o + p.eps);
  }
  out_[i] = clamp_keep_nan(v, p.lo, p.hi);
}
