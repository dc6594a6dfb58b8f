/* The reports' growing string (exp/text.h). */
#include "exp/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void rp_text_put(rp_text *t, const char *fmt, ...) {
  if (t->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is the line above */
    int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      t->failed = true;
      return;
    }
    if (t->s && t->len + (size_t)n < t->cap) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = t->cap ? t->cap : 4096;
    while (cap <= t->len + (size_t)n) cap *= 2;
    char *grown = realloc(t->s, cap);
    if (!grown) {
      t->failed = true;
      return;
    }
    t->s = grown, t->cap = cap;
  }
}
