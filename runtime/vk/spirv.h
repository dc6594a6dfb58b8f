/* The SPIR-V of every shader under shaders/, embedded at build time (cmake/embed_spirv.cmake). */
#ifndef RP_SPIRV_H
#define RP_SPIRV_H

#include <stddef.h>
#include <stdint.h>

typedef struct rp_spirv {
  const char *name; /* the shader's file name without .comp, e.g. "gemm" */
  const uint32_t *words;
  size_t word_count;
} rp_spirv;

/* Terminated by an entry whose name is NULL. */
extern const rp_spirv rp_spirv_table[];

/* The shader called `name`, or NULL. */
const rp_spirv *rp_spirv_find(const char *name);

#endif
