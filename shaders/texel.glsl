// The inputs of a shader built in two variants (the line "// variants: texel" in its source;
// CMakeLists.txt): storage buffers (TEXEL 0, NAME), or uniform texel buffers (TEXEL 1,
// NAME_texel). lavapipe reads a storage buffer one SIMD lane at a time, with a bounds check
// each, but a texel buffer with the CPU's vector gathers: streaming reads measured 2.5-5 times
// as fast (runtime/ops/dispatch.h: rp_texel_reads picks the variant). Outputs stay storage
// buffers: writes through a storage texel buffer measured no faster.
//
//   INPUT4(b, name)     binding b holds vec4s, read as LOAD4(name, i); LOAD4_ONE(name, i) is
//                       float i of them (a tail of fewer than four, or a shader's float path)
//   INPUT1(b, name)     binding b holds floats (R32_SFLOAT texels), read as LOAD1(name, i);
//                       LOAD1_IF(name, cond, i) is cond ? LOAD1(name, i) : 0.0, whose texel
//                       fetch takes index 0 where cond is false, so that no lane's index leaves
//                       the view whichever lanes the driver runs the fetch for
#ifndef TEXEL_GLSL
#define TEXEL_GLSL

#if TEXEL
#define INPUT4(b, name) layout(set = 0, binding = b) uniform samplerBuffer name
#define LOAD4(name, i) texelFetch(name, int(i))
#define LOAD4_ONE(name, i) texelFetch(name, int((i) / 4u))[(i) % 4u]
#define INPUT1(b, name) layout(set = 0, binding = b) uniform samplerBuffer name
#define LOAD1(name, i) texelFetch(name, int(i)).x
#define LOAD1_IF(name, cond, i) ((cond) ? LOAD1(name, (cond) ? (i) : 0u) : 0.0)
#else
#define INPUT4(b, name)                                                                          \
  layout(set = 0, binding = b) readonly buffer name##_ { vec4 name[]; };                         \
  layout(set = 0, binding = b) readonly buffer name##_one_ { float name##_one[]; }
#define LOAD4(name, i) name[i]
#define LOAD4_ONE(name, i) name##_one[i]
#define INPUT1(b, name) layout(set = 0, binding = b) readonly buffer name##_ { float name[]; }
#define LOAD1(name, i) name[i]
#define LOAD1_IF(name, cond, i) ((cond) ? name[i] : 0.0)
#endif

#endif
