// What the lanes convolution kernels (conv2d_lanes.glsl, conv2d_lanes_filter.glsl) share:
// the geometry (conv2d_geom.glsl, from constant 2), the subgroup size, the register block of
// lanes_block.glsl (TM_ x TN_, #defined by the variant .comp file) and how its shared operand
// reaches every lane.
#include "common.glsl"
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#define GEOM_ID 2
#include "conv2d_geom.glsl"

layout(constant_id = 1) const uint SG = 8; // the subgroup size (fixed on CPU devices)
const uint TM = TM_; // a multiple of SG
const uint TN = TN_; // a multiple of 4
const uint AV = TM / SG; // vec4s of the shared operand each lane loads per 4 steps of depth

#include "lanes_block.glsl"
// The shared operand A[row0 + i, depth + kk] for every lane: lane l loaded rows q * SG + l at
// depth .. depth + 3 into its vec4 mine[q].
#define LANE_A(i, kk) subgroupShuffle(mine[(i) / SG][kk], (i) % SG)
