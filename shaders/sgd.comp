#version 450
// One step of torch.optim.SGD (dampening 0) per element (runtime/ops/optimizer.h):
//   g = grad + weight_decay * w
//   MODE 0 (momentum 0):  w -= lr * g                         (buf is bound but untouched)
//   MODE 1 (momentum):    buf = momentum * buf + g;  w -= lr * buf
//   MODE 2 (nesterov):    buf = momentum * buf + g;  w -= lr * (g + momentum * buf)
// lr is hyper[0], read here so that the host can change it between submissions.
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 1;

layout(set = 0, binding = 0) buffer W { float w[]; };
layout(set = 0, binding = 1) readonly buffer Grad { float grad[]; };
layout(set = 0, binding = 2) buffer Buf { float buf[]; };
layout(set = 0, binding = 3) readonly buffer Hyper { float hyper[]; };
layout(push_constant) uniform Push { uint n; float momentum; float weight_decay; } p;

void main() {
  uint i = flat_invocation();
  if (i >= p.n) return;
  float lr = hyper[0];
  float wi = w[i];
  float g = grad[i] + p.weight_decay * wi;
  if (MODE != 0u) {
    float b = p.momentum * buf[i] + g;
    buf[i] = b;
    g = MODE == 2u ? g + p.momentum * b : b;
  }
  w[i] = wi - lr * g;
}
