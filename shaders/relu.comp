#version 450
// ReLU, one invocation per element; specialization constant 1 picks the direction:
//   0 forward:  out = a < 0 ? 0 : a               (a = x; b is x again, unread)
//   1 backward: out = a > 0 ? b : 0               (a = y, the forward output; b = dy)
// The forward keeps NaN, as PyTorch's relu does. The NaN test is on the bits: drivers may
// compile `a < 0 ? 0 : a` to max(a, 0), which gives 0 for NaN (NVIDIA's does).
#include "common.glsl"

layout(constant_id = 1) const uint BACKWARD = 0;

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push { uint n; } p;

void main() {
  uint i = flat_invocation();
  if (i >= p.n) return;
  float v = a[i];
  bool nan = (floatBitsToUint(v) & 0x7fffffffu) > 0x7f800000u;
  if (BACKWARD == 0u) result[i] = (v > 0.0 || nan) ? v : 0.0;
  else result[i] = v > 0.0 ? b[i] : 0.0;
}
