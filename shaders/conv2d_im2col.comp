#version 450
// The im2col matrix of a chunk of images, for the CPU path of conv2d (runtime/ops/conv2d.c):
// col[(c,r,s), j] = x[n0 + j / (P*Q), c, p*stride - pad + r, q*stride - pad + s] with
// (p, q) = j % (P*Q), zero in the padding and in the padded rows (>= C*R*S) and columns
// (>= cols). Invocation (x, y) writes the vec4 x of row y: lavapipe stores a vec4 for about
// the price of a float.
#include "common.glsl"
#define GEOM_ID 1
#include "conv2d_geom.glsl"

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Col { vec4 col[]; };
layout(push_constant) uniform Push {
  uint C;
  uint n0;     // first image of the chunk
  uint cols;   // images in the chunk * P * Q
  uint cols_p; // row length of col: a multiple of 4
  uint rows;   // C * R * S
} p;

void main() {
  uint quad = gl_GlobalInvocationID.x, row = gl_GlobalInvocationID.y;
  if (quad >= p.cols_p / 4u) return;
  uint c = row / RS, r = (row % RS) / S, s = row % S;
  vec4 v = vec4(0.0);
  if (row < p.rows) {
    for (uint t = 0u; t < 4u; t++) {
      uint j = quad * 4u + t;
      if (j >= p.cols) break;
      uint pq = j % PQ;
      int h = int((pq / Q) * STRIDE + r) - int(PAD);
      int w = int((pq % Q) * STRIDE + s) - int(PAD);
      if (h >= 0 && w >= 0 && h < int(H) && w < int(W))
        v[t] = x[(((p.n0 + j / PQ) * p.C + c) * H + uint(h)) * W + uint(w)];
    }
  }
  col[row * (p.cols_p / 4u) + quad] = v;
}
