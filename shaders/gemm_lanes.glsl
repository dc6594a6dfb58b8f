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
// (3) The block is written out statement by statement (macros below), not as loops: NIR
//     unrolls loops only up to a small size, and a loop left rolled would index the
//     accumulators dynamically, which lavapipe does with gathers and scatters through memory.
//     Each accumulator is its own float: thousands of scalars compile in about a second,
//     one large array in tens of seconds.
// Rows past M and lanes past N load clamped (valid) addresses and are not stored.
#include "common.glsl"
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

layout(constant_id = 1) const uint TRANS_A = 0;
layout(constant_id = 2) const uint TRANS_B = 0;
layout(constant_id = 3) const uint SG = 8; // the subgroup size (fixed on CPU devices), >= 4
// TM_ and TN_ are #defined by the including shader (gemm_lanes_<TM>x<TN>.comp), so that the
// preprocessor, not the driver, drops the statements for rows and columns past them: dead
// code behind specialization constants would still go through the driver's compiler, which
// takes seconds over the largest block.
const uint TM = TM_; // multiple of SG (of 4 * SG when TRANS_A), <= 128
const uint TN = TN_; // multiple of 4, <= 16

layout(set = 0, binding = 0) readonly buffer A { vec4 a[]; };
layout(set = 0, binding = 1) readonly buffer B { vec4 b[]; };
layout(set = 0, binding = 2) buffer C { vec4 c[]; };
layout(push_constant) uniform Push {
  uint M, N, K;
  uint lda, ldb, ldc; // in floats, multiples of 4
  float alpha, beta;
} p;

// op(A)[row0 + i, k + kk] for all lanes, from the lane that loaded it:
//   not transposed: vec4 mine[q] of lane l holds row q * SG + l at k .. k + 3
//   transposed:     vec4 mine_t[kk][q] of lane l holds rows 4 * (q * SG + l) .. + 3 at k + kk
#define AV(i, kk)                                                                          \
  subgroupShuffle(TRANS_A == 0u ? mine[(i) / SG][kk] : mine_t[kk][(i) / (4u * SG)][(i) % 4u], \
                  TRANS_A == 0u ? (i) % SG : ((i) / 4u) % SG)
// c<i>_<j> (C[row0 + i, col0 + j]) += op(A)[i, k .. k+3] . op(B)[k .. k+3, j], four FMAs
#define ACC(i, j) c##i##_##j = fma(x3, bb[3][j], fma(x2, bb[2][j], fma(x1, bb[1][j], fma(x0, bb[0][j], c##i##_##j))));
#define ACC4A(i) ACC(i, 0) ACC(i, 1) ACC(i, 2) ACC(i, 3)
#define ACC4B(i) ACC(i, 4) ACC(i, 5) ACC(i, 6) ACC(i, 7)
#define ACC4C(i) ACC(i, 8) ACC(i, 9) ACC(i, 10) ACC(i, 11)
#define ACC4D(i) ACC(i, 12) ACC(i, 13) ACC(i, 14) ACC(i, 15)
#define DECL4A(i) float c##i##_0 = 0.0, c##i##_1 = 0.0, c##i##_2 = 0.0, c##i##_3 = 0.0;
#define DECL4B(i) float c##i##_4 = 0.0, c##i##_5 = 0.0, c##i##_6 = 0.0, c##i##_7 = 0.0;
#define DECL4C(i) float c##i##_8 = 0.0, c##i##_9 = 0.0, c##i##_10 = 0.0, c##i##_11 = 0.0;
#define DECL4D(i) float c##i##_12 = 0.0, c##i##_13 = 0.0, c##i##_14 = 0.0, c##i##_15 = 0.0;
#if TN_ == 4
#define ACCS(i) ACC4A(i)
#define DECL(i) DECL4A(i)
#elif TN_ == 8
#define ACCS(i) ACC4A(i) ACC4B(i)
#define DECL(i) DECL4A(i) DECL4B(i)
#elif TN_ == 12
#define ACCS(i) ACC4A(i) ACC4B(i) ACC4C(i)
#define DECL(i) DECL4A(i) DECL4B(i) DECL4C(i)
#else
#define ACCS(i) ACC4A(i) ACC4B(i) ACC4C(i) ACC4D(i)
#define DECL(i) DECL4A(i) DECL4B(i) DECL4C(i) DECL4D(i)
#endif
#define ROW(i)                                                                             \
  {                                                                                        \
    float x0 = AV(i, 0), x1 = AV(i, 1), x2 = AV(i, 2), x3 = AV(i, 3);                     \
    ACCS(i)                                                                                \
  }

// C[row0 + i, col0 .. col0 + TN) = alpha * c<i>_* + beta * C
#define STORE4(i, j, j1, j2, j3)                                                           \
  {                                                                                        \
    uint idx = (row * p.ldc + col0 + j) / 4u;                                              \
    vec4 r = p.alpha * vec4(c##i##_##j, c##i##_##j1, c##i##_##j2, c##i##_##j3);             \
    c[idx] = p.beta == 0.0 ? r : r + p.beta * c[idx];                                      \
  }
#define STORE4A(i) STORE4(i, 0, 1, 2, 3)
#define STORE4B(i) STORE4(i, 4, 5, 6, 7)
#define STORE4C(i) STORE4(i, 8, 9, 10, 11)
#define STORE4D(i) STORE4(i, 12, 13, 14, 15)
#if TN_ == 4
#define STORES(i) STORE4A(i)
#elif TN_ == 8
#define STORES(i) STORE4A(i) STORE4B(i)
#elif TN_ == 12
#define STORES(i) STORE4A(i) STORE4B(i) STORE4C(i)
#else
#define STORES(i) STORE4A(i) STORE4B(i) STORE4C(i) STORE4D(i)
#endif
#define STORE_ROW(i)                                                                       \
  if (row0 + (i) < p.M) {                                                                  \
    uint row = row0 + (i);                                                                 \
    STORES(i)                                                                              \
  }


void main() {
  uint lane = gl_SubgroupInvocationID;
  // The workgroup is one subgroup (constant 0 = SG).
  uint row0 = gl_WorkGroupID.y * TM;
  uint col0 = (gl_WorkGroupID.x * SG + lane) * TN;
  // Lanes past the last column keep loading (clamped) so the shuffles see every lane.
  uint col_load = min(col0, p.N - TN);
  uint lda4 = p.lda / 4u, ldb4 = p.ldb / 4u;

#if TM_ > 0
  DECL(0) DECL(1) DECL(2) DECL(3) DECL(4) DECL(5) DECL(6) DECL(7)
#endif
#if TM_ > 8
  DECL(8) DECL(9) DECL(10) DECL(11) DECL(12) DECL(13) DECL(14) DECL(15)
#endif
#if TM_ > 16
  DECL(16) DECL(17) DECL(18) DECL(19) DECL(20) DECL(21) DECL(22) DECL(23)
#endif
#if TM_ > 24
  DECL(24) DECL(25) DECL(26) DECL(27) DECL(28) DECL(29) DECL(30) DECL(31)
#endif
#if TM_ > 32
  DECL(32) DECL(33) DECL(34) DECL(35) DECL(36) DECL(37) DECL(38) DECL(39)
#endif
#if TM_ > 40
  DECL(40) DECL(41) DECL(42) DECL(43) DECL(44) DECL(45) DECL(46) DECL(47)
#endif
#if TM_ > 48
  DECL(48) DECL(49) DECL(50) DECL(51) DECL(52) DECL(53) DECL(54) DECL(55)
#endif
#if TM_ > 56
  DECL(56) DECL(57) DECL(58) DECL(59) DECL(60) DECL(61) DECL(62) DECL(63)
#endif
#if TM_ > 64
  DECL(64) DECL(65) DECL(66) DECL(67) DECL(68) DECL(69) DECL(70) DECL(71)
#endif
#if TM_ > 72
  DECL(72) DECL(73) DECL(74) DECL(75) DECL(76) DECL(77) DECL(78) DECL(79)
#endif
#if TM_ > 80
  DECL(80) DECL(81) DECL(82) DECL(83) DECL(84) DECL(85) DECL(86) DECL(87)
#endif
#if TM_ > 88
  DECL(88) DECL(89) DECL(90) DECL(91) DECL(92) DECL(93) DECL(94) DECL(95)
#endif
#if TM_ > 96
  DECL(96) DECL(97) DECL(98) DECL(99) DECL(100) DECL(101) DECL(102) DECL(103)
#endif
#if TM_ > 104
  DECL(104) DECL(105) DECL(106) DECL(107) DECL(108) DECL(109) DECL(110) DECL(111)
#endif
#if TM_ > 112
  DECL(112) DECL(113) DECL(114) DECL(115) DECL(116) DECL(117) DECL(118) DECL(119)
#endif
#if TM_ > 120
  DECL(120) DECL(121) DECL(122) DECL(123) DECL(124) DECL(125) DECL(126) DECL(127)
#endif

  for (uint k = 0u; k < p.K; k += 4u) {
    // This lane's share of op(A)[row0 .. +TM, k .. k+4].
    vec4 mine[TM_ / 4];     // TM / SG, SG >= 4
    vec4 mine_t[4][TM_ / 16]; // [kk][TM / (4 * SG)]
    if (TRANS_A == 0u) {
      for (uint q = 0u; q < TM / SG; q++)
        mine[q] = a[min(row0 + q * SG + lane, p.M - 1u) * lda4 + k / 4u];
    } else {
      for (uint kk = 0u; kk < 4u; kk++)
        for (uint q = 0u; q < TM / (4u * SG); q++)
          mine_t[kk][q] = a[(k + kk) * lda4 + min(row0 + 4u * (q * SG + lane), p.M - 4u) / 4u];
    }
    // op(B)[k + kk, col0 + j]
    float bb[4][TN_];
    if (TRANS_B == 0u) {
      for (uint kk = 0u; kk < 4u; kk++)
        for (uint j = 0u; j < TN; j += 4u) {
          vec4 v = b[(k + kk) * ldb4 + (col_load + j) / 4u];
          bb[kk][j] = v.x, bb[kk][j + 1u] = v.y, bb[kk][j + 2u] = v.z, bb[kk][j + 3u] = v.w;
        }
    } else {
      for (uint j = 0u; j < TN; j++) {
        vec4 v = b[(col_load + j) * ldb4 + k / 4u];
        bb[0][j] = v.x, bb[1][j] = v.y, bb[2][j] = v.z, bb[3][j] = v.w;
      }
    }
#if TM_ > 0
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
#endif
#if TM_ > 8
    ROW(8) ROW(9) ROW(10) ROW(11) ROW(12) ROW(13) ROW(14) ROW(15)
#endif
#if TM_ > 16
    ROW(16) ROW(17) ROW(18) ROW(19) ROW(20) ROW(21) ROW(22) ROW(23)
#endif
#if TM_ > 24
    ROW(24) ROW(25) ROW(26) ROW(27) ROW(28) ROW(29) ROW(30) ROW(31)
#endif
#if TM_ > 32
    ROW(32) ROW(33) ROW(34) ROW(35) ROW(36) ROW(37) ROW(38) ROW(39)
#endif
#if TM_ > 40
    ROW(40) ROW(41) ROW(42) ROW(43) ROW(44) ROW(45) ROW(46) ROW(47)
#endif
#if TM_ > 48
    ROW(48) ROW(49) ROW(50) ROW(51) ROW(52) ROW(53) ROW(54) ROW(55)
#endif
#if TM_ > 56
    ROW(56) ROW(57) ROW(58) ROW(59) ROW(60) ROW(61) ROW(62) ROW(63)
#endif
#if TM_ > 64
    ROW(64) ROW(65) ROW(66) ROW(67) ROW(68) ROW(69) ROW(70) ROW(71)
#endif
#if TM_ > 72
    ROW(72) ROW(73) ROW(74) ROW(75) ROW(76) ROW(77) ROW(78) ROW(79)
#endif
#if TM_ > 80
    ROW(80) ROW(81) ROW(82) ROW(83) ROW(84) ROW(85) ROW(86) ROW(87)
#endif
#if TM_ > 88
    ROW(88) ROW(89) ROW(90) ROW(91) ROW(92) ROW(93) ROW(94) ROW(95)
#endif
#if TM_ > 96
    ROW(96) ROW(97) ROW(98) ROW(99) ROW(100) ROW(101) ROW(102) ROW(103)
#endif
#if TM_ > 104
    ROW(104) ROW(105) ROW(106) ROW(107) ROW(108) ROW(109) ROW(110) ROW(111)
#endif
#if TM_ > 112
    ROW(112) ROW(113) ROW(114) ROW(115) ROW(116) ROW(117) ROW(118) ROW(119)
#endif
#if TM_ > 120
    ROW(120) ROW(121) ROW(122) ROW(123) ROW(124) ROW(125) ROW(126) ROW(127)
#endif
  }

  if (col0 >= p.N) return;
#if TM_ > 0
  STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5) STORE_ROW(6) STORE_ROW(7)
#endif
#if TM_ > 8
  STORE_ROW(8) STORE_ROW(9) STORE_ROW(10) STORE_ROW(11) STORE_ROW(12) STORE_ROW(13) STORE_ROW(14) STORE_ROW(15)
#endif
#if TM_ > 16
  STORE_ROW(16) STORE_ROW(17) STORE_ROW(18) STORE_ROW(19) STORE_ROW(20) STORE_ROW(21) STORE_ROW(22) STORE_ROW(23)
#endif
#if TM_ > 24
  STORE_ROW(24) STORE_ROW(25) STORE_ROW(26) STORE_ROW(27) STORE_ROW(28) STORE_ROW(29) STORE_ROW(30) STORE_ROW(31)
#endif
#if TM_ > 32
  STORE_ROW(32) STORE_ROW(33) STORE_ROW(34) STORE_ROW(35) STORE_ROW(36) STORE_ROW(37) STORE_ROW(38) STORE_ROW(39)
#endif
#if TM_ > 40
  STORE_ROW(40) STORE_ROW(41) STORE_ROW(42) STORE_ROW(43) STORE_ROW(44) STORE_ROW(45) STORE_ROW(46) STORE_ROW(47)
#endif
#if TM_ > 48
  STORE_ROW(48) STORE_ROW(49) STORE_ROW(50) STORE_ROW(51) STORE_ROW(52) STORE_ROW(53) STORE_ROW(54) STORE_ROW(55)
#endif
#if TM_ > 56
  STORE_ROW(56) STORE_ROW(57) STORE_ROW(58) STORE_ROW(59) STORE_ROW(60) STORE_ROW(61) STORE_ROW(62) STORE_ROW(63)
#endif
#if TM_ > 64
  STORE_ROW(64) STORE_ROW(65) STORE_ROW(66) STORE_ROW(67) STORE_ROW(68) STORE_ROW(69) STORE_ROW(70) STORE_ROW(71)
#endif
#if TM_ > 72
  STORE_ROW(72) STORE_ROW(73) STORE_ROW(74) STORE_ROW(75) STORE_ROW(76) STORE_ROW(77) STORE_ROW(78) STORE_ROW(79)
#endif
#if TM_ > 80
  STORE_ROW(80) STORE_ROW(81) STORE_ROW(82) STORE_ROW(83) STORE_ROW(84) STORE_ROW(85) STORE_ROW(86) STORE_ROW(87)
#endif
#if TM_ > 88
  STORE_ROW(88) STORE_ROW(89) STORE_ROW(90) STORE_ROW(91) STORE_ROW(92) STORE_ROW(93) STORE_ROW(94) STORE_ROW(95)
#endif
#if TM_ > 96
  STORE_ROW(96) STORE_ROW(97) STORE_ROW(98) STORE_ROW(99) STORE_ROW(100) STORE_ROW(101) STORE_ROW(102) STORE_ROW(103)
#endif
#if TM_ > 104
  STORE_ROW(104) STORE_ROW(105) STORE_ROW(106) STORE_ROW(107) STORE_ROW(108) STORE_ROW(109) STORE_ROW(110) STORE_ROW(111)
#endif
#if TM_ > 112
  STORE_ROW(112) STORE_ROW(113) STORE_ROW(114) STORE_ROW(115) STORE_ROW(116) STORE_ROW(117) STORE_ROW(118) STORE_ROW(119)
#endif
#if TM_ > 120
  STORE_ROW(120) STORE_ROW(121) STORE_ROW(122) STORE_ROW(123) STORE_ROW(124) STORE_ROW(125) STORE_ROW(126) STORE_ROW(127)
#endif
}
