#version 450
// Average pooling forward: one invocation per output, the sum of the window's inputs (row-major)
// divided by KH * KW, padding counted in the divisor (PyTorch's count_include_pad=True; in floor
// mode with pad <= kernel / 2 no window reaches past the padding, so the divisor is always the
// full window). Global average pooling is the case KH = H, KW = W.
#include "pool_common.glsl"

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };

void main() {
  uint o = flat_invocation();
  if (o >= pc.n) return;
  int oq = int(o % uint(pc.q));
  uint t = o / uint(pc.q);
  int op = int(t % uint(pc.p));
  uint plane = (t / uint(pc.p)) * uint(pc.h * pc.w);
  int h0 = op * SH - PH, w0 = oq * SW - PW;
  float sum = 0.0;
  for (int i = 0; i < KH; i++) {
    int hh = h0 + i;
    if (hh < 0 || hh >= pc.h) continue;
    for (int j = 0; j < KW; j++) {
      int ww = w0 + j;
      if (ww < 0 || ww >= pc.w) continue;
      sum += x[plane + uint(hh * pc.w + ww)];
    }
  }
  y[o] = sum / float(KH * KW);
}
