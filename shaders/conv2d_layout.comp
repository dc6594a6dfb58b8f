#version 450
// Layout changes for the CPU path of conv2d, between NCHW tensors and the padded row-major
// matrices the GEMMs take. With a tensor t of [*, rows, PQ] and a matrix m of [rows_p, cols_p]
// whose column j < cols = images * PQ is (image n0 + j / PQ, pixel j % PQ), invocation
// (x, i, nl) moves the pixels VEC * x .. + VEC-1 (no division anywhere):
//   MODE 0, pack:    m[i, nl*PQ + pq] = t[n0 + nl, i, pq], 0 in the padding rows and columns.
//                    (PQ = cols, one image: pads a [rows, cols] matrix, e.g. w as [K, C*R*S].)
//   MODE 1, unpack:  t[n0 + nl, i, pq] = m[i, nl*PQ + pq] (+ bias[i]).
//                    (PQ = cols, one image: drops a matrix's padding.)
//   MODE 2, flip:    m[i, j] = w[j / PQ, i, PQ-1 - j % PQ] for j < cols, else 0: the weights
//                    w [K, C, R*S] (rows = C, PQ = R*S, cols = K*R*S) of the convolution whose
//                    forward pass is the backward-data pass of w's (stride 1), invocation
//                    (j, i). Runs once per pass on a small tensor: divisions are fine.
// VEC is 4 when PQ and cols_p are multiples of 4: lavapipe moves a vec4 for about the price of
// a float.
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;
layout(constant_id = 2) const uint VEC = 1; // 1 or 4

layout(set = 0, binding = 0) readonly buffer Src { float src[]; };
layout(set = 0, binding = 0) readonly buffer Src4 { vec4 src4[]; };
layout(set = 0, binding = 1) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 2) writeonly buffer Dst { float dst[]; };
layout(set = 0, binding = 2) writeonly buffer Dst4 { vec4 dst4[]; };
layout(push_constant) uniform Push {
  uint rows, cols, cols_p, PQ, n0, has_bias;
} p;

vec4 load(uint i) { return VEC == 4u ? src4[i / 4u] : vec4(src[i]); }

void store(uint i, vec4 v) {
  if (VEC == 4u) dst4[i / 4u] = v;
  else dst[i] = v.x;
}

void main() {
  uint pq = gl_GlobalInvocationID.x * VEC, i = gl_GlobalInvocationID.y;
  uint nl = gl_GlobalInvocationID.z;
  if (MODE == 2u) {
    uint j = gl_GlobalInvocationID.x;
    if (j >= p.cols_p) return;
    float v = 0.0;
    if (j < p.cols) v = src[((j / p.PQ) * p.rows + i) * p.PQ + p.PQ - 1u - j % p.PQ];
    dst[i * p.cols_p + j] = v;
    return;
  }
  if (pq >= p.PQ) return;
  if (MODE == 0u) {
    vec4 v = vec4(0.0);
    if (i < p.rows) v = load(((p.n0 + nl) * p.rows + i) * p.PQ + pq);
    store(i * p.cols_p + nl * p.PQ + pq, v);
    if (nl == 0u) // the padding columns of row i
      for (uint j = p.cols + pq; j < p.cols_p; j += p.PQ) store(i * p.cols_p + j, vec4(0.0));
  } else {
    vec4 v = load(i * p.cols_p + nl * p.PQ + pq);
    if (p.has_bias != 0u) v += bias[i];
    store(((p.n0 + nl) * p.rows + i) * p.PQ + pq, v);
  }
}
