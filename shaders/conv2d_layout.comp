#version 450
// Layout changes for the CPU path of conv2d, between NCHW tensors and the padded row-major
// matrices the GEMMs take. With a tensor t of [*, rows, PQ] and a matrix m of [rows_p, cols_p]
// whose column j < cols is (image n0 + j / PQ, pixel j % PQ):
//   MODE 0, pack:    m[i, j] = t[n0 + j / PQ, i, j % PQ] for i < rows, j < cols; else 0.
//                    (PQ = cols, n0 = 0: pads a [rows, cols] matrix, e.g. w as [K, C*R*S].)
//   MODE 1, unpack:  t[n0 + j / PQ, i, j % PQ] = m[i, j] (+ bias[i]) for i < rows, j < cols.
//                    (PQ = cols, n0 = 0: drops a matrix's padding.)
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;

layout(set = 0, binding = 0) readonly buffer Src { float src[]; };
layout(set = 0, binding = 1) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 2) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push { uint rows, rows_p, cols, cols_p, PQ, n0, has_bias; } p;

void main() {
  uint e = flat_invocation();
  if (MODE == 0u) {
    if (e >= p.rows_p * p.cols_p) return;
    uint i = e / p.cols_p, j = e % p.cols_p;
    float v = 0.0;
    if (i < p.rows && j < p.cols) v = src[((p.n0 + j / p.PQ) * p.rows + i) * p.PQ + j % p.PQ];
    dst[e] = v;
  } else {
    if (e >= p.rows * p.cols) return; // e walks the tensor's chunk in its own (NCHW) order
    uint nl = e / (p.rows * p.PQ), i = (e / p.PQ) % p.rows, pq = e % p.PQ;
    float v = src[i * p.cols_p + nl * p.PQ + pq];
    if (p.has_bias != 0u) v += bias[i];
    dst[p.n0 * p.rows * p.PQ + e] = v;
  }
}
