/* Numbers written as text: command-line values, loss specifications ("ls:0.1"), epsilons
 * ("8/255"), TaylorGLO genomes, environment variables.
 *
 * One grammar for all of them, decimal as people and printf write numbers: an optional sign,
 * digits with at most one '.' among them (at least one digit), and an optional exponent ('e' or
 * 'E', an optional sign, digits). strtod alone also takes leading spaces, hexadecimal ("0x1p-4"),
 * "inf" and "nan": a typo or a stray space would become a number, or no number, silently. */
#ifndef RP_IO_NUMBER_H
#define RP_IO_NUMBER_H

#include <stdbool.h>

typedef enum rp_number_error {
  RP_NUMBER_OK = 0,
  RP_NUMBER_SYNTAX,    /* not a number of the grammar above (or, for integers, not digits) */
  RP_NUMBER_OVERFLOW,  /* beyond the range of the type */
  RP_NUMBER_UNDERFLOW, /* not 0, but nearer 0 than the type can hold: it would read as 0 */
} rp_number_error;

/* The whole of `text` as a double. */
rp_number_error rp_parse_double(const char *text, double *out);

/* The whole of `text` as a double that a float holds: not one that rounds to a float infinity
 * or 0 (losses train in fp32, where such values would be inf or 0). The value is the double
 * read, not rounded to float. */
rp_number_error rp_parse_fp32(const char *text, double *out);

/* The whole of `text` as an integer: an optional sign and decimal digits. */
rp_number_error rp_parse_integer(const char *text, long long *out);

/* A number, or a ratio of two, "N/D" (epsilons are written "8/255"): N/D for D > 0, else
 * RP_NUMBER_SYNTAX. */
rp_number_error rp_parse_ratio(const char *text, double *out);

/* What is wrong, as the end of a sentence naming the text: "is not a number", "is beyond the
 * range of a float (magnitude at most 3.4e38)", ...; `fp32` for rp_parse_fp32's errors. "" for
 * RP_NUMBER_OK. */
const char *rp_number_error_text(rp_number_error e, bool fp32);

#endif
