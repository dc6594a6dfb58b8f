#version 450
// The device's own fp32 FMA peak, measured as vkpeak does: every invocation runs long
// chains of dependent FMAs, eight independent vec4 chains so that the ALUs' latency is
// hidden, and writes one value so the compiler cannot drop the work.
// FLOPs per invocation = LOOPS * 8 chains * 4 lanes * 2 (multiply and add) * 4 (unrolled).
#include "common.glsl"

layout(set = 0, binding = 0) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push { uint loops; float seed; } p;

void main() {
  vec4 a = vec4(p.seed) + vec4(gl_LocalInvocationID.x, 1, 2, 3) * 1e-7;
  vec4 c0 = a, c1 = a + 0.1, c2 = a + 0.2, c3 = a + 0.3;
  vec4 c4 = a + 0.4, c5 = a + 0.5, c6 = a + 0.6, c7 = a + 0.7;
  vec4 m = vec4(0.999999), k = vec4(1e-7);
  for (uint i = 0u; i < p.loops; i++) {
    for (int u = 0; u < 4; u++) {
      c0 = fma(c0, m, k); c1 = fma(c1, m, k); c2 = fma(c2, m, k); c3 = fma(c3, m, k);
      c4 = fma(c4, m, k); c5 = fma(c5, m, k); c6 = fma(c6, m, k); c7 = fma(c7, m, k);
    }
  }
  vec4 s = (c0 + c1) + (c2 + c3) + (c4 + c5) + (c6 + c7);
  result[flat_invocation()] = s.x + s.y + s.z + s.w;
}
