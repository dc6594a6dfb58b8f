#version 450
// y[i] = value
#include "common.glsl"

layout(set = 0, binding = 0) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n; float value; } p;

void main() {
  uint i = flat_invocation();
  if (i < p.n) y[i] = p.value;
}
