// What the two backward-filter lanes kernels (conv2d_lanes_filter.glsl and its row form
// conv2d_lanes_filter_row.glsl) share besides conv2d_lanes_common.glsl: their bindings, the
// split's partial dW they store, and the load of dY's rows.
#include "conv2d_lanes_common.glsl"
#include "texel.glsl"

INPUT4(0, dy);
INPUT1(1, x);
layout(set = 0, binding = 2) writeonly buffer Part { float part[]; }; // [splits, K, CRS]
layout(push_constant) uniform Push {
  uint N, C, K, CRS, images_per_split;
} p;

// this split's dW[row, col0 + j0 .. j3], for the columns that exist
#define STORE1(i, j) \
  if (col0 + j < p.CRS) part[(gl_WorkGroupID.z * p.K + row) * p.CRS + col0 + j] = c##i##_##j;
#define LANE_STORE4(i, j0, j1, j2, j3) STORE1(i, j0) STORE1(i, j1) STORE1(i, j2) STORE1(i, j3)
#define LANE_ROWS p.K

// The shared operand of a step: this lane's share of dY[row0 .., n, pq4 .. pq4 + 3] as vec4s
// into `mine` (P*Q % 4 == 0), rows past K clamped to the last.
#define LOAD_DY_STEP(n, pq4)                                                          \
  vec4 mine[AV];                                                                      \
  for (uint q = 0u; q < AV; q++)                                                      \
    mine[q] = LOAD4(dy, (((n) * p.K + min(row0 + q * SG + lane, p.K - 1u)) * PQ + (pq4)) / 4u);

// The subgroup's place: its lane, first output channel row0 and first column col0, and this
// split's images [n_begin, n_end).
#define FILTER_WORKGROUP                                                                \
  uint lane = gl_SubgroupInvocationID;                                                  \
  uint row0 = gl_WorkGroupID.y * TM;                                                    \
  uint col0 = (gl_WorkGroupID.x * SG + lane) * TN;                                      \
  uint n_begin = gl_WorkGroupID.z * p.images_per_split;                                 \
  uint n_end = min(p.N, n_begin + p.images_per_split);
