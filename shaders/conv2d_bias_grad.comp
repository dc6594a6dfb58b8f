#version 450
// dbias[k] = sum over n, p, q of dy[n, k, p, q]: one workgroup per k.
//
// Deterministic: each invocation adds a fixed strided subset in order, then a fixed binary
// tree combines the partial sums. The workgroup size must be a power of two.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer Dy { float dy[]; };
layout(set = 0, binding = 1) writeonly buffer Db { float dbias[]; };
layout(push_constant) uniform Push { uint N, K, PQ; } p;

shared float partial[gl_WorkGroupSize.x];

void main() {
  uint k = flat_workgroup();
  if (k >= p.K) return; // uniform across the workgroup
  uint lid = gl_LocalInvocationID.x;
  float s = 0.0;
  for (uint n = 0u; n < p.N; n++) {
    uint base = (n * p.K + k) * p.PQ;
    for (uint i = lid; i < p.PQ; i += gl_WorkGroupSize.x) s += dy[base + i];
  }
  partial[lid] = s;
  barrier();
  for (uint half_size = gl_WorkGroupSize.x / 2u; half_size > 0u; half_size /= 2u) {
    if (lid < half_size) partial[lid] += partial[lid + half_size];
    barrier();
  }
  if (lid == 0u) dbias[k] = partial[0];
}
