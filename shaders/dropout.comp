#version 450
// Inverted dropout with Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011), bit for bit the generator of tests/ref/activation_ref.c.
//
// Invocation j draws one Philox block, four 32-bit words r[0..3], for elements 4j .. 4j+3:
//   key = (seed low, seed high) = (rng[0], rng[1]),  counter = (j, stream, rng[2], rng[3])
// and element i = 4j + k keeps its input when r[k] >= threshold (threshold = ceil(p 2^32), so
// the word, read as u = r / 2^32, satisfies u >= p): mask = keep ? scale : 0, y = x * mask.
// The seed and step come from the `rng` buffer the host rewrites between submissions.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Rng { uint rng[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 3) writeonly buffer Mask { float mask[]; };
layout(push_constant) uniform Push {
  uint n;         // elements
  uint stream;    // which dropout layer
  uint threshold; // keep when the word is >= this
  float scale;    // 1 / (1 - p), or 0 when p = 1
} pc;

uvec4 philox4x32_10(uvec4 ctr, uvec2 key) {
  for (int round = 0; round < 10; round++) {
    if (round > 0) key += uvec2(0x9E3779B9u, 0xBB67AE85u); // the Weyl key schedule
    uint hi0, lo0, hi1, lo1;
    umulExtended(0xD2511F53u, ctr.x, hi0, lo0);
    umulExtended(0xCD9E8D57u, ctr.z, hi1, lo1);
    ctr = uvec4(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
  }
  return ctr;
}

void main() {
  uint j = flat_invocation();
  uint first = j * 4u;
  if (first >= pc.n) return;
  uvec4 r = philox4x32_10(uvec4(j, pc.stream, rng[2], rng[3]), uvec2(rng[0], rng[1]));
  for (uint k = 0u; k < 4u; k++) {
    uint i = first + k;
    if (i >= pc.n) break;
    float m = r[k] >= pc.threshold ? pc.scale : 0.0;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}
