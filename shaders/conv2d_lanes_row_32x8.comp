#version 450
// The row convolution of conv2d_lanes_row.glsl with a 32 x 8 block per lane (channels x pixels).
// variants: texel
#define TM_ 32
#define TN_ 8
#include "conv2d_lanes_row.glsl"
