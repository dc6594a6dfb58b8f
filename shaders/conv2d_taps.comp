#version 450
// The weights as conv2d_lanes_row.glsl reads them: m [rows, A*R*4], the S (<= 4) taps of each
// (a, r) padded with zeros to four, so that one vec4 holds them:
//   forward (flip 0):  m[i, (a*R + r)*4 + s] = w[i, a, r, s]          (rows = K, A = C)
//   flip (flip 1):     m[i, (a*R + r)*4 + s] = w[a, i, R-1-r, S-1-s]  (rows = C, A = K), the
//                      weights of the convolution whose forward pass is the backward-data
//                      pass of w's (stride 1).
// Invocation (j, i) writes m[i, j]. Runs once per pass on a small tensor: divisions are fine.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer W { float w[]; };
layout(set = 0, binding = 1) writeonly buffer M { float m[]; };
layout(push_constant) uniform Push {
  uint rows, A, R, S, flip;
} p;

void main() {
  uint j = gl_GlobalInvocationID.x, i = gl_GlobalInvocationID.y;
  uint cols = p.A * p.R * 4u;
  if (j >= cols || i >= p.rows) return;
  uint a = j / (p.R * 4u), r = (j / 4u) % p.R, s = j % 4u;
  float v = 0.0;
  if (s < p.S) {
    v = p.flip == 0u ? w[((i * p.A + a) * p.R + r) * p.S + s]
                     : w[((a * p.rows + i) * p.R + p.R - 1u - r) * p.S + p.S - 1u - s];
  }
  m[i * cols + j] = v;
}
