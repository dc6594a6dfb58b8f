#version 450
// GEMM for CPU devices (lavapipe): register blocking, no shared memory, no barriers.
//
// On a CPU driver each invocation is one SIMD lane and shared memory and barriers are
// expensive, so every invocation keeps a TM x TN block of C in registers and reads A and B
// straight from memory (the CPU's caches do what shared memory does on a GPU). The TM rows
// of a block depend only on the workgroup, so loads of op(A) are the same in every lane and
// the driver can issue them once; the TN columns of an invocation are strided by the
// workgroup width, so neighbouring lanes read neighbouring elements of op(B).
// Out-of-range rows and columns are clamped for loading (no branch in the inner loop) and
// skipped when storing.
#include "common.glsl"
#include "gemm_common.glsl"

layout(constant_id = 3) const uint TM = 8; // rows of C per invocation
layout(constant_id = 4) const uint TN = 2; // columns of C per invocation

void main() {
  uint row0 = gl_WorkGroupID.y * TM;
  uint col0 = folded_workgroup_x() * gl_WorkGroupSize.x * TN + gl_LocalInvocationID.x;
  uint rows[TM];
  uint cols[TN];
  for (uint i = 0u; i < TM; i++) rows[i] = min(row0 + i, p.M - 1u);
  for (uint j = 0u; j < TN; j++) cols[j] = min(col0 + j * gl_WorkGroupSize.x, p.N - 1u);

  float acc[TM][TN];
  for (uint i = 0u; i < TM; i++)
    for (uint j = 0u; j < TN; j++) acc[i][j] = 0.0;

  for (uint k = 0u; k < p.K; k++) {
    float bk[TN];
    for (uint j = 0u; j < TN; j++) bk[j] = load_b(k, cols[j]);
    for (uint i = 0u; i < TM; i++) {
      float ai = load_a(rows[i], k);
      for (uint j = 0u; j < TN; j++) acc[i][j] = fma(ai, bk[j], acc[i][j]);
    }
  }

  for (uint i = 0u; i < TM; i++) {
    if (row0 + i >= p.M) break;
    for (uint j = 0u; j < TN; j++) {
      uint col = col0 + j * gl_WorkGroupSize.x;
      if (col < p.N) store_c(row0 + i, col, acc[i][j]);
    }
  }
}
