#include "train/loss_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/number.h"

/* A number a float holds filling the whole of [text, end), or an error naming it. The loss runs
 * in fp32, where anything beyond FLT_MAX would be inf: refused here, before any training. */
static rp_status parse_number(const char *spec, const char *text, size_t len, float *out) {
  char buf[64];
  if (len == 0 || len >= sizeof buf)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "loss '%s': expected a number", spec);
  memcpy(buf, text, len);
  buf[len] = '\0';
  double v;
  rp_number_error e = rp_parse_fp32(buf, &v);
  if (e)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "loss '%s': '%s' %s", spec, buf,
                   rp_number_error_text(e, true));
  *out = (float)v;
  return RP_OK;
}

rp_status rp_loss_parse(const char *spec, bool paper, rp_loss *out) {
  memset(out, 0, sizeof *out);
  if (strcmp(spec, "ce") == 0) {
    out->kind = RP_LOSS_CE;
    return RP_OK;
  }
  if (strncmp(spec, "ls:", 3) == 0) {
    out->kind = RP_LOSS_LS;
    rp_status st = parse_number(spec, spec + 3, strlen(spec + 3), &out->alpha);
    if (!st && !(out->alpha >= 0 && out->alpha < 1))
      st = rp_fail(RP_ERR_INVALID_ARGUMENT, "loss '%s': alpha must be in [0, 1)", spec);
    return st;
  }
  if (strncmp(spec, "taylorglo:", 10) == 0) {
    out->kind = RP_LOSS_TAYLORGLO;
    const char *p = spec + 10;
    float theta[8];
    for (int i = 0; i < 8; i++) {
      const char *comma = strchr(p, ',');
      size_t len = comma ? (size_t)(comma - p) : strlen(p);
      if ((i < 7) != (comma != NULL))
        return rp_fail(RP_ERR_INVALID_ARGUMENT,
                       "loss '%s': a TaylorGLO loss has 8 parameters a1..a6,t0,t1", spec);
      rp_status st = parse_number(spec, p, len, &theta[i]);
      if (st) return st;
      p += len + 1;
    }
    if (paper)
      rp_taylorglo_paper_to_code(theta, out->theta);
    else
      memcpy(out->theta, theta, sizeof theta);
    return RP_OK;
  }
  return rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "unknown loss '%s' (ce, ls:ALPHA or taylorglo:a1,a2,a3,a4,a5,a6,t0,t1)", spec);
}

/* The shortest of printf's %g forms with 6 to 9 significant digits that reads back as `v`:
 * 6, %g's own, where that is enough (0.1, 8.2896), up to 9, which every float needs at most.
 * Fewer than it takes would make two losses one text: runs of either taken for the other's
 * when a record or state is matched by its loss. */
static void format_float(float v, char *out, size_t size) {
  for (int digits = 6; digits <= 9; digits++) {
    snprintf(out, size, "%.*g", digits, (double)v);
    if (strtof(out, NULL) == v) return;
  }
}

void rp_loss_format(const rp_loss *loss, char *out, size_t size) {
  switch (loss->kind) {
  case RP_LOSS_CE: snprintf(out, size, "ce"); return;
  case RP_LOSS_LS: {
    char alpha[32];
    format_float(loss->alpha, alpha, sizeof alpha);
    snprintf(out, size, "ls:%s", alpha);
    return;
  }
  case RP_LOSS_TAYLORGLO: {
    char t[8][32];
    for (int i = 0; i < 8; i++) format_float(loss->theta[i], t[i], sizeof t[i]);
    snprintf(out, size, "taylorglo:%s,%s,%s,%s,%s,%s,%s,%s", t[0], t[1], t[2], t[3], t[4], t[5],
             t[6], t[7]);
    return;
  }
  }
  snprintf(out, size, "?");
}
