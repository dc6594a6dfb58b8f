#version 450
// The forward convolution of conv2d_lanes.glsl with a 16 x 8 block per lane (channels x pixels).
// variants: texel
#define TM_ 16
#define TN_ 8
#include "conv2d_lanes.glsl"
