// Forward convolution for CPU devices (lavapipe) as an implicit GEMM in the form of
// gemm_lanes.glsl: Y[K, pixels] = W[K, C*R*S] * im2col(x), without writing im2col(x) anywhere
// (on lavapipe, storing it cost as much as the GEMM itself).
//
// A workgroup is one subgroup; it owns TM_ output channels, and each lane TN_ consecutive
// pixels (of the N*P*Q, in NCHW order: they may run over rows and images). The weights come
// padded to rows of a multiple of 4 (w [K, lda]); each lane loads a share of the TM_ x 4
// block and subgroupShuffle hands every lane the values it needs, as in gemm_lanes.glsl.
// Each lane gathers its own pixels' inputs, x[n, c, p*stride - pad + r, q*stride - pad + s],
// a float each from precomputed offsets. (Loading a row's inputs as vec4s where stride 1 and
// the alignment allow, and picking the floats out, ran slower in this kernel: 3.5 s against
// 2.4-2.8 s for a ResNet-20 step's forward and backward-data convolutions.)
// The block is written out by lanes_block.glsl; TM_ and TN_ come from the including shader
// (conv2d_lanes_<TM>x<TN>.comp).
#include "conv2d_lanes_common.glsl"
#include "texel.glsl"

INPUT4(0, wt);
INPUT1(1, x);
layout(set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 3) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 3) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform Push {
  uint NPQ, C, K, CRS, lda4, has_bias;
} p;

// Y[pixels col0 + j0 .. j3 of channel row] = c<i>_<j0 .. j3> + bias, for the pixels that
// exist: a vec4 where P*Q % 4 == 0 (the four then lie in one image, aligned, and exist or not
// together), else a float each.
#define LANE_STORE4(i, j0, j1, j2, j3)                                                      \
  {                                                                                         \
    float b = p.has_bias != 0u ? bias[row] : 0.0;                                           \
    if (PQ % 4u == 0u) {                                                                    \
      if (col0 + j0 < p.NPQ)                                                                \
        y4[(out_base[j0] + row * PQ) / 4u] =                                                \
            vec4(c##i##_##j0, c##i##_##j1, c##i##_##j2, c##i##_##j3) + b;                   \
    } else {                                                                                \
      if (col0 + j0 < p.NPQ) y[out_base[j0] + row * PQ] = c##i##_##j0 + b;                  \
      if (col0 + j1 < p.NPQ) y[out_base[j1] + row * PQ] = c##i##_##j1 + b;                  \
      if (col0 + j2 < p.NPQ) y[out_base[j2] + row * PQ] = c##i##_##j2 + b;                  \
      if (col0 + j3 < p.NPQ) y[out_base[j3] + row * PQ] = c##i##_##j3 + b;                  \
    }                                                                                       \
  }
#define LANE_ROWS p.K

void main() {
  uint lane = gl_SubgroupInvocationID;
  uint row0 = gl_WorkGroupID.y * TM;
  uint col0 = (folded_workgroup_x() * SG + lane) * TN;

  // Each pixel's image (its input's first element, its output's with channel 0) and the
  // (h, w) of its window's corner. Pixels past the last one load clamped addresses, so that
  // every lane runs the shuffles; they are not stored.
  uint in_base[TN_], out_base[TN_];
  int h0[TN_], w0[TN_];
  for (uint j = 0u; j < TN; j++) {
    uint pixel = min(col0 + j, p.NPQ - 1u), n = pixel / PQ, pq = pixel % PQ;
    in_base[j] = n * p.C * HW;
    out_base[j] = n * p.K * PQ + pq;
    h0[j] = int((pq / Q) * STRIDE) - int(PAD);
    w0[j] = int((pq % Q) * STRIDE) - int(PAD);
  }

  LANES_DECLARE
  for (uint d = 0u; d < p.CRS; d += 4u) {
    vec4 mine[AV];
    for (uint q = 0u; q < AV; q++)
      mine[q] = LOAD4(wt, min(row0 + q * SG + lane, p.K - 1u) * p.lda4 + d / 4u);
    float bb[4][TN_];
    for (uint kk = 0u; kk < 4u; kk++) {
      uint dd = d + kk;
      uint c = dd / RS, r = (dd % RS) / S, s = dd % S;
      for (uint j = 0u; j < TN; j++) {
        int h = h0[j] + int(r), w = w0[j] + int(s);
        bb[kk][j] = LOAD1_IF(x, dd < p.CRS && h >= 0 && w >= 0 && h < int(H) && w < int(W),
                             in_base[j] + c * HW + uint(h) * W + uint(w));
      }
    }
    LANES_ACCUMULATE
  }

  if (col0 >= p.NPQ) return;
  LANES_STORE
}
