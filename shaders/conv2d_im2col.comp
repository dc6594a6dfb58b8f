#version 450
// The im2col matrix of a chunk of images, for the CPU path of conv2d (runtime/ops/conv2d.c):
// col[(c,r,s), j] = x[n0 + j / (P*Q), c, p*stride - pad + r, q*stride - pad + s] with
// (p, q) = j % (P*Q), zero in the padding and in the padded rows (>= C*R*S) and columns
// (>= cols). Each invocation writes one vec4 of a row: lavapipe stores a vec4 for about the
// price of a float.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Col { vec4 col[]; };
layout(push_constant) uniform Push {
  uint C, H, W, P, Q, R, S, stride, pad;
  uint n0;     // first image of the chunk
  uint cols;   // images in the chunk * P * Q
  uint cols_p; // row length of col: a multiple of 4
  uint rows;   // C * R * S
  uint rows_p; // rows of col
} p;

void main() {
  uint i = flat_invocation();
  uint quads = p.cols_p / 4u;
  if (i >= p.rows_p * quads) return;
  uint row = i / quads, j0 = (i % quads) * 4u;
  uint RS = p.R * p.S, PQ = p.P * p.Q;
  uint c = row / RS, r = (row % RS) / p.S, s = row % p.S;
  vec4 v = vec4(0.0);
  if (row < p.rows) {
    for (uint t = 0u; t < 4u; t++) {
      uint j = j0 + t;
      if (j >= p.cols) break;
      uint pq = j % PQ;
      int h = int((pq / p.Q) * p.stride + r) - int(p.pad);
      int w = int((pq % p.Q) * p.stride + s) - int(p.pad);
      if (h >= 0 && w >= 0 && h < int(p.H) && w < int(p.W))
        v[t] = x[(((p.n0 + j / PQ) * p.C + c) * p.H + uint(h)) * p.W + uint(w)];
    }
  }
  col[i] = v;
}
