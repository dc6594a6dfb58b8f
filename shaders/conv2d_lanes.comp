#version 450
// Forward convolution for CPU devices (lavapipe) as an implicit GEMM in the form of
// gemm_lanes.comp: Y[K, N*P*Q] = W[K, C*R*S] * im2col(x), without writing im2col(x) anywhere
// (on lavapipe, storing it cost as much as the GEMM itself).
//
// A workgroup is one subgroup; it owns TM output channels, and each lane TN consecutive
// pixels of one image (P*Q is a multiple of TN). The weights come padded to rows of a
// multiple of 4 (w [K, lda]); each lane loads a share of the TM x 4 block and subgroupShuffle
// hands every lane the values it needs, as in gemm_lanes.comp. Each lane gathers its own
// pixels' inputs, x[n, c, p*stride - pad + r, q*stride - pad + s], from precomputed offsets;
// with stride 1 and W, Q multiples of 4 (ALIGNED) its TN pixels are q0 .. q0+TN-1 of one
// output row, whose inputs lie in TN/4 + 1 aligned vec4s of an input row.
#include "common.glsl"
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#define GEOM_ID 3
#include "conv2d_geom.glsl"

layout(constant_id = 1) const uint TM = 32; // a multiple of SG
layout(constant_id = 2) const uint TN = 8;  // a multiple of 4, dividing P*Q
layout(constant_id = 6) const uint SG = 8;  // the subgroup size (fixed on CPU devices)
layout(constant_id = 7) const bool ALIGNED = false;

layout(set = 0, binding = 0) readonly buffer Wt { vec4 wt[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 3) writeonly buffer Y { vec4 y[]; };
layout(push_constant) uniform Push {
  uint C, K, NPQ, CRS, lda4, has_bias;
} p;

const uint AV = TM / SG; // vec4s of w each lane loads per 4 steps of depth

void main() {
  uint lane = gl_SubgroupInvocationID;
  uint row0 = gl_WorkGroupID.y * TM;
  uint col0 = (gl_WorkGroupID.x * SG + lane) * TN;
  // Lanes past the last pixel keep loading (clamped) so the shuffles see every lane.
  uint col_load = min(col0, p.NPQ - TN);
  uint n = col_load / PQ, pq0 = col_load % PQ;

  // Where each pixel's window starts: its image's first element, and (h, w) of its corner.
  uint image_base = n * p.C * HW;
  int h0[TN], w0[TN];
  for (uint j = 0u; j < TN; j++) {
    uint pq = pq0 + j;
    h0[j] = int((pq / Q) * STRIDE) - int(PAD);
    w0[j] = int((pq % Q) * STRIDE) - int(PAD);
  }

  float acc[TM][TN];
  for (uint i = 0u; i < TM; i++)
    for (uint j = 0u; j < TN; j++) acc[i][j] = 0.0;

  for (uint d = 0u; d < p.CRS; d += 4u) {
    vec4 mine[AV];
    for (uint q = 0u; q < AV; q++)
      mine[q] = wt[min(row0 + q * SG + lane, p.K - 1u) * p.lda4 + d / 4u];
    float bb[4][TN];
    for (uint kk = 0u; kk < 4u; kk++) {
      uint dd = d + kk;
      uint c = dd / RS, r = (dd % RS) / S, s = dd % S;
      uint plane = image_base + c * HW;
      if (dd >= p.CRS) {
        for (uint j = 0u; j < TN; j++) bb[kk][j] = 0.0;
      } else if (ALIGNED) {
        // one output row: h is common, w runs w0[0] + s .. + TN-1
        int h = h0[0] + int(r), w = w0[0] + int(s);
        int wa = w - (w & 3);
        uint off = uint(w & 3);
        float e[TN + 4u];
        for (uint v = 0u; v < TN / 4u + 1u; v++) {
          int wv = wa + int(4u * v);
          vec4 t = vec4(0.0);
          if (h >= 0 && h < int(H) && wv >= 0 && wv < int(W))
            t = x4[(plane + uint(h) * W + uint(wv)) / 4u];
          e[4u * v] = t.x; e[4u * v + 1u] = t.y; e[4u * v + 2u] = t.z; e[4u * v + 3u] = t.w;
        }
        for (uint j = 0u; j < TN; j++) bb[kk][j] = e[off + j];
      } else {
        for (uint j = 0u; j < TN; j++) {
          int h = h0[j] + int(r), w = w0[j] + int(s);
          bb[kk][j] = (h >= 0 && w >= 0 && h < int(H) && w < int(W))
                          ? x[plane + uint(h) * W + uint(w)] : 0.0;
        }
      }
    }
    for (uint i = 0u; i < TM; i++) {
      for (uint kk = 0u; kk < 4u; kk++) {
        float ai = subgroupShuffle(mine[i / SG][kk], i % SG);
        for (uint j = 0u; j < TN; j++) acc[i][j] = fma(ai, bb[kk][j], acc[i][j]);
      }
    }
  }

  if (col0 >= p.NPQ) return;
  for (uint i = 0u; i < TM; i++) {
    uint row = row0 + i;
    if (row >= p.K) break;
    float b = p.has_bias != 0u ? bias[row] : 0.0;
    for (uint j = 0u; j < TN; j += 4u)
      y[((n * p.K + row) * PQ + pq0 + j) / 4u] =
          vec4(acc[i][j], acc[i][j + 1u], acc[i][j + 2u], acc[i][j + 3u]) + b;
  }
}
