// Per-channel work shared by the batch-norm, bias and normalize shaders. A tensor is viewed as
// [N, C, inner] (inner = H*W, or 1 for [N, C]); channel c holds M = N*inner elements, the m-th
// of which sits at (m / inner * C + c) * inner + m % inner.
//
// Every one of these shaders runs a workgroup per (channel c, chunk k of `chunk` consecutive
// elements of the channel): the channel is then the same across the workgroup, so per-channel
// values are uniform loads (scalar on CPU drivers, one cache line on GPUs) rather than a gather
// per element, which on lavapipe costs as much as the data itself; and reductions need no
// atomics. Within a chunk, invocation l takes elements l, l + workgroup size, ...: consecutive
// invocations touch consecutive addresses within a row of `inner`.
//
// The division by inner is by a value known only at run time, which is a scalar divide per
// SIMD lane on CPU drivers (x86 has no vector integer division) and would cost more than the
// memory traffic. So the host passes a multiplier and a shift (batchnorm.c: magic_for) and the
// division is one 32x32->64-bit multiply and a shift, exact for every m below 2^31 (the host
// refuses larger tensors).
//
// The push constants of every such shader start with:
//   uint C, inner, M, chunk, chunks, in_magic, in_sh;
//
// The batch-norm shaders take four elements at a time (VEC4 = 1) where inner is a multiple of
// 4, as in every convolution map of the paper's networks: the tensor is then [N, C, inner / 4]
// of vec4s, and inner, M and chunk count vec4s. Else they read one float at a time. Their
// tensor inputs are vec4 texel buffers either way in the texel variants (texel.glsl), which on
// lavapipe read four floats as fast as one.
layout(constant_id = 2) const uint VEC4 = 0;
const uint WIDTH = 1u + 3u * VEC4; // elements per index

// n / d, given magic = floor(2^(31+sh) / d) + 1 and sh = ceil(log2(d)).
uint div_magic(uint n, uint magic, uint sh) {
  if (sh == 0u) return n; // d == 1
  uint hi, lo;
  umulExtended(n, magic, hi, lo);
  return hi >> (sh - 1u);
}

// This workgroup's channel c, chunk k and element range [begin, end) of the channel; false
// (for the whole workgroup alike) past the last chunk.
bool channel_chunk(uint C, uint M, uint chunk, uint chunks, out uint c, out uint k,
                   out uint begin, out uint end) {
  uint w = flat_workgroup();
  if (w >= C * chunks) return false;
  c = w / chunks;
  k = w - c * chunks;
  begin = k * chunk;
  end = min(begin + chunk, M);
  return true;
}

// The flat index of element m of channel c.
uint channel_element(uint m, uint c, uint C, uint inner, uint in_magic, uint in_sh) {
  uint n = div_magic(m, in_magic, in_sh);
  return (n * C + c) * inner + (m - n * inner);
}
