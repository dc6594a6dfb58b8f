#version 450
// col2im as a gather, for the CPU path of conv2d's backward-data pass: invocation (hw, c, nl)
// owns dx[n0 + nl, c, h, w] and adds, in a fixed order, the entries
// dcol[(c,r,s), nl*P*Q + p*Q + q] of every (r, s) whose output pixel (p, q) covers (h, w).
// No scatter, so no atomics: deterministic.
// On CPU devices dcol is a float texel buffer (texel.glsl): these are gathers, which lavapipe
// runs a lane at a time from a storage buffer.
// variants: texel
#include "common.glsl"
#define GEOM_ID 1
#include "conv2d_geom.glsl"
#include "texel.glsl"

INPUT1(0, dcol);
layout(set = 0, binding = 1) writeonly buffer Dx { float dx[]; };
layout(push_constant) uniform Push {
  uint C;
  uint n0;     // first image of the chunk
  uint cols_p; // row length of dcol
} p;

void main() {
  uint hw = gl_GlobalInvocationID.x, c = gl_GlobalInvocationID.y, nl = gl_GlobalInvocationID.z;
  if (hw >= HW) return;
  uint h = hw / W, w = hw % W;
  float acc = 0.0;
  for (uint r = 0u; r < R; r++) {
    int ph = int(h + PAD) - int(r);
    if (ph < 0 || uint(ph) % STRIDE != 0u || uint(ph) / STRIDE >= P) continue;
    uint pp = uint(ph) / STRIDE;
    for (uint s = 0u; s < S; s++) {
      int qw = int(w + PAD) - int(s);
      if (qw < 0 || uint(qw) % STRIDE != 0u || uint(qw) / STRIDE >= Q) continue;
      uint qq = uint(qw) / STRIDE;
      acc += LOAD1(dcol, ((c * R + r) * S + s) * p.cols_p + nl * PQ + pp * Q + qq);
    }
  }
  dx[((p.n0 + nl) * p.C + c) * HW + hw] = acc;
}
