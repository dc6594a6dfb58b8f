/* A growing string for the reports' Markdown: printf-style appends; an allocation failure is
 * remembered (`failed`) rather than checked at every call. */
#ifndef RP_EXP_TEXT_H
#define RP_EXP_TEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rp_text {
  char *s; /* NULL until the first append */
  size_t len, cap;
  bool failed;
} rp_text;

__attribute__((format(printf, 2, 3))) void rp_text_put(rp_text *t, const char *fmt, ...);

#endif
