/* repro taylorglo analyze: everything that can be said about a TaylorGLO loss before training it
 * (the learning-rule decomposition, null epoch, end of training, fixed points, both invariants,
 * label smoothing as a map inside the family) and its loss-shape curves. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/json.h"
#include "meta/taylorglo.h"

#define CURVE_POINTS 201

static const char *usage_text =
    "usage: repro taylorglo analyze --theta a1,a2,a3,a4,a5,a6,t0,t1 [--classes N]\n"
    "                              [--convention code|paper] [--invariant code|softmax]\n"
    "                              [--smoothing ALPHA] [--curves FILE.csv] [--json FILE]\n";

#define USAGE_ERROR(...) rp_cli_usage_error("taylorglo analyze", __VA_ARGS__)

static void print_genome(const char *label, const double *g) {
  printf("  %-22s a1..a6 = %.6g, %.6g, %.6g, %.6g, %.6g, %.6g; theta0 = %.6g, theta1 = %.6g\n",
         label, g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]);
}

static void print_analysis(const rp_taylorglo *t, const rp_tglo_analysis *a,
                           rp_tglo_invariant selected) {
  double code[8], paper[8];
  rp_taylorglo_to_genome(t, RP_TGLO_CODE, code);
  rp_taylorglo_to_genome(t, RP_TGLO_PAPER, paper);
  const int n = a->classes;
  print_genome("code convention:", code);
  print_genome("paper convention:", paper);
  const rp_tglo_coeffs *c = &a->c;
  printf("  f'(x,y) = c1 + c_h y + c_hh y^2 + c_hy x y + c_y x + c_yy x^2\n");
  printf("    c1 = %.6g, c_h = %.6g, c_hh = %.6g, c_hy = %.6g, c_y = %.6g, c_yy = %.6g\n", c->c1,
         c->c_h, c->c_hh, c->c_hy, c->c_y, c->c_yy);
  printf("  null epoch (all outputs 1/%d): A = f'(1,1/n) = %.6g, B = f'(0,1/n) = %.6g, A - B = "
         "%.6g: %s\n",
         n, a->A, a->B, a->A - a->B,
         a->A > a->B ? "learning starts toward the right class"
                     : "learning does not start toward the right class");
  /* rounding of the genome (4/3 typed as 1.3333...) must not turn an exact 0 into a verdict */
  double end_scale = fabs(rp_taylorglo_dfdy(c, 1, 1)) + fabs(rp_taylorglo_dfdy(c, 0, 0));
  double d_end = fabs(a->D_end) <= 1e-12 * end_scale ? 0 : a->D_end;
  printf("  end of training: D_end = f'(1,1) - f'(0,0) = %.6g: %s\n", d_end,
         d_end < 0   ? "pushes away from full confidence (regularizing)"
         : d_end > 0 ? "pushes on toward full confidence"
                     : "no push at full confidence");
  printf("  fixed points p* of f'(1,p) = f'(0,(1-p)/(n-1)) in (0,1): ");
  if (a->fixed_degenerate)
    printf("every p (the equation is identically zero)\n");
  else if (a->fixed_count == 0)
    printf("none\n");
  else
    for (int i = 0; i < a->fixed_count; i++)
      printf("%.6g (%s)%s", a->fixed[i],
             a->fixed_stable[i] ? "stable: training settles there" : "unstable",
             i + 1 < a->fixed_count ? ", " : "\n");
  printf("  invariant code:    c_y + c_yy + c_hy/n = %.6g %s (n-2)(c1 + c_h/n + c_hh/n^2) = %.6g: "
         "%s%s\n",
         a->code_lhs, a->code_valid ? ">=" : "<", a->code_rhs, a->code_valid ? "valid" : "violated",
         selected == RP_TGLO_INV_CODE ? "  [selected]" : "");
  printf("  invariant softmax: A = %.6g %s B = %.6g: %s%s\n", a->A,
         a->softmax_valid ? ">" : "<=", a->B, a->softmax_valid ? "valid" : "violated",
         selected == RP_TGLO_INV_SOFTMAX ? "  [selected]" : "");
  printf("  candidate would be %s under the %s invariant\n",
         rp_taylorglo_valid(a, selected) ? "trained" : "pruned",
         rp_taylorglo_invariant_name(selected));
}

static cJSON *genome_json(const rp_taylorglo *t, rp_tglo_convention conv) {
  double g[8];
  rp_taylorglo_to_genome(t, conv, g);
  return cJSON_CreateDoubleArray(g, 8);
}

static cJSON *analysis_json(const rp_taylorglo *t, const rp_tglo_analysis *a,
                            rp_tglo_invariant selected) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "genome_code", genome_json(t, RP_TGLO_CODE));
  cJSON_AddItemToObject(o, "genome_paper", genome_json(t, RP_TGLO_PAPER));
  cJSON *c = cJSON_AddObjectToObject(o, "coefficients");
  cJSON_AddNumberToObject(c, "c1", a->c.c1);
  cJSON_AddNumberToObject(c, "c_h", a->c.c_h);
  cJSON_AddNumberToObject(c, "c_hh", a->c.c_hh);
  cJSON_AddNumberToObject(c, "c_hy", a->c.c_hy);
  cJSON_AddNumberToObject(c, "c_y", a->c.c_y);
  cJSON_AddNumberToObject(c, "c_yy", a->c.c_yy);
  cJSON_AddNumberToObject(o, "A", a->A);
  cJSON_AddNumberToObject(o, "B", a->B);
  cJSON_AddNumberToObject(o, "A_minus_B", a->A - a->B);
  cJSON_AddNumberToObject(o, "D_end", a->D_end);
  cJSON *fp = cJSON_AddArrayToObject(o, "fixed_points");
  for (int i = 0; i < a->fixed_count; i++) {
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "p", a->fixed[i]);
    cJSON_AddBoolToObject(p, "stable", a->fixed_stable[i]);
    cJSON_AddItemToArray(fp, p);
  }
  cJSON_AddBoolToObject(o, "fixed_points_degenerate", a->fixed_degenerate);
  cJSON *inv = cJSON_AddObjectToObject(o, "invariants");
  cJSON *code = cJSON_AddObjectToObject(inv, "code");
  cJSON_AddNumberToObject(code, "lhs", a->code_lhs);
  cJSON_AddNumberToObject(code, "rhs", a->code_rhs);
  cJSON_AddBoolToObject(code, "valid", a->code_valid);
  cJSON *soft = cJSON_AddObjectToObject(inv, "softmax");
  cJSON_AddNumberToObject(soft, "lhs", a->A);
  cJSON_AddNumberToObject(soft, "rhs", a->B);
  cJSON_AddBoolToObject(soft, "valid", a->softmax_valid);
  cJSON_AddStringToObject(inv, "selected", rp_taylorglo_invariant_name(selected));
  cJSON_AddBoolToObject(inv, "selected_valid", rp_taylorglo_valid(a, selected));
  return o;
}

static int analyze(int argc, char **argv) {
  const char *theta = NULL, *curves = NULL, *json = NULL, *smoothing = NULL;
  int classes = 10;
  rp_tglo_convention conv = RP_TGLO_CODE;
  rp_tglo_invariant inv = RP_TGLO_INV_CODE;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v = NULL;
    bool takes_value = strcmp(opt, "--theta") == 0 || strcmp(opt, "--classes") == 0 ||
                       strcmp(opt, "--convention") == 0 || strcmp(opt, "--invariant") == 0 ||
                       strcmp(opt, "--smoothing") == 0 || strcmp(opt, "--curves") == 0 ||
                       strcmp(opt, "--json") == 0;
    if (!takes_value) return USAGE_ERROR("unknown option '%s'", opt);
    if (!rp_cli_take_value(argc, argv, &i, &v)) return USAGE_ERROR("%s needs a value", opt);
    if (strcmp(opt, "--theta") == 0) {
      theta = v;
    } else if (strcmp(opt, "--classes") == 0) {
      long long n = 0;
      if (!rp_cli_parse_int("taylorglo analyze", opt, v, 2, 1000000, &n)) return 2;
      classes = (int)n;
    } else if (strcmp(opt, "--convention") == 0) {
      if (rp_taylorglo_parse_convention(v, &conv))
        return USAGE_ERROR("--convention: %s", rp_error_message());
    } else if (strcmp(opt, "--invariant") == 0) {
      if (rp_taylorglo_parse_invariant(v, &inv))
        return USAGE_ERROR("--invariant: %s", rp_error_message());
    } else if (strcmp(opt, "--smoothing") == 0) {
      smoothing = v;
    } else if (!*v) { /* --curves, --json */
      return USAGE_ERROR("%s needs a file name, not ''", opt);
    } else if (strcmp(opt, "--curves") == 0) {
      curves = v;
    } else {
      json = v;
    }
  }
  if (!theta) return USAGE_ERROR("--theta is required");
  double g[8];
  if (rp_taylorglo_parse_genome(theta, g)) return USAGE_ERROR("--theta: %s", rp_error_message());
  double alpha = 0;
  if (smoothing && !rp_cli_parse_number("taylorglo analyze", "--smoothing", smoothing, 0, false, 1,
                                        true, &alpha))
    return 2;
  /* The files are checked before the analysis is printed, which a failure would cut short. */
  if (curves && !rp_cli_check_writable("taylorglo analyze", "--curves", curves)) return 2;
  if (json && !rp_cli_check_writable("taylorglo analyze", "--json", json)) return 2;
  if (!rp_cli_check_distinct("taylorglo analyze", (const char *[]){"--curves", "--json"},
                             (const char *[]){curves, json}, 2))
    return 2;

  rp_taylorglo losses[2];
  rp_tglo_analysis an[2];
  losses[0] = rp_taylorglo_from_genome(g, conv);
  rp_status st = rp_taylorglo_analyze(&losses[0], classes, &an[0]);
  if (st) return rp_cli_error(st);
  int count = 1;
  if (smoothing) {
    st = rp_taylorglo_smooth(&losses[0], alpha, classes, &losses[1]);
    if (!st) st = rp_taylorglo_analyze(&losses[1], classes, &an[1]);
    if (st) return rp_cli_error(st);
    count = 2;
  }

  printf("TaylorGLO loss, %d classes, genome given in the %s convention\n", classes,
         conv == RP_TGLO_PAPER ? "paper" : "code");
  print_analysis(&losses[0], &an[0], inv);
  if (smoothing) {
    printf("\nwith labels smoothed by alpha = %g (x' = (1-alpha) x + alpha/n), the same family:\n",
           alpha);
    print_analysis(&losses[1], &an[1], inv);
  }

  if (curves) {
    const char *labels[2] = {"taylorglo", "smoothed"};
    st = rp_taylorglo_write_curves(curves, classes, losses, labels, count, CURVE_POINTS);
    if (st) return rp_cli_error(st);
    printf("\nloss-shape curves (%d points, p = target probability, others uniform) -> %s\n",
           CURVE_POINTS, curves);
  }
  if (json) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "classes", classes);
    cJSON_AddStringToObject(root, "input_convention", conv == RP_TGLO_PAPER ? "paper" : "code");
    cJSON_AddItemToObject(root, "input_genome", cJSON_CreateDoubleArray(g, 8));
    cJSON_AddItemToObject(root, "loss", analysis_json(&losses[0], &an[0], inv));
    if (smoothing) {
      cJSON *s = analysis_json(&losses[1], &an[1], inv);
      cJSON_AddNumberToObject(s, "alpha", alpha);
      cJSON_AddItemToObject(root, "smoothed", s);
    }
    st = rp_json_write_file(json, root);
    cJSON_Delete(root);
    if (st) return rp_cli_error(st);
  }
  return 0;
}

int rp_cmd_taylorglo(int argc, char **argv) {
  if (argc < 2) { /* a bare "repro taylorglo": the usage is the answer */
    fputs(usage_text, stderr);
    return 2;
  }
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "help") == 0 || strcmp(argv[i], "--help") == 0 ||
        strcmp(argv[i], "-h") == 0) {
      fputs(usage_text, stdout);
      return 0;
    }
  if (strcmp(argv[1], "analyze") == 0) return analyze(argc - 1, argv + 1);
  return rp_cli_usage_error("taylorglo", "unknown subcommand '%s' (analyze)", argv[1]);
}
