#version 450
// The im2col matrix of a chunk of images, for the CPU path of conv2d (runtime/ops/conv2d.c):
// col[(c,r,s), j] = x[n0 + j / (P*Q), c, p*stride - pad + r, q*stride - pad + s] with
// (p, q) = j % (P*Q), zero in the padding and in the padded rows (>= C*R*S) and columns
// (>= cols). Invocation (x, y) writes the vec4 x of row y: lavapipe stores a vec4 for about
// the price of a float, and loads likewise, which ALIGNED uses: with stride 1 and W, Q
// multiples of 4, the four pixels are q0 .. q0+3 of one output row and read x[h, w0 .. w0+3],
// w0 = q0 - pad + s, which lie in two aligned vec4s of the input row (a vec4 is wholly inside
// the row or wholly in the padding, as W % 4 == 0).
#include "common.glsl"
#define GEOM_ID 1
#include "conv2d_geom.glsl"

layout(constant_id = 4) const bool ALIGNED = false;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 1) writeonly buffer Col { vec4 col[]; };
layout(push_constant) uniform Push {
  uint C;
  uint n0;     // first image of the chunk
  uint cols;   // images in the chunk * P * Q
  uint cols_p; // row length of col: a multiple of 4
  uint rows;   // C * R * S
} p;

const uint QUADS_PER_INVOCATION = 8u;

void one_quad(uint quad, uint row) {
  if (quad >= p.cols_p / 4u) return;
  vec4 v = vec4(0.0);
  uint j0 = quad * 4u;
  if (ALIGNED && row < p.rows && j0 < p.cols) {
    uint c = row / RS, r = (row % RS) / S, s = row % S;
    uint nl = j0 / PQ, pq = j0 % PQ;
    int h = int(pq / Q + r) - int(PAD);
    int w0 = int(pq % Q + s) - int(PAD);
    int wa = w0 - (w0 & 3); // rounded down to a multiple of 4 (w0 may be negative)
    if (h >= 0 && h < int(H)) {
      uint row_base = (((p.n0 + nl) * p.C + c) * H + uint(h)) * W; // a multiple of 4
      vec4 lo = wa >= 0 && wa < int(W) ? x4[(row_base + uint(wa)) / 4u] : vec4(0.0);
      vec4 hi = wa + 4 >= 0 && wa + 4 < int(W) ? x4[(row_base + uint(wa)) / 4u + 1u] : vec4(0.0);
      uint off = uint(w0 & 3);
      float e[8] = float[8](lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
      v = vec4(e[off], e[off + 1u], e[off + 2u], e[off + 3u]);
    }
  } else if (row < p.rows && j0 < p.cols) {
    uint c = row / RS, r = (row % RS) / S, s = row % S;
    uint nl = j0 / PQ, pq = j0 % PQ;
    uint pp = pq / Q, qq = pq % Q;
    // The four pixels j0 .. j0+3 in order, stepping (image, p, q) without dividing.
    for (uint t = 0u; t < 4u; t++) {
      int h = int(pp * STRIDE + r) - int(PAD), w = int(qq * STRIDE + s) - int(PAD);
      if (j0 + t < p.cols && h >= 0 && w >= 0 && h < int(H) && w < int(W))
        v[t] = x[(((p.n0 + nl) * p.C + c) * H + uint(h)) * W + uint(w)];
      if (++qq == Q) {
        qq = 0u;
        if (++pp == P) {
          pp = 0u;
          nl++;
        }
      }
    }
  }
  col[row * (p.cols_p / 4u) + quad] = v;
}

void main() {
  // Each invocation writes QUADS_PER_INVOCATION vec4s of its row, a workgroup's worth apart:
  // lavapipe's cost per workgroup is then spread over more work.
  uint row = gl_GlobalInvocationID.y;
  for (uint k = 0u; k < QUADS_PER_INVOCATION; k++)
    one_quad((gl_WorkGroupID.x * QUADS_PER_INVOCATION + k) * gl_WorkGroupSize.x +
                 gl_LocalInvocationID.x, row);
}
