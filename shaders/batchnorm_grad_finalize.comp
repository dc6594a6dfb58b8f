#version 450
// Batch-norm backward, second pass: one invocation per channel adds its chunks' partial sums in
// chunk order: dbeta = sum dy, dgamma = sum dy * xhat.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer Partial { vec2 partial[]; };
layout(set = 0, binding = 1) writeonly buffer Dgamma { float dgamma[]; };
layout(set = 0, binding = 2) writeonly buffer Dbeta { float dbeta[]; };
layout(push_constant) uniform Push { uint C, chunks; } p;

void main() {
  uint c = flat_invocation();
  if (c >= p.C) return;
  vec2 s = vec2(0.0);
  for (uint k = 0u; k < p.chunks; k++) s += partial[c * p.chunks + k];
  dbeta[c] = s.x;
  dgamma[c] = s.y;
}
