#version 450
// Max pooling forward: one invocation per output. y = the largest input in the window (padding
// never wins), indices = its flat position h * W + w in the plane, the first in row-major order
// on ties; a NaN wins over any number, as in PyTorch.
#include "pool_common.glsl"

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 2) writeonly buffer Indices { uint indices[]; };

void main() {
  uint o = flat_invocation();
  if (o >= pc.n) return;
  int oq = int(o % uint(pc.q));
  uint t = o / uint(pc.q);
  int op = int(t % uint(pc.p));
  uint plane = (t / uint(pc.p)) * uint(pc.h * pc.w);
  int h0 = op * SH - PH, w0 = oq * SW - PW;
  float best = -1.0 / 0.0; // -inf
  // The first input inside the window: the answer if every value is -inf.
  int best_at = max(h0, 0) * pc.w + max(w0, 0);
  for (int i = 0; i < KH; i++) {
    int hh = h0 + i;
    if (hh < 0 || hh >= pc.h) continue;
    for (int j = 0; j < KW; j++) {
      int ww = w0 + j;
      if (ww < 0 || ww >= pc.w) continue;
      int at = hh * pc.w + ww;
      float v = x[plane + uint(at)];
      if (v > best || is_nan(v)) { // the bits: isnan() may be folded away
        best = v;
        best_at = at;
      }
    }
  }
  y[o] = best;
  indices[o] = uint(best_at);
}
