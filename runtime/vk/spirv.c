#include "vk/spirv.h"

#include <string.h>

const rp_spirv *rp_spirv_find(const char *name) {
  for (const rp_spirv *s = rp_spirv_table; s->name; s++)
    if (strcmp(s->name, name) == 0) return s;
  return NULL;
}
