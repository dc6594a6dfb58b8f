#version 450
// The GEMM of gemm_lanes.glsl with a 32 x 8 block per lane (rows x columns).
// variants: texel
#define TM_ 32
#define TN_ 8
#include "gemm_lanes.glsl"
