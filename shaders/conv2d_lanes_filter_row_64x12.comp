#version 450
// The backward-filter row convolution of conv2d_lanes_filter_row.glsl with a 64 x 12 block
// variants: texel
// per lane (output channels x columns (c, r, s)).
#define TM_ 64
#define TN_ 12
#include "conv2d_lanes_filter_row.glsl"
