#version 450
// 2-D convolution as an implicit GEMM for GPUs: C[M, NC] = A[M, D] * B[D, NC], where the
// tile loads compute the im2col index on the fly, so no im2col matrix is ever written.
//
//   MODE 0, forward:          M = K, NC = N*P*Q, D = C*R*S;  A = w,  B = im2col(x),
//                             out y[n, k, p, q] (+ bias[k])
//   MODE 1, backward data:    M = C, NC = N*H*W, D = K*R*S;  A = w (as [C, K*R*S]),
//                             B[(k,r,s), (n,h,w)] = dy[n, k, p, q] where h = p*stride - pad + r
//                             and w likewise (zero where no such p, q: a gather, no atomics),
//                             out dx[n, c, h, w]
//   MODE 2, backward filter:  M = K, NC = C*R*S, D = N*P*Q;  A = dy (as [K, N*P*Q]),
//                             B = im2col(x) transposed, out dw[k, c, r, s]. D is large and
//                             M * NC small, so the depth is split over gl_WorkGroupID.z into
//                             `depth_per_split` slices, each writing its own partial [K, C*R*S]
//                             (summed in a fixed order by conv2d_sum_splits.comp).
//
// The core is the shared-memory tiled GEMM of gemm_tiled.comp: a workgroup computes a BM x BN
// tile of C, staging BK-deep slices of A and B in shared memory; each invocation accumulates
// a TM x TN block in registers. The workgroup size (constant 0) is (BM / TM) * (BN / TN).
#include "common.glsl"
#define GEOM_ID 5
#include "conv2d_geom.glsl"

layout(constant_id = 1) const uint MODE_BK = 0x1000u; // MODE | BK << 8
layout(constant_id = 2) const uint TM = 4;
layout(constant_id = 3) const uint TN = 4;
layout(constant_id = 4) const uint BMN = 0x00400040u; // BM | BN << 16
const uint MODE = MODE_BK & 0xffu;
const uint BK = MODE_BK >> 8;
const uint BM = BMN & 0xffffu;
const uint BN = BMN >> 16;

layout(set = 0, binding = 0) readonly buffer Src0 { float src0[]; }; // A: w, w, dy
layout(set = 0, binding = 1) readonly buffer Src1 { float src1[]; }; // B: x, dy, x
layout(set = 0, binding = 2) readonly buffer Bias { float bias[]; }; // MODE 0 with has_bias
layout(set = 0, binding = 3) writeonly buffer Dst { float dst[]; };  // y, dx, partial dw
layout(push_constant) uniform Push {
  uint C, K, has_bias;
  uint M, NC, D;          // the GEMM's sizes
  uint depth_per_split;   // MODE 2: a multiple of BK
} p;

// A[row, d]
float load_a(uint row, uint d) {
  if (MODE == 0u) return src0[row * p.C * RS + d];                   // w[k, (c,r,s)]
  if (MODE == 1u) return src0[((d / RS) * p.C + row) * RS + d % RS]; // w[k, c, r, s]
  return src0[((d / PQ) * p.K + row) * PQ + d % PQ];                 // dy[n, k, (p,q)]
}

// x[n, c, p*stride - pad + r, q*stride - pad + s], zero in the padding
float load_x(uint n, uint c, uint pq, uint rs) {
  int h = int((pq / Q) * STRIDE + rs / S) - int(PAD);
  int w = int((pq % Q) * STRIDE + rs % S) - int(PAD);
  if (h < 0 || w < 0 || h >= int(H) || w >= int(W)) return 0.0;
  return src1[((n * p.C + c) * H + uint(h)) * W + uint(w)];
}

// B[d, col]
float load_b(uint d, uint col) {
  if (MODE == 0u) return load_x(col / PQ, d / RS, col % PQ, d % RS);
  if (MODE == 2u) return load_x(d / PQ, col / RS, d % PQ, col % RS);
  // MODE 1: the output pixel (p, q) that input pixel (h, w) meets at kernel offset (r, s)
  uint rs = d % RS, n = col / HW, hw = col % HW;
  int ph = int(hw / W + PAD) - int(rs / S);
  int qw = int(hw % W + PAD) - int(rs % S);
  if (ph < 0 || qw < 0) return 0.0;
  uint pp = uint(ph), qq = uint(qw);
  if (pp % STRIDE != 0u || qq % STRIDE != 0u) return 0.0;
  pp /= STRIDE;
  qq /= STRIDE;
  if (pp >= P || qq >= Q) return 0.0;
  return src1[((n * p.K + d / RS) * P + pp) * Q + qq];
}

void store(uint row, uint col, float acc) {
  if (MODE == 0u) {
    if (p.has_bias != 0u) acc += bias[row];
    dst[((col / PQ) * p.K + row) * PQ + col % PQ] = acc;
  } else if (MODE == 1u) {
    dst[((col / HW) * p.C + row) * HW + col % HW] = acc;
  } else {
    dst[(gl_WorkGroupID.z * p.M + row) * p.NC + col] = acc;
  }
}

// k-major, so that the inner loop reads TM (TN) consecutive floats of one k.
shared float tile_a[BK * BM];
shared float tile_b[BK * BN];

void main() {
  uint lid = gl_LocalInvocationID.x;
  uint threads = gl_WorkGroupSize.x;
  // z: MODE 2's slice of the depth; in MODE 0 and 1, where NC grows with the batch, the host
  // may spread the tiles of columns over x and z (rp_grid_fold_x)
  uint tile_row = gl_WorkGroupID.y * BM;
  uint tile_col = (MODE == 2u ? gl_WorkGroupID.x : folded_workgroup_x()) * BN;
  uint ty = lid / (BN / TN);
  uint tx = lid % (BN / TN);
  uint d_begin = MODE == 2u ? gl_WorkGroupID.z * p.depth_per_split : 0u;
  uint d_end = min(p.D, d_begin + p.depth_per_split);

  float acc[TM][TN];
  for (uint i = 0u; i < TM; i++)
    for (uint j = 0u; j < TN; j++) acc[i][j] = 0.0;

  // Which way consecutive invocations walk a slice when staging it: along the dimension that
  // is contiguous in memory, so that global reads coalesce. A is contiguous along d in
  // MODE 0 and 2; B along its columns in MODE 0 and 1 (neighbouring pixels) and along d in
  // MODE 2.
  const bool a_along_d = MODE != 1u;
  const bool b_along_col = MODE != 2u;
  for (uint d0 = d_begin; d0 < d_end; d0 += BK) {
    for (uint e = lid; e < BM * BK; e += threads) {
      uint r = a_along_d ? e / BK : e % BM, k = a_along_d ? e % BK : e / BM;
      uint gr = tile_row + r, gd = d0 + k;
      tile_a[k * BM + r] = (gr < p.M && gd < d_end) ? load_a(gr, gd) : 0.0;
    }
    for (uint e = lid; e < BK * BN; e += threads) {
      uint k = b_along_col ? e / BN : e % BK, col = b_along_col ? e % BN : e / BK;
      uint gc = tile_col + col, gd = d0 + k;
      tile_b[k * BN + col] = (gc < p.NC && gd < d_end) ? load_b(gd, gc) : 0.0;
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
      if (row < p.M && col < p.NC) store(row, col, acc[i][j]);
    }
  }
}
