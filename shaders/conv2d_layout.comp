#version 450
// Layout changes for the CPU path of conv2d, between NCHW tensors and the padded row-major
// matrices the GEMMs take. With a tensor t of [*, rows, PQ] and a matrix m of [rows_p, cols_p]
// whose column j < cols = images * PQ is (image n0 + j / PQ, pixel j % PQ), invocation
// (pq, i, nl) moves one element (no division anywhere):
//   MODE 0, pack:    m[i, nl*PQ + pq] = t[n0 + nl, i, pq], 0 in the padding rows and columns.
//                    (PQ = cols, one image: pads a [rows, cols] matrix, e.g. w as [K, C*R*S].)
//   MODE 1, unpack:  t[n0 + nl, i, pq] = m[i, nl*PQ + pq] (+ bias[i]).
//                    (PQ = cols, one image: drops a matrix's padding.)
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;

layout(set = 0, binding = 0) readonly buffer Src { float src[]; };
layout(set = 0, binding = 1) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 2) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
  uint rows, cols, cols_p, PQ, n0, has_bias;
} p;

void main() {
  uint pq = gl_GlobalInvocationID.x, i = gl_GlobalInvocationID.y, nl = gl_GlobalInvocationID.z;
  if (pq >= p.PQ) return;
  if (MODE == 0u) {
    float v = 0.0;
    if (i < p.rows) v = src[((p.n0 + nl) * p.rows + i) * p.PQ + pq];
    dst[i * p.cols_p + nl * p.PQ + pq] = v;
    if (nl == 0u) // the padding columns of row i
      for (uint j = p.cols + pq; j < p.cols_p; j += p.PQ) dst[i * p.cols_p + j] = 0.0;
  } else {
    float v = src[i * p.cols_p + nl * p.PQ + pq];
    if (p.has_bias != 0u) v += bias[i];
    dst[((p.n0 + nl) * p.rows + i) * p.PQ + pq] = v;
  }
}
