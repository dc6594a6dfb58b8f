#include "train/loss_spec.h"

#include <stdio.h>
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

void rp_loss_format(const rp_loss *loss, char *out, size_t size) {
  switch (loss->kind) {
  case RP_LOSS_CE: snprintf(out, size, "ce"); return;
  case RP_LOSS_LS: snprintf(out, size, "ls:%g", (double)loss->alpha); return;
  case RP_LOSS_TAYLORGLO: {
    const float *t = loss->theta;
    snprintf(out, size, "taylorglo:%g,%g,%g,%g,%g,%g,%g,%g", (double)t[0], (double)t[1],
             (double)t[2], (double)t[3], (double)t[4], (double)t[5], (double)t[6], (double)t[7]);
    return;
  }
  }
  snprintf(out, size, "?");
}
