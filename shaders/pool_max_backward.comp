#version 450
// Max pooling backward as a gather: one invocation per input, which adds up dy over the windows
// covering it whose recorded maximum is this input. Fixed order (row-major over the windows),
// no atomics.
#include "pool_common.glsl"

layout(set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 1) readonly buffer Indices { uint indices[]; };
layout(set = 0, binding = 2) writeonly buffer DX { float dx[]; };

void main() {
  uint i = flat_invocation();
  if (i >= pc.n) return;
  int ww = int(i % uint(pc.w));
  uint t = i / uint(pc.w);
  int hh = int(t % uint(pc.h));
  uint plane = (t / uint(pc.h)) * uint(pc.p * pc.q);
  uint at = uint(hh * pc.w + ww);
  int p_lo, p_hi, q_lo, q_hi;
  covering(hh, KH, SH, PH, pc.p, p_lo, p_hi);
  covering(ww, KW, SW, PW, pc.q, q_lo, q_hi);
  float sum = 0.0;
  for (int op = p_lo; op <= p_hi; op++)
    for (int oq = q_lo; oq <= q_hi; oq++) {
      uint o = plane + uint(op * pc.q + oq);
      if (indices[o] == at) sum += dy[o];
    }
  dx[i] = sum;
}
