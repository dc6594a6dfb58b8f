/* Numbers written as text (runtime/io/number.c): the one grammar of command-line values, loss
 * specifications, epsilons and genomes, and the ranges of double, float and integers. Expected
 * values are the compiler's reading of the same literals. */
#include <criterion/criterion.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>

#include "io/number.h"

TestSuite(number);

typedef struct case_double {
  const char *text;
  rp_number_error error;
  double value; /* where error is RP_NUMBER_OK */
} case_double;

Test(number, decimal_numbers_and_nothing_else) {
  static const case_double cases[] = {
      {"0", RP_NUMBER_OK, 0},
      {"-0", RP_NUMBER_OK, -0.0},
      {"+2.5", RP_NUMBER_OK, 2.5},
      {".5", RP_NUMBER_OK, 0.5},
      {"5.", RP_NUMBER_OK, 5},
      {"1e-3", RP_NUMBER_OK, 1e-3},
      {"1E+3", RP_NUMBER_OK, 1e3},
      {"-7.25e2", RP_NUMBER_OK, -725},
      {"0.1", RP_NUMBER_OK, 0.1},
      {"4.9e-324", RP_NUMBER_OK, 4.9e-324}, /* the smallest subnormal is a value */
      {"", RP_NUMBER_SYNTAX, 0},
      {".", RP_NUMBER_SYNTAX, 0},
      {"-", RP_NUMBER_SYNTAX, 0},
      {"e5", RP_NUMBER_SYNTAX, 0},
      {"1e", RP_NUMBER_SYNTAX, 0},
      {"1e+", RP_NUMBER_SYNTAX, 0},
      {"1.2.3", RP_NUMBER_SYNTAX, 0},
      {"--1", RP_NUMBER_SYNTAX, 0},
      {" 1", RP_NUMBER_SYNTAX, 0},
      {"1 ", RP_NUMBER_SYNTAX, 0},
      {"0x10", RP_NUMBER_SYNTAX, 0},
      {"0x1p-4", RP_NUMBER_SYNTAX, 0},
      {"inf", RP_NUMBER_SYNTAX, 0},
      {"-infinity", RP_NUMBER_SYNTAX, 0},
      {"nan", RP_NUMBER_SYNTAX, 0},
      {"1,5", RP_NUMBER_SYNTAX, 0},
      {"1e999", RP_NUMBER_OVERFLOW, 0},
      {"-1e999", RP_NUMBER_OVERFLOW, 0},
      {"1e-999", RP_NUMBER_UNDERFLOW, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const case_double *c = &cases[i];
    double v = 12345;
    rp_number_error e = rp_parse_double(c->text, &v);
    cr_expect_eq(e, c->error, "'%s': error %d, not %d", c->text, e, c->error);
    if (c->error == RP_NUMBER_OK)
      cr_expect(v == c->value && signbit(v) == signbit(c->value), "'%s' read as %.17g", c->text, v);
    else
      cr_expect_eq(v, 12345, "'%s' wrote %g on failure", c->text, v);
  }
}

Test(number, fp32_range) {
  static const case_double cases[] = {
      {"3.4e38", RP_NUMBER_OK, 3.4e38},
      {"-3.4028234e38", RP_NUMBER_OK, -3.4028234e38},
      {"1e-45", RP_NUMBER_OK, 1e-45}, /* rounds to the smallest subnormal float, not 0 */
      {"0", RP_NUMBER_OK, 0},
      {"3.5e38", RP_NUMBER_OVERFLOW, 0},
      {"-1e308", RP_NUMBER_OVERFLOW, 0},
      {"1e-50", RP_NUMBER_UNDERFLOW, 0},
      {"-1e-320", RP_NUMBER_UNDERFLOW, 0},
      {"nan", RP_NUMBER_SYNTAX, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const case_double *c = &cases[i];
    double v = 0;
    rp_number_error e = rp_parse_fp32(c->text, &v);
    cr_expect_eq(e, c->error, "'%s': error %d, not %d", c->text, e, c->error);
    if (c->error == RP_NUMBER_OK) cr_expect(v == c->value, "'%s' read as %.17g", c->text, v);
  }
  /* The edge: half the smallest float rounds to 0 (a tie, to even), a little more does not. */
  double v;
  char text[64];
  snprintf(text, sizeof text, "%.17g", (double)FLT_TRUE_MIN / 2);
  cr_expect_eq(rp_parse_fp32(text, &v), RP_NUMBER_UNDERFLOW, "%s", text);
  cr_expect_eq((float)((double)FLT_TRUE_MIN / 2), 0.0f);
  snprintf(text, sizeof text, "%.17g", (double)FLT_TRUE_MIN * 0.5000001);
  cr_expect_eq(rp_parse_fp32(text, &v), RP_NUMBER_OK, "%s", text);
  cr_expect_gt((float)v, 0.0f);
  snprintf(text, sizeof text, "%.17g", (double)FLT_MAX);
  cr_expect_eq(rp_parse_fp32(text, &v), RP_NUMBER_OK, "%s", text);
  cr_expect_eq((float)v, FLT_MAX);
  /* FLT_MAX printed to 9 digits is above it, and rounds to it; halfway to 2^128 rounds to inf */
  cr_expect(rp_parse_fp32("3.40282347e+38", &v) == RP_NUMBER_OK && (float)v == FLT_MAX);
  snprintf(text, sizeof text, "%.17g", (double)FLT_MAX + 0x1p103);
  cr_expect_eq(rp_parse_fp32(text, &v), RP_NUMBER_OVERFLOW, "%s", text);
  snprintf(text, sizeof text, "%.17g", (double)FLT_MAX + 0x1p102);
  cr_expect_eq(rp_parse_fp32(text, &v), RP_NUMBER_OK, "%s", text);
}

Test(number, integers) {
  long long v = 7;
  cr_expect(rp_parse_integer("42", &v) == RP_NUMBER_OK && v == 42);
  cr_expect(rp_parse_integer("-9223372036854775808", &v) == RP_NUMBER_OK && v == LLONG_MIN);
  cr_expect(rp_parse_integer("+9223372036854775807", &v) == RP_NUMBER_OK && v == LLONG_MAX);
  cr_expect_eq(rp_parse_integer("9223372036854775808", &v), RP_NUMBER_OVERFLOW);
  static const char *const bad[] = {"", "+", "-", " 1", "1 ", "1.0", "1e3", "0x1f", "12a"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = 7;
    cr_expect_eq(rp_parse_integer(bad[i], &v), RP_NUMBER_SYNTAX, "'%s' accepted", bad[i]);
    cr_expect_eq(v, 7, "'%s' wrote %lld on failure", bad[i], v);
  }
}

Test(number, ratios) {
  double v = 0;
  cr_expect(rp_parse_ratio("8/255", &v) == RP_NUMBER_OK && v == 8.0 / 255.0, "%.17g", v);
  cr_expect(rp_parse_ratio("0.25", &v) == RP_NUMBER_OK && v == 0.25, "%.17g", v);
  cr_expect(rp_parse_ratio("-1/4", &v) == RP_NUMBER_OK && v == -0.25, "%.17g", v);
  cr_expect(rp_parse_ratio("1e-3/2", &v) == RP_NUMBER_OK && v == 1e-3 / 2, "%.17g", v);
  static const char *const bad[] = {"1/0",  "1/-2", "/2",      "1/",    "1/2/3", " 1/2",
                                    "1 /2", "1/ 2", "0x8/255", "nan/1", "1//2"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_expect_eq(rp_parse_ratio(bad[i], &v), RP_NUMBER_SYNTAX, "'%s' accepted", bad[i]);
  cr_expect_eq(rp_parse_ratio("1e300/1e-300", &v), RP_NUMBER_OVERFLOW);
}

Test(number, error_texts_end_a_sentence) {
  cr_expect_str_eq(rp_number_error_text(RP_NUMBER_OK, false), "");
  cr_expect_str_eq(rp_number_error_text(RP_NUMBER_SYNTAX, true), "is not a number");
  cr_expect_str_eq(rp_number_error_text(RP_NUMBER_OVERFLOW, true),
                   "is beyond the range of a float (magnitude at most 3.4e38)");
  cr_expect_str_eq(rp_number_error_text(RP_NUMBER_OVERFLOW, false),
                   "is beyond the range of a double");
  cr_expect_str_eq(rp_number_error_text(RP_NUMBER_UNDERFLOW, false),
                   "is too close to 0 to represent");
}
