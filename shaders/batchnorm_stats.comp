#version 450
// Batch-norm statistics, first pass: for each (channel c, chunk k) of the channel's N*inner
// elements (batchnorm_common.glsl), the chunk's mean and sum of squared deviations M2, into
// partial[c*chunks + k].
//
// Numerics: a plain sum and sum of squares loses everything to cancellation when the mean is
// large against the spread (M2 = sum x^2 - (sum x)^2 / n). Each chunk instead accumulates
// d = x - K around a shift K taken from the chunk itself (its first element), so the error of
// M2 = sum d^2 - (sum d)^2 / n is about eps * n * ((mean - K)^2 + var): K lies within the
// data, hence a few standard deviations of the mean, and x - K is exact when x and K are
// within a factor 2 of each other (Sterbenz), which takes a large common offset out entirely.
// Chunks are then merged by Chan et al.'s formula in batchnorm_finalize.comp, which has no
// cancellation. That reads x once, where a two-pass mean-then-variance would read it twice
// (the dominant cost on a CPU driver).
//
// Deterministic: each invocation adds a fixed strided subset in order, then a fixed binary tree
// combines the workgroup (a power of two).
// variants: texel
#include "common.glsl"
#include "batchnorm_common.glsl"
#include "texel.glsl"

INPUT4(0, x);
layout(set = 0, binding = 1) writeonly buffer Partial { vec2 partial[]; };
layout(push_constant) uniform Push { uint C, inner, M, chunk, chunks, in_magic, in_sh; } p;

shared float s_sum[gl_WorkGroupSize.x];
shared float s_sq[gl_WorkGroupSize.x];

void main() {
  uint c, k, begin, end;
  if (!channel_chunk(p.C, p.M, p.chunk, p.chunks, c, k, begin, end))
    return; // uniform across the workgroup: barriers stay legal
  uint first = channel_element(begin, c, p.C, p.inner, p.in_magic, p.in_sh);
  float shift = VEC4 == 1u ? LOAD4(x, first).x : LOAD4_ONE(x, first);
  float s = 0.0, q = 0.0;
  if (VEC4 == 1u) {
    vec4 s4 = vec4(0.0), q4 = vec4(0.0);
    for (uint m = begin + gl_LocalInvocationID.x; m < end; m += gl_WorkGroupSize.x) {
      vec4 d = LOAD4(x, channel_element(m, c, p.C, p.inner, p.in_magic, p.in_sh)) - shift;
      s4 += d;
      q4 = fma(d, d, q4);
    }
    s = (s4.x + s4.y) + (s4.z + s4.w);
    q = (q4.x + q4.y) + (q4.z + q4.w);
  } else {
    for (uint m = begin + gl_LocalInvocationID.x; m < end; m += gl_WorkGroupSize.x) {
      float d = LOAD4_ONE(x, channel_element(m, c, p.C, p.inner, p.in_magic, p.in_sh)) - shift;
      s += d;
      q = fma(d, d, q);
    }
  }
  uint lid = gl_LocalInvocationID.x;
  s_sum[lid] = s;
  s_sq[lid] = q;
  barrier();
  for (uint half_size = gl_WorkGroupSize.x / 2u; half_size > 0u; half_size /= 2u) {
    if (lid < half_size) {
      s_sum[lid] += s_sum[lid + half_size];
      s_sq[lid] += s_sq[lid + half_size];
    }
    barrier();
  }
  if (lid == 0u) {
    float ds = s_sum[0] / float((end - begin) * WIDTH); // chunk mean - shift
    // Rounding can leave M2 a little below 0; clamp that, but keep a NaN (max() may drop it).
    float m2 = s_sq[0] - ds * s_sum[0];
    partial[c * p.chunks + k] = vec2(shift + ds, is_nan(m2) ? m2 : max(m2, 0.0));
  }
}
