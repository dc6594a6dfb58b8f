#version 450
// The backward-filter convolution of conv2d_lanes_filter.glsl with a 16 x 8 block per lane
// variants: texel
// (output channels x 8 consecutive (c, r, s) columns of dW).
#define TM_ 16
#define TN_ 8
#include "conv2d_lanes_filter.glsl"
