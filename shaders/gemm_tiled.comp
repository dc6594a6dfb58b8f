#version 450
// GEMM for GPUs: a workgroup computes a BM x BN tile of C, staging BK-deep slices of op(A)
// and op(B) in shared memory; each invocation accumulates a TM x TN block in registers.
// The workgroup size (constant 0) must equal (BM / TM) * (BN / TN).
#include "common.glsl"
#include "gemm_common.glsl"

layout(constant_id = 3) const uint TM = 4;
layout(constant_id = 4) const uint TN = 4;
layout(constant_id = 5) const uint BM = 64;
layout(constant_id = 6) const uint BN = 64;
layout(constant_id = 7) const uint BK = 16;

// k-major, so that the inner loop reads TM (TN) consecutive floats of one k.
shared float tile_a[BK * BM];
shared float tile_b[BK * BN];

void main() {
  uint lid = gl_LocalInvocationID.x;
  uint threads = gl_WorkGroupSize.x;
  uint tile_row = gl_WorkGroupID.y * BM;
  uint tile_col = folded_workgroup_x() * BN;
  uint ty = lid / (BN / TN); // which TM-row block of the tile
  uint tx = lid % (BN / TN);

  float acc[TM][TN];
  for (uint i = 0u; i < TM; i++)
    for (uint j = 0u; j < TN; j++) acc[i][j] = 0.0;

  for (uint k0 = 0u; k0 < p.K; k0 += BK) {
    // Stage the slices, zero-padded past the edges of the matrices. Consecutive invocations
    // take consecutive elements along the stored matrix's rows, so global reads coalesce.
    for (uint e = lid; e < BM * BK; e += threads) {
      uint r, k;
      if (TRANS_A == 0u) { r = e / BK; k = e % BK; } else { k = e / BM; r = e % BM; }
      uint gr = tile_row + r, gk = k0 + k;
      tile_a[k * BM + r] = (gr < p.M && gk < p.K) ? load_a(gr, gk) : 0.0;
    }
    for (uint e = lid; e < BK * BN; e += threads) {
      uint k, col;
      if (TRANS_B == 0u) { k = e / BN; col = e % BN; } else { col = e / BK; k = e % BK; }
      uint gc = tile_col + col, gk = k0 + k;
      tile_b[k * BN + col] = (gc < p.N && gk < p.K) ? load_b(gk, gc) : 0.0;
    }
    barrier();
    for (uint k = 0u; k < BK; k++) {
      float av[TM];
      float bv[TN];
      for (uint i = 0u; i < TM; i++) av[i] = tile_a[k * BM + ty * TM + i];
      for (uint j = 0u; j < TN; j++) bv[j] = tile_b[k * BN + tx * TN + j];
      for (uint i = 0u; i < TM; i++)
        for (uint j = 0u; j < TN; j++) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    barrier();
  }

  for (uint i = 0u; i < TM; i++) {
    uint row = tile_row + ty * TM + i;
    for (uint j = 0u; j < TN; j++) {
      uint col = tile_col + tx * TN + j;
      if (row < p.M && col < p.N) store_c(row, col, acc[i][j]);
    }
  }
}
