#version 450
// out[r] = sum of x[r*cols + c] for c < cols (and r*cols + c < n): one workgroup per row.
//
// Deterministic by construction: each invocation adds a fixed strided subset in order, then a
// fixed binary tree combines the partial sums, so the same input always gives the same bits
// on the same device (no float atomics). The workgroup size must be a power of two.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Push { uint rows; uint cols; uint n; } p;

shared float partial[gl_WorkGroupSize.x];

void main() {
  uint row = flat_workgroup();
  if (row >= p.rows) return; // uniform across the workgroup: barriers below stay legal
  uint lid = gl_LocalInvocationID.x;
  uint begin = row * p.cols;
  uint end = min(begin + p.cols, p.n);
  float s = 0.0;
  for (uint i = begin + lid; i < end; i += gl_WorkGroupSize.x) s += x[i];
  partial[lid] = s;
  barrier();
  for (uint half_size = gl_WorkGroupSize.x / 2u; half_size > 0u; half_size /= 2u) {
    if (lid < half_size) partial[lid] += partial[lid + half_size];
    barrier();
  }
  if (lid == 0u) result[row] = partial[0];
}
