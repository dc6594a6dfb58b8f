// GEMM for CPU devices (lavapipe) when K and N are multiples of 4 and N of TN (and M of 4
// when op(A) is transposed).
//
// lavapipe runs a subgroup as the lanes of one SIMD register and turns every storage-buffer
// load into a loop over those lanes that moves each loaded float into its register through
// the stack (a store-forwarding stall per float and lane: about 17 cycles, against about one
// cycle per SIMD FMA). Loads are therefore nearly all of the cost, and this kernel is shaped
// to load as few floats per FMA as it can:
// (1) No float is loaded twice by a subgroup: op(A), whose rows every lane needs, is loaded
//     spread over the lanes (vec4s of 4 k or 4 rows) and handed to all lanes by
//     subgroupShuffle, which is a register permute on lavapipe and costs little.
// (2) The subgroup's block of C is large: TM rows by SG * TN columns (96 x 64 on AVX2 with
//     the default 96x8). Each step of 4 k loads 4 * (TM + SG * TN) floats and does
//     4 * TM * TN FMAs per lane; the accumulators live spilled on the stack, which costs less
//     than loads. Larger blocks run faster still (128x16: about twice 32x8) but LLVM takes
//     minutes to compile them, against about 11 s for 96x8.
// (3) The block is written out statement by statement (lanes_block.glsl), not as loops.
// Rows past M and lanes past N load clamped (valid) addresses and are not stored.
// A and B are vec4 texel buffers in the texel variants (texel.glsl), which lavapipe reads with
// vector gathers instead of a lane at a time; C stays a storage buffer (beta reads it).
#include "common.glsl"
#include "texel.glsl"
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

layout(constant_id = 1) const uint TRANS_A = 0;
layout(constant_id = 2) const uint TRANS_B = 0;
layout(constant_id = 3) const uint SG = 8; // the subgroup size (fixed on CPU devices), >= 4
// TM_ and TN_ are #defined by the including shader (gemm_lanes_<TM>x<TN>.comp).
const uint TM = TM_; // multiple of SG (of 4 * SG when TRANS_A), <= 128
const uint TN = TN_; // multiple of 4, <= 16

INPUT4(0, a);
INPUT4(1, b);
layout(set = 0, binding = 2) buffer C { vec4 c[]; };
layout(push_constant) uniform Push {
  uint M, N, K;
  uint lda, ldb, ldc; // in floats, multiples of 4
  float alpha, beta;
} p;

#include "lanes_block.glsl"
// op(A)[row0 + i, k + kk] for all lanes, from the lane that loaded it:
//   not transposed: vec4 mine[q] of lane l holds row q * SG + l at k .. k + 3
//   transposed:     vec4 mine_t[kk][q] of lane l holds rows 4 * (q * SG + l) .. + 3 at k + kk
#define LANE_A(i, kk)                                                                      \
  subgroupShuffle(TRANS_A == 0u ? mine[(i) / SG][kk] : mine_t[kk][(i) / (4u * SG)][(i) % 4u], \
                  TRANS_A == 0u ? (i) % SG : ((i) / 4u) % SG)
// C[row, col0 + j0 .. j3] = alpha * c<i>_<j0 .. j3> + beta * C
#define LANE_STORE4(i, j0, j1, j2, j3)                                                     \
  {                                                                                        \
    uint idx = (row * p.ldc + col0 + j0) / 4u;                                             \
    vec4 r = p.alpha * vec4(c##i##_##j0, c##i##_##j1, c##i##_##j2, c##i##_##j3);           \
    c[idx] = p.beta == 0.0 ? r : r + p.beta * c[idx];                                      \
  }
#define LANE_ROWS p.M

void main() {
  uint lane = gl_SubgroupInvocationID;
  // The workgroup is one subgroup (constant 0 = SG).
  uint row0 = gl_WorkGroupID.y * TM;
  uint col0 = (folded_workgroup_x() * SG + lane) * TN;
  // Lanes past the last column keep loading (clamped) so the shuffles see every lane.
  uint col_load = min(col0, p.N - TN);
  uint lda4 = p.lda / 4u, ldb4 = p.ldb / 4u;

  LANES_DECLARE
  for (uint k = 0u; k < p.K; k += 4u) {
    // This lane's share of op(A)[row0 .. +TM, k .. k+4].
    vec4 mine[TM_ / 4];     // TM / SG, SG >= 4
    vec4 mine_t[4][TM_ / 16]; // [kk][TM / (4 * SG)]
    if (TRANS_A == 0u) {
      for (uint q = 0u; q < TM / SG; q++)
        mine[q] = LOAD4(a, min(row0 + q * SG + lane, p.M - 1u) * lda4 + k / 4u);
    } else {
      for (uint kk = 0u; kk < 4u; kk++)
        for (uint q = 0u; q < TM / (4u * SG); q++)
          mine_t[kk][q] = LOAD4(a, (k + kk) * lda4 + min(row0 + 4u * (q * SG + lane), p.M - 4u) / 4u);
    }
    // op(B)[k + kk, col0 + j]
    float bb[4][TN_];
    if (TRANS_B == 0u) {
      for (uint kk = 0u; kk < 4u; kk++)
        for (uint j = 0u; j < TN; j += 4u) {
          vec4 v = LOAD4(b, (k + kk) * ldb4 + (col_load + j) / 4u);
          bb[kk][j] = v.x, bb[kk][j + 1u] = v.y, bb[kk][j + 2u] = v.z, bb[kk][j + 3u] = v.w;
        }
    } else {
      for (uint j = 0u; j < TN; j++) {
        vec4 v = LOAD4(b, (col_load + j) * ldb4 + k / 4u);
        bb[0][j] = v.x, bb[1][j] = v.y, bb[2][j] = v.z, bb[3][j] = v.w;
      }
    }
    LANES_ACCUMULATE
  }

  if (col0 >= p.N) return;
  LANES_STORE
}
