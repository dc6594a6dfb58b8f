#version 450
// GEMM for CPU devices (lavapipe) when K, N and the leading dimensions are multiples of 4.
//
// lavapipe runs a subgroup as the lanes of one SIMD register and turns every storage-buffer
// load into a loop over those lanes, so a load costs about the same for one float as for a
// vec4, and the same whether the lanes want the same address or not. This kernel therefore
// (1) reads only vec4s, and (2) shares the loads of op(A), whose rows all lanes of a
// subgroup need: each lane loads a different part of the TM x 4 block of op(A) and
// subgroupShuffle (a register permute on lavapipe) hands every lane the values it needs.
// Each lane then does 4 * TM * TN FMAs per 4 steps of k, from registers, for TM/SG + TN
// vec4 loads. The TM rows belong to the subgroup; each lane owns TN consecutive columns.
#include "common.glsl"
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

layout(constant_id = 1) const uint TRANS_A = 0;
layout(constant_id = 2) const uint TRANS_B = 0;
layout(constant_id = 3) const uint TM = 32; // multiple of 4 * SG
layout(constant_id = 4) const uint TN = 8;  // multiple of 4
layout(constant_id = 5) const uint SG = 8;  // the subgroup size (fixed on CPU devices)

layout(set = 0, binding = 0) readonly buffer A { vec4 a[]; };
layout(set = 0, binding = 1) readonly buffer B { vec4 b[]; };
layout(set = 0, binding = 2) buffer C { vec4 c[]; };
layout(push_constant) uniform Push {
  uint M, N, K;
  uint lda, ldb, ldc; // in floats, multiples of 4
  float alpha, beta;
} p;

const uint AV = TM / SG; // vec4s of op(A) each lane loads per 4 steps of k

void main() {
  uint lane = gl_SubgroupInvocationID;
  // The workgroup is one subgroup (constant 0 = SG).
  uint subgroup_row = gl_WorkGroupID.y * TM;
  uint col0 = (gl_WorkGroupID.x * SG + lane) * TN;
  // Lanes past the last column keep loading (clamped) so the shuffles see every lane.
  // N is a multiple of TN.
  uint col_load = min(col0, p.N - TN);
  uint lda4 = p.lda / 4u, ldb4 = p.ldb / 4u;

  float acc[TM][TN];
  for (uint i = 0u; i < TM; i++)
    for (uint j = 0u; j < TN; j++) acc[i][j] = 0.0;

  for (uint k = 0u; k < p.K; k += 4u) {
    // This lane's share of op(A)[subgroup_row .. +TM, k .. k+4].
    //   not transposed: vec4 q holds row (q * SG + lane), k .. k+3
    //   transposed:     vec4 [kk][q] holds rows 4 * (q * SG + lane) .. +3 at k + kk
    vec4 mine[4][AV];
    if (TRANS_A == 0u) {
      for (uint q = 0u; q < AV; q++)
        mine[0][q] = a[min(subgroup_row + q * SG + lane, p.M - 1u) * lda4 + k / 4u];
    } else {
      for (uint kk = 0u; kk < 4u; kk++)
        for (uint q = 0u; q < AV / 4u; q++)
          mine[kk][q] = a[(k + kk) * lda4 + min(subgroup_row + 4u * (q * SG + lane), p.M - 4u) / 4u];
    }
    float bb[4][TN]; // op(B)[k + kk, col0 + j]
    if (TRANS_B == 0u) {
      for (uint kk = 0u; kk < 4u; kk++)
        for (uint j = 0u; j < TN; j += 4u) {
          vec4 v = b[(k + kk) * ldb4 + (col_load + j) / 4u];
          bb[kk][j] = v.x; bb[kk][j + 1u] = v.y; bb[kk][j + 2u] = v.z; bb[kk][j + 3u] = v.w;
        }
    } else {
      for (uint j = 0u; j < TN; j++) {
        vec4 v = b[(col_load + j) * ldb4 + k / 4u];
        bb[0][j] = v.x; bb[1][j] = v.y; bb[2][j] = v.z; bb[3][j] = v.w;
      }
    }
    for (uint i = 0u; i < TM; i++) {
      for (uint kk = 0u; kk < 4u; kk++) {
        float ai;
        if (TRANS_A == 0u) ai = subgroupShuffle(mine[0][i / SG][kk], i % SG);
        else ai = subgroupShuffle(mine[kk][i / (4u * SG)][i % 4u], (i / 4u) % SG);
        for (uint j = 0u; j < TN; j++) acc[i][j] = fma(ai, bb[kk][j], acc[i][j]);
      }
    }
  }

  if (col0 >= p.N) return;
  for (uint i = 0u; i < TM; i++) {
    uint row = subgroup_row + i;
    if (row >= p.M) break;
    for (uint j = 0u; j < TN; j += 4u) {
      uint idx = (row * p.ldc + col0 + j) / 4u;
      vec4 r = p.alpha * vec4(acc[i][j], acc[i][j + 1u], acc[i][j + 2u], acc[i][j + 3u]);
      c[idx] = p.beta == 0.0 ? r : r + p.beta * c[idx];
    }
  }
}
