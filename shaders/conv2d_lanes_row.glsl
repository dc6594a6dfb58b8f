// Forward convolution for CPU devices, for 3-wide kernels at stride 1 where a row of outputs
// holds whole blocks of 8 pixels (Q % 8 == 0): conv2d_lanes.glsl with the inputs shared
// across the three taps of a row.
//
// In conv2d_lanes.glsl each lane gathers a float per pixel per step of depth: 24 gathers,
// each with its own bounds checks, for the three taps of a (c, r) over its 8 pixels, and on
// lavapipe the gathers, not the FMAs, bound the 16-channel layers. Here a lane's 8 pixels lie
// in one row, so the three taps read the same 10 inputs, x[n, c, h, w0 - pad .. w0 - pad + 9],
// loaded once. The weights come as w [K, C*R*4], each (c, r)'s three taps padded to a vec4
// (conv2d_taps.comp), so that one step of the depth loop is one (c, r): its vec4 of weights,
// shared across lanes by shuffles as in gemm_lanes.glsl, and its 10 inputs. The padding tap
// costs no FMA (LANES_ACCUMULATE3). The weights and inputs come through texel buffers in the
// _texel variant (texel.glsl), which lavapipe reads with vector gathers: through storage
// buffers, a lane at a time, those reads took about two thirds of the kernel's time.
// TM_ and TN_ (8) come from the including shader (conv2d_lanes_row_<TM>x8.comp).
#include "conv2d_lanes_common.glsl"
#include "texel.glsl"

INPUT4(0, wt);
INPUT1(1, x);
layout(set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 3) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform Push {
  uint NPQ, C, K, CR, has_bias;
} p;

// Y[pixels col0 + j0 .. j3 of channel row] = c<i>_<j0 .. j3> + bias: the four lie in one row,
// aligned, so one vec4.
#define LANE_STORE4(i, j0, j1, j2, j3)                                                      \
  {                                                                                         \
    float b = p.has_bias != 0u ? bias[row] : 0.0;                                           \
    y4[(out_base + row * PQ) / 4u + j0 / 4u] =                                              \
        vec4(c##i##_##j0, c##i##_##j1, c##i##_##j2, c##i##_##j3) + b;                       \
  }
#define LANE_ROWS p.K
#define ROW_INPUTS (TN_ + 2) // the inputs of a lane's TN_ pixels for a 3-wide kernel

void main() {
  uint lane = gl_SubgroupInvocationID;
  uint row0 = gl_WorkGroupID.y * TM;
  uint col0 = (folded_workgroup_x() * SG + lane) * TN;

  // The lane's image, output row and first column; a lane past the last pixel computes the
  // last block again, so that every lane runs the shuffles, and stores nothing.
  uint pixel = min(col0, p.NPQ - TN), n = pixel / PQ, pq = pixel % PQ;
  uint in_base = n * p.C * HW, out_base = n * p.K * PQ + pq;
  int h0 = int(pq / Q) - int(PAD), w0 = int(pq % Q) - int(PAD);

  LANES_DECLARE
  for (uint d = 0u; d < p.CR; d++) {
    vec4 mine[AV];
    for (uint q = 0u; q < AV; q++)
      mine[q] = LOAD4(wt, min(row0 + q * SG + lane, p.K - 1u) * p.CR + d);
    uint c = d / R, r = d % R;
    int h = h0 + int(r);
    bool row_in = h >= 0 && h < int(H);
    uint at = in_base + c * HW + uint(row_in ? h : 0) * W;
    float v[ROW_INPUTS];
    for (uint t = 0u; t < ROW_INPUTS; t++) {
      int w = w0 + int(t);
      v[t] = LOAD1_IF(x, row_in && w >= 0 && w < int(W), at + uint(w));
    }
    float bb[3][TN_];
    for (uint s = 0u; s < 3u; s++)
      for (uint j = 0u; j < TN; j++) bb[s][j] = v[j + s];
    LANES_ACCUMULATE3
  }

  if (col0 >= p.NPQ) return;
  LANES_STORE
}
