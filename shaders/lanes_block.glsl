// The register block of the lanes kernels (gemm_lanes.glsl, conv2d_lanes.glsl,
// conv2d_lanes_filter.glsl), written out statement by statement.
//
// Each lane of a subgroup accumulates a TM_ x TN_ block: rows row0 + i, which every lane
// shares (their values come from one lane's load, by subgroupShuffle), and TN_ columns of its
// own. Why written out and not as loops: NIR unrolls loops only up to a small size, and a loop
// left rolled indexes the accumulators dynamically, which lavapipe does with gathers and
// scatters through memory; each accumulator as its own float (c<i>_<j>) compiles in about a
// second where one large array takes tens of seconds. The including shader #defines TM_ (a
// multiple of 8, <= 128) and TN_ (4, 8, 12 or 16) before including this file, so that the
// preprocessor, not the driver, drops the statements past them: dead code behind
// specialization constants would still go through the driver's compiler.
//
// The including shader provides, before it uses the macros below:
//   LANE_A(i, kk)               the shared operand A[row0 + i, depth + kk], for every lane
//   float bb[4][TN_]            this lane's operand B[depth + kk, column j], in scope
//   LANE_STORE4(i, j0, .., j3)  stores c<i>_<j0> .. c<i>_<j3> of row `row` (in scope)
//   LANE_ROWS                   the number of rows that exist (rows past it are not stored)
// and uses:
//   LANES_DECLARE     declares every accumulator, zero
//   LANES_ACCUMULATE  c<i>_<j> += A[i, depth .. depth+3] . B[depth .. depth+3, j], all i, j
//   LANES_ACCUMULATE3 the same over depth .. depth+2 (A's fourth column is padding)
//   LANES_STORE       LANE_STORE4 over every existing row, four columns at a time

// M(0) .. M(n - 1), for n a multiple of 8
#define LB_ROWS_8(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)
#define LB_ROWS_16(M) LB_ROWS_8(M) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define LB_ROWS_24(M) LB_ROWS_16(M) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23)
#define LB_ROWS_32(M) LB_ROWS_24(M) M(24) M(25) M(26) M(27) M(28) M(29) M(30) M(31)
#define LB_ROWS_40(M) LB_ROWS_32(M) M(32) M(33) M(34) M(35) M(36) M(37) M(38) M(39)
#define LB_ROWS_48(M) LB_ROWS_40(M) M(40) M(41) M(42) M(43) M(44) M(45) M(46) M(47)
#define LB_ROWS_56(M) LB_ROWS_48(M) M(48) M(49) M(50) M(51) M(52) M(53) M(54) M(55)
#define LB_ROWS_64(M) LB_ROWS_56(M) M(56) M(57) M(58) M(59) M(60) M(61) M(62) M(63)
#define LB_ROWS_72(M) LB_ROWS_64(M) M(64) M(65) M(66) M(67) M(68) M(69) M(70) M(71)
#define LB_ROWS_80(M) LB_ROWS_72(M) M(72) M(73) M(74) M(75) M(76) M(77) M(78) M(79)
#define LB_ROWS_88(M) LB_ROWS_80(M) M(80) M(81) M(82) M(83) M(84) M(85) M(86) M(87)
#define LB_ROWS_96(M) LB_ROWS_88(M) M(88) M(89) M(90) M(91) M(92) M(93) M(94) M(95)
#define LB_ROWS_104(M) LB_ROWS_96(M) M(96) M(97) M(98) M(99) M(100) M(101) M(102) M(103)
#define LB_ROWS_112(M) LB_ROWS_104(M) M(104) M(105) M(106) M(107) M(108) M(109) M(110) M(111)
#define LB_ROWS_120(M) LB_ROWS_112(M) M(112) M(113) M(114) M(115) M(116) M(117) M(118) M(119)
#define LB_ROWS_128(M) LB_ROWS_120(M) M(120) M(121) M(122) M(123) M(124) M(125) M(126) M(127)
#define LB_ROWS_(n, M) LB_ROWS_##n(M)
#define LB_ROWS(n, M) LB_ROWS_(n, M) // expands n (TM_) first

// M(i, j0, j1, j2, j3) for the quads of columns 0 .. n - 1
#define LB_QUADS_4(M, i) M(i, 0, 1, 2, 3)
#define LB_QUADS_8(M, i) LB_QUADS_4(M, i) M(i, 4, 5, 6, 7)
#define LB_QUADS_12(M, i) LB_QUADS_8(M, i) M(i, 8, 9, 10, 11)
#define LB_QUADS_16(M, i) LB_QUADS_12(M, i) M(i, 12, 13, 14, 15)
#define LB_QUADS_(n, M, i) LB_QUADS_##n(M, i)
#define LB_QUADS(n, M, i) LB_QUADS_(n, M, i)

#define LB_DECLARE4(i, j0, j1, j2, j3) \
  float c##i##_##j0 = 0.0, c##i##_##j1 = 0.0, c##i##_##j2 = 0.0, c##i##_##j3 = 0.0;
#define LB_DECLARE_ROW(i) LB_QUADS(TN_, LB_DECLARE4, i)
#define LANES_DECLARE LB_ROWS(TM_, LB_DECLARE_ROW)

// c<i>_<j> += x0 * bb[0][j] + .. + x3 * bb[3][j], as four FMAs
#define LB_FMA4(i, j) \
  c##i##_##j = fma(x3, bb[3][j], fma(x2, bb[2][j], fma(x1, bb[1][j], fma(x0, bb[0][j], c##i##_##j))));
#define LB_ACC4(i, j0, j1, j2, j3) LB_FMA4(i, j0) LB_FMA4(i, j1) LB_FMA4(i, j2) LB_FMA4(i, j3)
#define LB_ACC_ROW(i)                                                                   \
  {                                                                                     \
    float x0 = LANE_A(i, 0), x1 = LANE_A(i, 1), x2 = LANE_A(i, 2), x3 = LANE_A(i, 3);  \
    LB_QUADS(TN_, LB_ACC4, i)                                                           \
  }
#define LANES_ACCUMULATE LB_ROWS(TM_, LB_ACC_ROW)

#define LB_FMA3(i, j) c##i##_##j = fma(x2, bb[2][j], fma(x1, bb[1][j], fma(x0, bb[0][j], c##i##_##j)));
#define LB_ACC3(i, j0, j1, j2, j3) LB_FMA3(i, j0) LB_FMA3(i, j1) LB_FMA3(i, j2) LB_FMA3(i, j3)
#define LB_ACC3_ROW(i)                                                  \
  {                                                                     \
    float x0 = LANE_A(i, 0), x1 = LANE_A(i, 1), x2 = LANE_A(i, 2);     \
    LB_QUADS(TN_, LB_ACC3, i)                                           \
  }
#define LANES_ACCUMULATE3 LB_ROWS(TM_, LB_ACC3_ROW)

#define LB_STORE_ROW(i)                \
  if (row0 + (i) < LANE_ROWS) {        \
    uint row = row0 + (i);             \
    LB_QUADS(TN_, LANE_STORE4, i)      \
  }
#define LANES_STORE LB_ROWS(TM_, LB_STORE_ROW)
