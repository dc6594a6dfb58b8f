// Shared by the pooling shaders (runtime/ops/pool.c): the window as specialization constants,
// so loops over it have constant trip counts, and the planes' sizes as push constants.
//
// Tensors are NCHW; a "plane" is one (n, c) pair. The input plane is H x W, the output plane
// P x Q, and output (p, q) covers input rows p*SH - PH .. p*SH - PH + KH - 1 (likewise columns);
// rows and columns outside the input are padding.
#include "common.glsl"

layout(constant_id = 1) const int KH = 2;
layout(constant_id = 2) const int KW = 2;
layout(constant_id = 3) const int SH = 2;
layout(constant_id = 4) const int SW = 2;
layout(constant_id = 5) const int PH = 0;
layout(constant_id = 6) const int PW = 0;

layout(push_constant) uniform Push {
  uint n;   // invocations that do work: outputs (forward) or inputs (backward)
  int h, w; // input plane
  int p, q; // output plane
} pc;

// The range of output rows (or columns) whose windows cover input row `i`: lo .. hi inclusive,
// empty when lo > hi (an input that only a partial last window would have reached).
void covering(int i, int k, int s, int pad, int outputs, out int lo, out int hi) {
  int padded = i + pad;
  lo = padded < k ? 0 : (padded - k) / s + 1;
  hi = min(padded / s, outputs - 1);
}
