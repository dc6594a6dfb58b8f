#include "io/number.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Whether all of `s` is [+-]digits[.digits][(e|E)[+-]digits] with a digit in the mantissa
 * (".5" and "5." are numbers, "." is not). */
static bool decimal_syntax(const char *s) {
  if (*s == '+' || *s == '-') s++;
  int digits = 0;
  while (is_digit(*s)) s++, digits++;
  if (*s == '.') {
    s++;
    while (is_digit(*s)) s++, digits++;
  }
  if (digits == 0) return false;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-') s++;
    if (!is_digit(*s)) return false;
    while (is_digit(*s)) s++;
  }
  return *s == '\0';
}

rp_number_error rp_parse_double(const char *text, double *out) {
  if (!decimal_syntax(text)) return RP_NUMBER_SYNTAX;
  errno = 0;
  double v = strtod(text, NULL);
  if (errno == ERANGE && isinf(v)) return RP_NUMBER_OVERFLOW;
  if (errno == ERANGE && v == 0) return RP_NUMBER_UNDERFLOW;
  *out = v; /* a subnormal, which strtod also flags, is a value all the same */
  return RP_NUMBER_OK;
}

rp_number_error rp_parse_fp32(const char *text, double *out) {
  double v;
  rp_number_error e = rp_parse_double(text, &v);
  if (e) return e;
  /* FLT_MAX plus half its last place (2^104), halfway to 2^128, and above round to inf;
   * below that, to FLT_MAX, as FLT_MAX's own 9-digit text 3.40282347e+38 does. */
  if (fabs(v) >= (double)FLT_MAX + 0x1p103) return RP_NUMBER_OVERFLOW;
  /* Half the smallest float and below round to a float 0 (a tie goes to the even 0). */
  if (v != 0 && fabs(v) <= (double)FLT_TRUE_MIN / 2) return RP_NUMBER_UNDERFLOW;
  *out = v;
  return RP_NUMBER_OK;
}

rp_number_error rp_parse_integer(const char *text, long long *out) {
  const char *digits = text + (*text == '+' || *text == '-');
  if (!*digits || strspn(digits, "0123456789") != strlen(digits)) return RP_NUMBER_SYNTAX;
  errno = 0;
  long long v = strtoll(text, NULL, 10);
  if (errno == ERANGE) return RP_NUMBER_OVERFLOW;
  *out = v;
  return RP_NUMBER_OK;
}

rp_number_error rp_parse_ratio(const char *text, double *out) {
  const char *slash = strchr(text, '/');
  if (!slash) return rp_parse_double(text, out);
  char numerator[64];
  size_t len = (size_t)(slash - text);
  if (len >= sizeof numerator) return RP_NUMBER_SYNTAX;
  memcpy(numerator, text, len);
  numerator[len] = '\0';
  double n, d;
  rp_number_error e = rp_parse_double(numerator, &n);
  if (!e) e = rp_parse_double(slash + 1, &d);
  if (e) return e;
  if (!(d > 0)) return RP_NUMBER_SYNTAX;
  if (!isfinite(n / d)) return RP_NUMBER_OVERFLOW;
  *out = n / d;
  return RP_NUMBER_OK;
}

const char *rp_number_error_text(rp_number_error e, bool fp32) {
  switch (e) {
  case RP_NUMBER_OK: return "";
  case RP_NUMBER_SYNTAX: return "is not a number";
  case RP_NUMBER_OVERFLOW:
    return fp32 ? "is beyond the range of a float (magnitude at most 3.4e38)"
                : "is beyond the range of a double";
  case RP_NUMBER_UNDERFLOW: return "is too close to 0 to represent";
  }
  return "is not a number";
}
