#version 450
// col2im as a gather, for the CPU path of conv2d's backward-data pass: each invocation owns one
// element dx[n0 + nl, c, h, w] of a chunk of images and adds, in a fixed order, the entries of
// dcol[(c,r,s), nl*P*Q + p*Q + q] of every (r, s) whose output pixel (p, q) covers (h, w).
// No scatter, so no atomics: deterministic.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer Dcol { float dcol[]; };
layout(set = 0, binding = 1) writeonly buffer Dx { float dx[]; };
layout(push_constant) uniform Push {
  uint C, H, W, P, Q, R, S, stride, pad;
  uint n0;     // first image of the chunk
  uint count;  // images in the chunk * C * H * W
  uint cols_p; // row length of dcol
} p;

void main() {
  uint e = flat_invocation();
  if (e >= p.count) return;
  uint HW = p.H * p.W, PQ = p.P * p.Q;
  uint nl = e / (p.C * HW), c = (e / HW) % p.C, h = (e % HW) / p.W, w = e % p.W;
  float acc = 0.0;
  for (uint r = 0u; r < p.R; r++) {
    int ph = int(h + p.pad) - int(r);
    if (ph < 0 || uint(ph) % p.stride != 0u || uint(ph) / p.stride >= p.P) continue;
    uint pp = uint(ph) / p.stride;
    for (uint s = 0u; s < p.S; s++) {
      int qw = int(w + p.pad) - int(s);
      if (qw < 0 || uint(qw) % p.stride != 0u || uint(qw) / p.stride >= p.Q) continue;
      uint qq = uint(qw) / p.stride;
      acc += dcol[((c * p.R + r) * p.S + s) * p.cols_p + nl * PQ + pp * p.Q + qq];
    }
  }
  dx[p.n0 * p.C * HW + e] = acc;
}
