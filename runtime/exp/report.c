/* Reports of an experiment, made only from DIR/runs/<id>.json, DIR/experiment.json (its name and
 * which searches it has) and the searches' states DIR/search/<label>/state.json: summary.md,
 * results.json and figures/<name>.svg.
 *
 * Statistics per loss over its seeds: mean and sample standard deviation, n, and Welch's
 * two-sided t-test against cross-entropy (the loss whose canonical text is "ce"; the first
 * such). A diverged run counts with accuracy 0, as its record says. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp/driver.h"
#include "exp/figures.h"
#include "exp/files.h"
#include "exp/report_parts.h"
#include "exp/runner.h"
#include "exp/stats.h"
#include "exp/text.h"
#include "io/file.h"
#include "io/json.h"

/* ---- reading records */

static double num(const cJSON *o, const char *key) { return rp_exp_json_number(o, key); }

static const char *str(const cJSON *o, const char *key, const char *fallback) {
  return rp_exp_json_string(o, key, fallback);
}

typedef struct group {
  const char *label, *loss;
  int loss_index;
  int *runs, n; /* indices into the records */
} group;

/* The training-loss figure: all losses on one axis, each scaled to [0, 1] over its epochs, or
 * none (loss_figure_kind). */
typedef enum loss_figure { LOSSES_ONE_AXIS, LOSSES_SCALED, LOSSES_NOT_DRAWN } loss_figure;

typedef struct report {
  const char *dir;
  cJSON *experiment; /* NULL if absent */
  cJSON **runs;
  int run_count;
  group *groups;
  int group_count;
  int baseline;                      /* -1: no cross-entropy loss */
  double eps[2][RP_EXP_MAX_ATTACKS]; /* [fgsm, pgd]: every eps of any run, ascending */
  int eps_count[2];
  int max_epoch;
  bool plots; /* PLplot's SVG driver is there: figures are drawn */
  /* The parts of exp/report_parts.h: Markdown sections, the searches' states, and whether
   * their figures were drawn. */
  rp_text searches_md, shapes_md;
  cJSON *searches;
  bool search_figure, shapes_figure;
  loss_figure losses; /* how the training-loss figure draws the losses (loss_figure_kind) */
  bool validated;     /* some run has a validation accuracy: the figure has something to draw */
} report;

static const char *const attack_names[2] = {"fgsm", "pgd"};

static int compare_groups(const void *a, const void *b) {
  const group *x = a, *y = b;
  if (x->loss_index != y->loss_index) return x->loss_index < y->loss_index ? -1 : 1;
  return strcmp(x->label, y->label);
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* A JSON value as a short text for messages: numbers and strings as they are, others by
 * type. */
static void describe(const cJSON *v, char *out, size_t size) {
  if (!v)
    snprintf(out, size, "nothing");
  else if (cJSON_IsString(v))
    snprintf(out, size, "\"%.40s\"", v->valuestring);
  else if (cJSON_IsNumber(v))
    snprintf(out, size, "%g", v->valuedouble);
  else
    snprintf(out, size, "%s",
             cJSON_IsNull(v)    ? "null"
             : cJSON_IsBool(v)  ? "a boolean"
             : cJSON_IsArray(v) ? "an array"
                                : "an object");
}

/* Whether `v` is a number, or (where `nullable`: JSON has no NaN, the records write null for
 * a value that does not exist) null. */
static bool number_or_null(const cJSON *v, bool nullable) {
  return cJSON_IsNumber(v) || (nullable && cJSON_IsNull(v));
}

/* An accuracy or a probability: in [0, 1], or null where not measured. */
static bool fraction_or_null(const cJSON *v) {
  return cJSON_IsNull(v) || (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1);
}

/* The attack results of a record: one for each ε of its $.evaluation, FGSM's then PGD's, in
 * that order (as rp_exp_run_json writes them), each with an accuracy in [0, 1] or null. One
 * missing would show as a gap in the tables, one more as an ε the experiment never asked for. */
static rp_status check_attacks(const char *path, const cJSON *rec) {
  const cJSON *attacks = cJSON_GetObjectItemCaseSensitive(rec, "attacks");
  if (attacks && !cJSON_IsArray(attacks))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: $.attacks: expected an array", path);
  const cJSON *evaluation = cJSON_GetObjectItemCaseSensitive(rec, "evaluation");
  const cJSON *lists[2] = {
      cJSON_GetObjectItemCaseSensitive(evaluation, "fgsm"),
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(evaluation, "pgd"), "eps")};
  int expected = cJSON_GetArraySize(lists[0]) + cJSON_GetArraySize(lists[1]);
  if (cJSON_GetArraySize(attacks) != expected)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: $.attacks: %d results for the %d epsilons of $.evaluation", path,
                   cJSON_GetArraySize(attacks), expected);
  int i = 0;
  for (int kind = 0; kind < 2; kind++) {
    const cJSON *eps;
    cJSON_ArrayForEach(eps, lists[kind]) {
      const cJSON *a = cJSON_GetArrayItem(attacks, i);
      const cJSON *at = cJSON_GetObjectItemCaseSensitive(a, "eps");
      if (!a || strcmp(str(a, "attack", ""), attack_names[kind]) != 0 || !cJSON_IsNumber(at) ||
          !cJSON_IsNumber(eps) || at->valuedouble != eps->valuedouble)
        return rp_fail(RP_ERR_INVALID_ARGUMENT,
                       "%s: $.attacks[%d]: expected %s at eps %.9g, as $.evaluation lists them",
                       path, i, attack_names[kind], cJSON_IsNumber(eps) ? eps->valuedouble : NAN);
      if (!fraction_or_null(cJSON_GetObjectItemCaseSensitive(a, "accuracy")))
        return rp_fail(RP_ERR_INVALID_ARGUMENT,
                       "%s: $.attacks[%d].accuracy: expected a number in [0, 1] or null", path, i);
      i++;
    }
  }
  return RP_OK;
}

/* The per-epoch metrics the figures draw: accuracies and probabilities in [0, 1], or null where
 * not measured (an accuracy of 2 would stretch an axis to 200%). */
static rp_status check_epochs(const char *path, const cJSON *rec) {
  static const char *const fractions[] = {"train_accuracy", "train_true_class_probability",
                                          "val_accuracy", "test_accuracy"};
  const cJSON *epochs = cJSON_GetObjectItemCaseSensitive(rec, "epochs"), *m;
  if (epochs && !cJSON_IsArray(epochs))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: $.epochs: expected an array", path);
  int i = 0;
  cJSON_ArrayForEach(m, epochs) {
    for (size_t k = 0; k < sizeof fractions / sizeof *fractions; k++) {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, fractions[k]);
      if (!fraction_or_null(v)) {
        char got[64];
        describe(v, got, sizeof got);
        return rp_fail(RP_ERR_INVALID_ARGUMENT,
                       "%s: $.epochs[%d].%s: expected a number in [0, 1] or null, got %s", path, i,
                       fractions[k], got);
      }
    }
    i++;
  }
  return RP_OK;
}

/* Checks the fields the report reads from a run record `name` (runs/<name>), so that a record
 * edited by hand or damaged fails with its file and JSON path rather than dropping out of a
 * mean: what rp_exp_run_json writes. Such a record is bad input (RP_ERR_INVALID_ARGUMENT, exit
 * status 2), like a damaged search state or a malformed experiment file. */
rp_status rp_exp_check_record(const char *path, const char *name, const cJSON *rec) {
  char got[64];
  const char *key = NULL;
  const cJSON *v = NULL;
  static const char *const strings[] = {"run_id", "loss_label", "loss", "status"};
  for (size_t i = 0; i < sizeof strings / sizeof *strings && !key; i++)
    if (!cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(rec, strings[i]))) key = strings[i];
  if (key) {
    describe(v, got, sizeof got);
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: $.%s: expected a string, got %s", path, key, got);
  }
  if (!number_or_null(cJSON_GetObjectItemCaseSensitive(rec, "seed_number"), false)) {
    describe(cJSON_GetObjectItemCaseSensitive(rec, "seed_number"), got, sizeof got);
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: $.seed_number: expected a number, got %s", path,
                   got);
  }
  const char *status = str(rec, "status", "");
  if (strcmp(status, "done") != 0 && strcmp(status, "diverged") != 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: $.status: expected \"done\" or \"diverged\", got \"%s\"", path, status);
  /* The file's name is its run's id: a copy under another name would count a run twice. */
  const char *id = str(rec, "run_id", "");
  size_t id_len = strlen(id);
  if (strncmp(name, id, id_len) != 0 || strcmp(name + id_len, ".json") != 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: $.run_id is \"%s\", but the file is named %s: a copy?", path, id, name);
  /* What groups the run in the report agrees with what it was trained as: its id is its label
   * and seed number, and its loss the one of its configuration (a record edited by hand in
   * one place would be counted under another loss, or as no run of the one it trained). */
  char expected_id[160];
  snprintf(expected_id, sizeof expected_id, "%s-s%.0f", str(rec, "loss_label", ""),
           cJSON_GetObjectItemCaseSensitive(rec, "seed_number")->valuedouble);
  if (strcmp(id, expected_id) != 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: $.run_id is \"%s\", but $.loss_label and $.seed_number make \"%s\"", path,
                   id, expected_id);
  const char *config_loss = str(cJSON_GetObjectItemCaseSensitive(rec, "config"), "loss", NULL);
  if (!config_loss || strcmp(config_loss, str(rec, "loss", "")) != 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: $.loss is \"%s\", but $.config.loss is %s%s%s",
                   path, str(rec, "loss", ""), config_loss ? "\"" : "",
                   config_loss ? config_loss : "missing", config_loss ? "\"" : "");
  const cJSON *final = cJSON_GetObjectItemCaseSensitive(rec, "final");
  if (!cJSON_IsObject(final)) {
    describe(final, got, sizeof got);
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: $.final: expected an object, got %s", path, got);
  }
  static const char *const finals[] = {"test_accuracy", "test_loss", "val_accuracy",
                                       "train_true_class_probability"};
  for (size_t i = 0; i < sizeof finals / sizeof *finals; i++) {
    v = cJSON_GetObjectItemCaseSensitive(final, finals[i]);
    bool loss = i == 1, nullable = i > 0; /* a test accuracy is always measured */
    bool ok =
        loss ? number_or_null(v, true) : fraction_or_null(v) && (nullable || !cJSON_IsNull(v));
    if (!ok) {
      describe(v, got, sizeof got);
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: $.final.%s: expected %s, got %s", path,
                     finals[i],
                     loss     ? "a number or null"
                     : i == 0 ? "a number in [0, 1]"
                              : "a number in [0, 1] or null",
                     got);
    }
  }
  rp_status st = check_attacks(path, rec);
  return st ? st : check_epochs(path, rec);
}

/* The directory's records and search states as `repro run` would take them up for `e`, its
 * experiment.json: each record a run of it, made with its configuration and evaluation, each
 * search's files its own (rp_exp_check_resume). A record of another configuration (copied in
 * from elsewhere, or an experiment.json edited since) would be averaged in with the others.
 * (The records are read here and again by load: small files, the whole report of 8 runs took
 * 0.03 s on lavapipe's 2-core machine.) */
static rp_status check_as_run(rp_experiment *e, const char *dir) {
  rp_status st = rp_exp_add_found_losses(e, dir);
  rp_exp_plan plan = {0};
  if (!st) st = rp_exp_make_plan(e, &plan);
  if (!st) st = rp_exp_check_resume(e, &plan, dir);
  rp_exp_plan_free(&plan);
  return st;
}

static rp_status load(report *r) {
  char path[4096];
  snprintf(path, sizeof path, "%s/experiment.json", r->dir);
  if (rp_exp_exists(path)) {
    /* Read once, through the schema (one edited by hand may fail it), and taken in the form
     * repro run writes it: its resolved JSON. */
    rp_experiment e;
    rp_status st = rp_exp_load(path, rp_exp_recipe, &e);
    if (!st && !(r->experiment = rp_exp_to_json(&e)))
      st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
    if (!st) st = check_as_run(&e, r->dir);
    rp_exp_free(&e);
    if (st) return st;
  }
  snprintf(path, sizeof path, "%s/runs", r->dir);
  char **names;
  int count;
  rp_status st = rp_exp_list_json(path, &names, &count);
  if (st) return st;
  r->runs = calloc((size_t)(count ? count : 1), sizeof(cJSON *));
  r->groups = calloc((size_t)(count ? count : 1), sizeof *r->groups);
  if (!r->runs || !r->groups) {
    rp_exp_free_names(names, count);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  }
  for (int i = 0; i < count && names && !st; i++) {
    snprintf(path, sizeof path, "%s/runs/%s", r->dir, names[i]);
    cJSON *rec;
    if ((st = rp_exp_read_json(path, &rec))) break;
    st = rp_exp_check_record(path, names[i], rec);
    /* A record of another experiment would be averaged in with this one's. */
    const char *name = str(r->experiment, "name", NULL), *of = str(rec, "experiment", "");
    if (!st && name && strcmp(of, name) != 0)
      st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: $.experiment is \"%s\", but %s/experiment.json is \"%s\": "
                   "a record of another experiment",
                   path, of, r->dir, name);
    if (st) {
      cJSON_Delete(rec);
      break;
    }
    r->runs[r->run_count++] = rec;
  }
  rp_exp_free_names(names, count);
  if (st) return st;

  r->baseline = -1;
  for (int i = 0; i < r->run_count; i++) {
    const cJSON *rec = r->runs[i];
    const char *label = str(rec, "loss_label", "?");
    group *g = NULL;
    for (int k = 0; k < r->group_count && !g; k++)
      if (r->groups[k].label && strcmp(r->groups[k].label, label) == 0) g = &r->groups[k];
    if (!g) {
      g = &r->groups[r->group_count++];
      g->label = label;
      g->loss = str(rec, "loss", "?");
      double index = num(rec, "loss_index");
      g->loss_index = isfinite(index) ? (int)index : 1 << 30;
      if (!(g->runs = calloc((size_t)r->run_count, sizeof *g->runs)))
        return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    g->runs[g->n++] = i;
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(rec, "attacks")) {
      int kind = strcmp(str(a, "attack", ""), "pgd") == 0;
      double eps = num(a, "eps");
      bool seen = !isfinite(eps);
      for (int k = 0; k < r->eps_count[kind] && !seen; k++)
        seen = fabs(r->eps[kind][k] - eps) < 1e-12;
      if (!seen && r->eps_count[kind] < RP_EXP_MAX_ATTACKS)
        r->eps[kind][r->eps_count[kind]++] = eps;
    }
    int epochs = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rec, "epochs"));
    if (epochs > r->max_epoch) r->max_epoch = epochs;
  }
  qsort(r->groups, (size_t)r->group_count, sizeof *r->groups, compare_groups);
  for (int k = 0; k < 2; k++)
    qsort(r->eps[k], (size_t)r->eps_count[k], sizeof(double), compare_doubles);
  for (int k = 0; k < r->group_count && r->baseline < 0; k++)
    if (strcmp(r->groups[k].loss, "ce") == 0) r->baseline = k;
  return RP_OK;
}

static void unload(report *r) {
  for (int i = 0; i < r->run_count; i++) cJSON_Delete(r->runs[i]);
  for (int k = 0; k < r->group_count; k++) free(r->groups[k].runs);
  free(r->runs);
  free(r->groups);
  cJSON_Delete(r->experiment);
  cJSON_Delete(r->searches);
  free(r->searches_md.s);
  free(r->shapes_md.s);
}

/* ---- the values of a group */

/* The finite values of final.<key> over a group's runs: their count. */
static int final_values(const report *r, const group *g, const char *key, double *out) {
  int n = 0;
  for (int i = 0; i < g->n; i++) {
    double v = num(cJSON_GetObjectItemCaseSensitive(r->runs[g->runs[i]], "final"), key);
    if (isfinite(v)) out[n++] = v;
  }
  return n;
}

static int attack_values(const report *r, const group *g, int kind, double eps, double *out) {
  int n = 0;
  for (int i = 0; i < g->n; i++) {
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(r->runs[g->runs[i]], "attacks")) {
      if ((strcmp(str(a, "attack", ""), "pgd") == 0) != kind || fabs(num(a, "eps") - eps) >= 1e-12)
        continue;
      double v = num(a, "accuracy");
      if (isfinite(v)) out[n++] = v;
      break;
    }
  }
  return n;
}

/* Seed-mean of epochs[e].<key> over the runs that have a finite value there (NaN if none). */
static double epoch_mean(const report *r, const group *g, int epoch, const char *key) {
  double s = 0;
  int n = 0;
  for (int i = 0; i < g->n; i++) {
    const cJSON *e =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r->runs[g->runs[i]], "epochs"), epoch);
    double v = num(e, key);
    if (isfinite(v)) s += v, n++;
  }
  return n ? s / n : NAN;
}

/* Per loss, the seed-mean of `key` at every epoch into ys (r->max_epoch values per loss), as
 * series over the epochs xs. */
static void epoch_series(const report *r, const char *key, double *xs, double *ys,
                         rp_series *series) {
  for (int e = 0; e < r->max_epoch; e++) xs[e] = e + 1;
  for (int gi = 0; gi < r->group_count; gi++) {
    double *y = ys + (size_t)gi * (size_t)r->max_epoch;
    for (int e = 0; e < r->max_epoch; e++) y[e] = epoch_mean(r, &r->groups[gi], e, key);
    series[gi] = (rp_series){r->groups[gi].label, xs, y, r->max_epoch};
  }
}

/* The training losses of different loss functions are not on one scale (cross-entropy near 1,
 * the TaylorGLO losses of taylorglo.md §8 near 68 and 91,700): where their magnitudes differ by
 * more than this factor, one axis would flatten all but the largest, and the figure draws each
 * scaled to [0, 1] over its epochs instead, which keeps what compares, its course (its legend
 * gives each loss's first and last value, so that a loss that barely moved shows as such). With
 * fewer epochs than SCALE_MIN_EPOCHS there is no course to show (a scaled line would only join
 * 0 and 1), and no figure is drawn. */
#define LOSS_SCALES_APART 10.0
#define SCALE_MIN_EPOCHS 3

static loss_figure loss_figure_kind(const report *r) {
  size_t per_group = (size_t)(r->max_epoch ? r->max_epoch : 1);
  size_t groups = (size_t)(r->group_count ? r->group_count : 1);
  double *xs = calloc(per_group, sizeof *xs), *ys = calloc(per_group * groups, sizeof *ys);
  rp_series *series = calloc(groups, sizeof *series);
  bool scaled = false;
  if (xs && ys && series) {
    epoch_series(r, "train_loss", xs, ys, series);
    scaled = rp_series_scales_differ(series, r->group_count, LOSS_SCALES_APART);
  }
  free(xs);
  free(ys);
  free(series);
  if (!scaled) return LOSSES_ONE_AXIS;
  return r->max_epoch < SCALE_MIN_EPOCHS ? LOSSES_NOT_DRAWN : LOSSES_SCALED;
}

/* Whether any loss has a value of `key` at any epoch. */
static bool any_epoch_value(const report *r, const char *key) {
  for (int gi = 0; gi < r->group_count; gi++)
    for (int e = 0; e < r->max_epoch; e++)
      if (isfinite(epoch_mean(r, &r->groups[gi], e, key))) return true;
  return false;
}

static int diverged_count(const report *r, const group *g) {
  int n = 0;
  for (int i = 0; i < g->n; i++)
    n += strcmp(str(r->runs[g->runs[i]], "status", ""), "diverged") == 0;
  return n;
}

/* Runs that finished (did not diverge) no better than chance: their final test accuracy is
 * below 1.5 × chance, 1.5 / classes (for 10 classes the official trainer's 0.15, below which
 * it retries a run, taylorglo.md §5). Such a loss stayed finite but did not train the network,
 * and a reader of a mean of 10% should not have to guess whether repro failed. */
static int at_chance_count(const report *r, const group *g) {
  int n = 0;
  for (int i = 0; i < g->n; i++) {
    const cJSON *run = r->runs[g->runs[i]];
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(run, "config");
    int classes = rp_exp_dataset_classes(str(c, "dataset", ""));
    double acc = num(cJSON_GetObjectItemCaseSensitive(run, "final"), "test_accuracy");
    /* (acc * classes: 1.5 * (1.0 / 10) is 0.15000000000000002, which took 15% as below) */
    n += strcmp(str(run, "status", ""), "done") == 0 && acc * classes < 1.5;
  }
  return n;
}

/* ---- formatting */

static void eps_text(double eps, char *out, size_t size) {
  double k = eps * 255;
  if (eps > 0 && fabs(k - round(k)) < 1e-6 && eps < 0.1)
    snprintf(out, size, "%.0f/255", round(k));
  else
    snprintf(out, size, "%g", eps);
}

/* "mean ± std" in percent (or as is with scale 1); "—" for no values. */
static void stat_text(const double *v, int n, double scale, int digits, char *out, size_t size) {
  if (n == 0)
    snprintf(out, size, "—");
  else if (n == 1)
    snprintf(out, size, "%.*f", digits, scale * v[0]);
  else
    snprintf(out, size, "%.*f ± %.*f", digits, scale * rp_mean(v, n), digits,
             scale * rp_sample_std(v, n));
}

static void p_text(double p, char *out, size_t size) {
  if (!isfinite(p))
    snprintf(out, size, "—");
  else if (p < 1e-4)
    snprintf(out, size, "%.1e", p);
  else
    snprintf(out, size, "%.4f", p);
}

static cJSON *stat_json(const double *v, int n, const double *base, int nb, bool vs_base) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddNumberToObject(j, "n", n);
  double m = rp_mean(v, n), s = rp_sample_std(v, n);
  if (isfinite(m))
    cJSON_AddNumberToObject(j, "mean", m);
  else
    cJSON_AddNullToObject(j, "mean");
  if (isfinite(s))
    cJSON_AddNumberToObject(j, "std", s);
  else
    cJSON_AddNullToObject(j, "std");
  cJSON *values = cJSON_AddArrayToObject(j, "values");
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(values, cJSON_CreateNumber(v[i]));
  if (vs_base) {
    rp_welch w = rp_welch_test(v, n, base, nb);
    cJSON *t = cJSON_AddObjectToObject(j, "welch_vs_baseline");
    if (isfinite(w.p)) {
      cJSON_AddNumberToObject(t, "t", w.t);
      cJSON_AddNumberToObject(t, "df", w.df);
      cJSON_AddNumberToObject(t, "p", w.p);
    } else {
      cJSON_AddNullToObject(t, "p");
    }
  }
  return j;
}

/* ---- summary.md */

/* Whether the ε of the attacks are in normalized units (evaluation.eps_mode "normalized", as
 * the official code measured them), by experiment.json, else by the first record. */
static bool normalized_eps(const report *r) {
  const cJSON *from = r->experiment ? r->experiment : (r->run_count ? r->runs[0] : NULL);
  const cJSON *evaluation = cJSON_GetObjectItemCaseSensitive(from, "evaluation");
  return strcmp(str(evaluation, "eps_mode", ""), "normalized") == 0;
}

static void summary_attack_table(rp_text *t, const report *r, int kind, double *v, double *b) {
  if (!r->eps_count[kind]) return;
  rp_text_put(t, "\n## %s accuracy (%%) by ε\n\n", kind ? "PGD" : "FGSM");
  if (normalized_eps(r))
    rp_text_put(t, "ε in normalized units (eps_mode \"normalized\"): the attack steps in the "
                   "standardized input, where the clamp to [0, 1] acts too, as the official code "
                   "did, so that even ε = 0 can change the images and fall below the clean "
                   "accuracy.\n\n");
  rp_text_put(t, "Mean ± sample std over seeds; in brackets Welch's p-value against %s.\n\n",
              r->baseline >= 0 ? r->groups[r->baseline].label : "cross-entropy (none here)");
  rp_text_put(t, "| loss |");
  for (int k = 0; k < r->eps_count[kind]; k++) {
    char e[32];
    eps_text(r->eps[kind][k], e, sizeof e);
    rp_text_put(t, " ε = %s |", e);
  }
  rp_text_put(t, "\n|---|");
  for (int k = 0; k < r->eps_count[kind]; k++) rp_text_put(t, "---|");
  rp_text_put(t, "\n");
  for (int gi = 0; gi < r->group_count; gi++) {
    const group *g = &r->groups[gi];
    rp_text_put(t, "| %s |", g->label);
    for (int k = 0; k < r->eps_count[kind]; k++) {
      int n = attack_values(r, g, kind, r->eps[kind][k], v);
      char s[64], p[32];
      stat_text(v, n, 100, 2, s, sizeof s);
      rp_text_put(t, " %s", s);
      if (r->baseline >= 0 && gi != r->baseline) {
        int nb = attack_values(r, &r->groups[r->baseline], kind, r->eps[kind][k], b);
        p_text(rp_welch_test(v, n, b, nb).p, p, sizeof p);
        rp_text_put(t, " (p %s)", p);
      }
      rp_text_put(t, " |");
    }
    rp_text_put(t, "\n");
  }
}

/* A line under the test-accuracy table for each loss with runs that ended at chance. */
static void summary_at_chance(rp_text *t, const report *r) {
  for (int gi = 0; gi < r->group_count; gi++) {
    const group *g = &r->groups[gi];
    int n = at_chance_count(r, g);
    if (n)
      rp_text_put(
          t,
          "\n**%s: %d of %d runs ended at chance** (test accuracy below 1.5 / classes): "
          "the loss stayed finite but did not train the network (repro's docs/experiments.md, "
          "*A loss that ends at chance*).\n",
          g->label, n, g->n);
  }
}

/* The training images an epoch of run i (its record's data.train_images; NaN if absent), and
 * whether its data directory held only part of the training set (data.partial). */
static double run_train_images(const report *r, int i) {
  return num(cJSON_GetObjectItemCaseSensitive(r->runs[i], "data"), "train_images");
}

static bool run_partial(const report *r, int i) {
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(r->runs[i], "data");
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "partial"));
}

/* Lines under the header where the runs' data is not what the file asks for, or not the same
 * for every run: runs trained on part of the training set (the data directory held only some
 * of its files), and runs whose epochs had different numbers of images (the data changed
 * between runs, and the means below mix them). */
static void summary_data(rp_text *t, const report *r) {
  int partial = 0;
  for (int i = 0; i < r->run_count; i++) partial += run_partial(r, i);
  if (partial)
    rp_text_put(t,
                "\n**Part of the training set: %d of %d runs** found only some of the dataset's "
                "training files (their records' `data`), and trained on fewer images than the "
                "experiment describes.\n",
                partial, r->run_count);
  /* Each distinct image count once, with the runs that had it (records without one, such as
   * older ones, are left out). */
  int distinct = 0;
  for (int i = 0; i < r->run_count; i++) {
    double n = run_train_images(r, i);
    bool first = isfinite(n);
    for (int k = 0; k < i && first; k++) first = run_train_images(r, k) != n;
    distinct += first;
  }
  if (distinct < 2) return;
  rp_text_put(t, "\n**Runs trained on different data.** Training images an epoch:");
  for (int i = 0, listed = 0; i < r->run_count; i++) {
    double n = run_train_images(r, i);
    bool first = isfinite(n);
    for (int k = 0; k < i && first; k++) first = run_train_images(r, k) != n;
    if (!first) continue;
    rp_text_put(t, "%s %.0f (", listed++ ? ";" : "", n);
    for (int k = i, in_list = 0; k < r->run_count; k++)
      if (run_train_images(r, k) == n)
        rp_text_put(t, "%s%s", in_list++ ? ", " : "", str(r->runs[k], "run_id", "?"));
    rp_text_put(t, ")");
  }
  rp_text_put(t, ". The data changed between runs; the means below mix them.\n");
}

/* The results: test accuracy by loss, runs at chance, accuracy under each attack by eps. */
static void summary_results(rp_text *t, const report *r, double *v, double *b) {
  rp_text_put(t, "\n## Test accuracy\n\n");
  rp_text_put(t,
              "Mean ± sample standard deviation over seeds (a diverged run counts as 0); p: "
              "Welch's two-sided t-test against %s.\n\n",
              r->baseline >= 0 ? r->groups[r->baseline].label
                               : "cross-entropy (no finished run of it yet, or none in the file)");
  rp_text_put(t,
              "| loss | definition | n | diverged | test accuracy (%%) | p vs %s | final mean "
              "true-class probability |\n|---|---|---|---|---|---|---|\n",
              r->baseline >= 0 ? r->groups[r->baseline].label : "ce");
  for (int gi = 0; gi < r->group_count; gi++) {
    const group *g = &r->groups[gi];
    int n = final_values(r, g, "test_accuracy", v);
    char acc[64], p[32] = "—", prob[64];
    stat_text(v, n, 100, 2, acc, sizeof acc);
    if (r->baseline >= 0 && gi != r->baseline) {
      int nb = final_values(r, &r->groups[r->baseline], "test_accuracy", b);
      p_text(rp_welch_test(v, n, b, nb).p, p, sizeof p);
    }
    int np = final_values(r, g, "train_true_class_probability", b);
    stat_text(b, np, 1, 4, prob, sizeof prob);
    rp_text_put(t, "| %s | `%s` | %d | %d | %s | %s | %s |\n", g->label, g->loss, n,
                diverged_count(r, g), acc, p, prob);
  }
  rp_text_put(
      t, "\nThe true-class probability is the training set's running mean over the last epoch.\n");
  summary_at_chance(t, r);
  for (int kind = 0; kind < 2; kind++) summary_attack_table(t, r, kind, v, b);
}

static const char *first_string(const report *r, const char *key, const char *fallback) {
  return r->run_count ? str(r->runs[0], key, fallback) : fallback;
}

static rp_status write_summary(const report *r, double *v, double *b) {
  rp_text t = {0};
  const char *name = r->experiment ? str(r->experiment, "name", NULL) : NULL;
  if (!name) name = first_string(r, "experiment", "experiment");
  rp_text_put(&t, "# %s\n\n", name);
  if (r->run_count) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(r->runs[0], "config");
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(r->runs[0], "device");
    rp_text_put(&t, "%s on %s, epochs: %g, runs: %d (losses: %d). ", str(c, "model", "?"),
                str(c, "dataset", "?"), num(c, "epochs"), r->run_count, r->group_count);
    rp_text_put(&t, "Device: %s (%s). repro %s, commit %s.\n", str(dev, "name", "?"),
                str(dev, "driver_info", str(dev, "driver", "?")),
                first_string(r, "repro_version", "?"), first_string(r, "git_commit", "unknown"));
  } else {
    rp_text_put(&t, "No finished runs yet.\n");
  }
  /* The runs the file lists (its losses times its seeds; a search's best_<label> come on
   * top): a summary of fewer says so. */
  const cJSON *losses = cJSON_GetObjectItemCaseSensitive(r->experiment, "losses");
  const cJSON *seeds = cJSON_GetObjectItemCaseSensitive(r->experiment, "seeds");
  int listed = cJSON_GetArraySize(losses) * cJSON_GetArraySize(seeds), listed_done = 0;
  for (int i = 0; i < r->run_count; i++)
    listed_done += strncmp(str(r->runs[i], "run_id", ""), "best_", 5) != 0;
  if (listed_done < listed)
    rp_text_put(&t,
                "\n**Partial: %d of the %d runs the file lists (losses × seeds) have finished.** "
                "`repro run` resumes the rest.\n",
                listed_done, listed);
  summary_data(&t, r);
  summary_results(&t, r, v, b);
  if (r->searches_md.s) rp_text_put(&t, "%s", r->searches_md.s);
  if (r->shapes_md.s) rp_text_put(&t, "%s", r->shapes_md.s);
  rp_text_put(&t, "\n## Figures\n\n");
  if (!r->plots)
    rp_text_put(&t,
                "Not drawn on this machine (PLplot has no SVG driver here): run `repro report DIR` "
                "where it has one.\n\n");
  if (r->losses == LOSSES_SCALED)
    rp_text_put(&t,
                "- [training loss](figures/train_loss.svg) (each loss scaled to [0, 1] over its "
                "epochs: their values differ by more than %g times)\n",
                LOSS_SCALES_APART);
  else if (r->losses == LOSSES_ONE_AXIS)
    rp_text_put(&t, "- [training loss](figures/train_loss.svg)\n");
  else
    rp_text_put(&t,
                "- training loss: not drawn (the losses' values differ by more than %g times, "
                "too much for one axis, and %d epoch%s too few to compare their courses "
                "scaled; `results.json` has them)\n",
                LOSS_SCALES_APART, r->max_epoch, r->max_epoch == 1 ? " is" : "s are");
  if (r->validated)
    rp_text_put(&t, "- [validation accuracy](figures/val_accuracy.svg)\n");
  else
    rp_text_put(&t, "- validation accuracy: none recorded%s\n",
                num(cJSON_GetObjectItemCaseSensitive(r->experiment, "dataset"), "validation") > 0
                    ? ""
                    : " (no validation split)");
  rp_text_put(&t, "- [test accuracy](figures/test_accuracy.svg)\n");
  rp_text_put(&t, "- [mean true-class probability](figures/true_class_probability.svg)\n");
  for (int kind = 0; kind < 2; kind++)
    if (r->eps_count[kind])
      rp_text_put(&t, "- [%s accuracy vs ε](figures/%s_accuracy.svg)\n", kind ? "PGD" : "FGSM",
                  attack_names[kind]);
  if (r->search_figure) rp_text_put(&t, "- [search progress](figures/search_progress.svg)\n");
  if (r->shapes_figure) rp_text_put(&t, "- [loss shapes](figures/loss_shapes.svg)\n");
  if (t.failed) {
    free(t.s);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory writing the summary");
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/summary.md", r->dir);
  rp_status st = rp_exp_write_atomic(path, t.s ? t.s : "", t.len);
  free(t.s);
  return st;
}

/* ---- results.json */

static rp_status write_results(const report *r, double *v, double *b) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "schema", "repro-results-1");
  if (r->experiment)
    cJSON_AddItemReferenceToObject(j, "experiment", r->experiment);
  else
    cJSON_AddNullToObject(j, "experiment");
  cJSON_AddStringToObject(j, "repro_version", first_string(r, "repro_version", REPRO_VERSION));
  cJSON_AddStringToObject(j, "git_commit", first_string(r, "git_commit", "unknown"));
  const cJSON *dev = r->run_count ? cJSON_GetObjectItemCaseSensitive(r->runs[0], "device") : NULL;
  if (dev)
    cJSON_AddItemReferenceToObject(j, "device", (cJSON *)dev);
  else
    cJSON_AddNullToObject(j, "device");
  /* Runs made on another device or commit than the first are listed, not hidden. */
  cJSON *others = cJSON_AddArrayToObject(j, "runs_on_other_devices_or_commits");
  for (int i = 1; i < r->run_count; i++)
    if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(r->runs[i], "device"), dev, true) ||
        strcmp(str(r->runs[i], "git_commit", ""), first_string(r, "git_commit", "")) != 0)
      cJSON_AddItemToArray(others, cJSON_CreateString(str(r->runs[i], "run_id", "?")));
  /* Runs on part of the training set (summary_data). */
  cJSON *partial = cJSON_AddArrayToObject(j, "runs_on_part_of_the_training_set");
  for (int i = 0; i < r->run_count; i++)
    if (run_partial(r, i))
      cJSON_AddItemToArray(partial, cJSON_CreateString(str(r->runs[i], "run_id", "?")));
  cJSON_AddStringToObject(j, "baseline", r->baseline >= 0 ? r->groups[r->baseline].label : "");
  cJSON *summary = cJSON_AddArrayToObject(j, "summary");
  for (int gi = 0; gi < r->group_count; gi++) {
    const group *g = &r->groups[gi];
    const group *base = r->baseline >= 0 ? &r->groups[r->baseline] : NULL;
    bool vs = base && gi != r->baseline;
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "label", g->label);
    cJSON_AddStringToObject(s, "loss", g->loss);
    cJSON_AddNumberToObject(s, "runs", g->n);
    cJSON_AddNumberToObject(s, "diverged", diverged_count(r, g));
    cJSON_AddNumberToObject(s, "at_chance", at_chance_count(r, g));
    static const char *const finals[] = {"test_accuracy", "val_accuracy", "test_loss",
                                         "train_true_class_probability"};
    for (int k = 0; k < 4; k++) {
      int n = final_values(r, g, finals[k], v), nb = vs ? final_values(r, base, finals[k], b) : 0;
      cJSON_AddItemToObject(s, finals[k], stat_json(v, n, b, nb, vs));
    }
    for (int kind = 0; kind < 2; kind++) {
      cJSON *a = cJSON_AddArrayToObject(s, attack_names[kind]);
      for (int k = 0; k < r->eps_count[kind]; k++) {
        double eps = r->eps[kind][k];
        int n = attack_values(r, g, kind, eps, v);
        int nb = vs ? attack_values(r, base, kind, eps, b) : 0;
        cJSON *e = stat_json(v, n, b, nb, vs);
        cJSON_AddNumberToObject(e, "eps", eps);
        cJSON_AddItemToArray(a, e);
      }
    }
    cJSON *curves = cJSON_AddObjectToObject(s, "epoch_means");
    static const char *const keys[] = {"train_loss", "train_accuracy", "val_accuracy",
                                       "test_accuracy", "train_true_class_probability"};
    for (int k = 0; k < 5; k++) {
      cJSON *c = cJSON_AddArrayToObject(curves, keys[k]);
      for (int e = 0; e < r->max_epoch; e++) {
        double m = epoch_mean(r, g, e, keys[k]);
        cJSON_AddItemToArray(c, isfinite(m) ? cJSON_CreateNumber(m) : cJSON_CreateNull());
      }
    }
    cJSON_AddItemToArray(summary, s);
  }
  if (r->searches) cJSON_AddItemReferenceToObject(j, "searches", r->searches);
  cJSON *runs = cJSON_AddArrayToObject(j, "runs");
  for (int i = 0; i < r->run_count; i++) cJSON_AddItemReferenceToArray(runs, r->runs[i]);
  char path[4096];
  snprintf(path, sizeof path, "%s/results.json", r->dir);
  rp_status st = rp_json_write_file(path, j);
  cJSON_Delete(j); /* references: the records stay */
  return st;
}

/* ---- figures */

/* A value for a legend: whole numbers from 10,000 up (91702, not 9.17e+04), else 4 digits. */
static void legend_value(double v, char *out, size_t size) {
  snprintf(out, size, fabs(v) >= 1e4 ? "%.0f" : "%.4g", v);
}

/* Scales each series to [0, 1] and names its first and last finite raw values in its legend
 * label ("ce: 2.062 to 0.6131"), in labels[gi]. */
static void scale_with_legend(rp_series *series, int count, char (*labels)[160]) {
  for (int gi = 0; gi < count; gi++) {
    double *y = (double *)series[gi].y, first = NAN, last = NAN;
    for (int e = 0; e < series[gi].n; e++)
      if (isfinite(y[e])) last = y[e], first = isnan(first) ? y[e] : first;
    char a[32], b[32];
    legend_value(first, a, sizeof a);
    legend_value(last, b, sizeof b);
    snprintf(labels[gi], sizeof labels[gi], "%s: %s to %s", series[gi].label, a, b);
    series[gi].label = labels[gi];
    rp_series_scale_to_unit(y, series[gi].n);
  }
}

/* Removes figures/FILE, if there, so that summary.md's readers find no figure of an earlier
 * report where this one draws none. */
static rp_status remove_figure(const report *r, const char *file) {
  char path[4096];
  snprintf(path, sizeof path, "%s/figures/%s", r->dir, file);
  if (remove(path) != 0 && errno != ENOENT)
    return rp_fail(RP_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
  return RP_OK;
}

/* A figure of `key` per epoch, one line per loss, times `unit` (100 for percentages); `scaled`:
 * each line scaled to [0, 1]. */
static rp_status curve_figure(const report *r, const char *file, const char *key, const char *title,
                              const char *y_label, double unit, bool scaled, double *xs,
                              double *ys) {
  size_t groups = (size_t)(r->group_count ? r->group_count : 1);
  rp_series *series = calloc(groups, sizeof *series);
  char(*labels)[160] = scaled ? calloc(groups, sizeof *labels) : NULL;
  if (!series || (scaled && !labels)) {
    free(series);
    free(labels);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  }
  epoch_series(r, key, xs, ys, series);
  for (size_t i = 0; i < (size_t)r->group_count * (size_t)r->max_epoch; i++) ys[i] *= unit;
  char path[4096], scaled_title[256], scaled_label[64];
  if (scaled) {
    scale_with_legend(series, r->group_count, labels);
    snprintf(scaled_title, sizeof scaled_title, "%s (each scaled to [0, 1])", title);
    snprintf(scaled_label, sizeof scaled_label, "scaled %s", y_label);
    title = scaled_title, y_label = scaled_label;
  }
  snprintf(path, sizeof path, "%s/figures/%s", r->dir, file);
  rp_status st = rp_plot_lines(path, title, "epoch", y_label, series, r->group_count);
  free(series);
  free(labels);
  return st;
}

/* Accuracy under an attack per ε, one line per loss. The ε are evenly spaced, labelled as in
 * the tables: the grids mix 1/255 steps with the paper's 0.05 ... 0.3, and on a linear axis
 * the small ε, where the losses differ most, would share its first tenth. */
static rp_status attack_figure(const report *r, int kind, double *v, double *ys) {
  rp_series *series = calloc((size_t)(r->group_count ? r->group_count : 1), sizeof *series);
  if (!series) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  double index[RP_EXP_MAX_ATTACKS];
  char texts[RP_EXP_MAX_ATTACKS][32];
  const char *labels[RP_EXP_MAX_ATTACKS];
  for (int k = 0; k < r->eps_count[kind]; k++) {
    index[k] = k;
    eps_text(r->eps[kind][k], texts[k], sizeof texts[k]);
    labels[k] = texts[k];
  }
  for (int gi = 0; gi < r->group_count; gi++) {
    double *y = ys + (size_t)gi * (size_t)RP_EXP_MAX_ATTACKS;
    for (int k = 0; k < r->eps_count[kind]; k++) {
      int n = attack_values(r, &r->groups[gi], kind, r->eps[kind][k], v);
      y[k] = n ? 100 * rp_mean(v, n) : NAN;
    }
    series[gi] = (rp_series){r->groups[gi].label, index, y, r->eps_count[kind]};
  }
  char path[4096], title[64];
  snprintf(path, sizeof path, "%s/figures/%s_accuracy.svg", r->dir, attack_names[kind]);
  snprintf(title, sizeof title, "%s test accuracy vs epsilon", kind ? "PGD" : "FGSM");
  const char *axis =
      normalized_eps(r) ? "epsilon in normalized units (evenly spaced)" : "epsilon (evenly spaced)";
  rp_status st = rp_plot_lines_categorical(path, title, axis, "accuracy (%)", series,
                                           r->group_count, labels, r->eps_count[kind]);
  free(series);
  return st;
}

static rp_status write_figures(const report *r, double *v) {
  char path[4096];
  snprintf(path, sizeof path, "%s/figures", r->dir);
  rp_status st = rp_exp_mkdirs(path);
  if (st) return st;
  size_t per_group =
      (size_t)(r->max_epoch > RP_EXP_MAX_ATTACKS ? r->max_epoch : RP_EXP_MAX_ATTACKS);
  double *xs = calloc(per_group, sizeof *xs);
  double *ys = calloc(per_group * (size_t)(r->group_count ? r->group_count : 1), sizeof *ys);
  if (!xs || !ys) {
    free(xs);
    free(ys);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  }
  /* A figure not drawn is removed, lest summary.md's readers find one from an earlier report. */
  if (r->losses == LOSSES_NOT_DRAWN)
    st = remove_figure(r, "train_loss.svg");
  else
    st = curve_figure(r, "train_loss.svg", "train_loss", "Training loss per epoch", "loss", 1,
                      r->losses == LOSSES_SCALED, xs, ys);
  if (!st && !r->validated)
    st = remove_figure(r, "val_accuracy.svg");
  else if (!st)
    st = curve_figure(r, "val_accuracy.svg", "val_accuracy", "Validation accuracy per epoch",
                      "accuracy (%)", 100, false, xs, ys);
  if (!st)
    st = curve_figure(r, "test_accuracy.svg", "test_accuracy", "Test accuracy per epoch",
                      "accuracy (%)", 100, false, xs, ys);
  if (!st)
    st = curve_figure(r, "true_class_probability.svg", "train_true_class_probability",
                      "Mean true-class probability per epoch", "probability", 1, false, xs, ys);
  for (int kind = 0; kind < 2 && !st; kind++)
    if (r->eps_count[kind]) st = attack_figure(r, kind, v, ys);
  free(xs);
  free(ys);
  return st;
}

/* The searches and the loss shapes (exp/report_parts.h). */
static rp_status report_parts(report *r) {
  rp_status st = rp_exp_report_searches(r->dir, r->experiment, r->plots, &r->searches_md,
                                        &r->searches, &r->search_figure);
  const char **labels = calloc((size_t)(r->group_count ? r->group_count : 1), sizeof *labels);
  const char **losses = calloc((size_t)(r->group_count ? r->group_count : 1), sizeof *losses);
  if (!labels || !losses) {
    free(labels);
    free(losses);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  }
  for (int k = 0; k < r->group_count; k++)
    labels[k] = r->groups[k].label, losses[k] = r->groups[k].loss;
  const cJSON *c = r->run_count ? cJSON_GetObjectItemCaseSensitive(r->runs[0], "config") : NULL;
  if (!st)
    st = rp_exp_report_loss_shapes(r->dir, labels, losses, r->group_count,
                                   rp_exp_dataset_classes(str(c, "dataset", "")), r->plots,
                                   &r->shapes_md, &r->shapes_figure);
  free(labels);
  free(losses);
  if (!st && (r->searches_md.failed || r->shapes_md.failed))
    st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory writing the report");
  return st;
}

rp_status rp_exp_report_results(const char *dir, char **markdown) {
  *markdown = NULL;
  report r = {.dir = dir};
  rp_status st = load(&r);
  double *v = calloc((size_t)(r.run_count ? r.run_count : 1), sizeof *v);
  double *b = calloc((size_t)(r.run_count ? r.run_count : 1), sizeof *b);
  rp_text t = {0};
  if (!st && v && b) summary_results(&t, &r, v, b);
  if (!st && (!v || !b || t.failed)) st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  free(v);
  free(b);
  unload(&r);
  if (st) {
    free(t.s);
    return st;
  }
  *markdown = t.s;
  return RP_OK;
}

rp_status rp_exp_report(const char *dir) {
  char figures[4200];
  snprintf(figures, sizeof figures, "%s/figures", dir);
  rp_file_remove_stale_temporaries(dir); /* of a report killed while writing */
  rp_file_remove_stale_temporaries(figures);
  report r = {.dir = dir, .plots = rp_plot_available()};
  rp_status st = load(&r);
  /* Scratch for one statistic's values over a group's runs and the baseline's. */
  double *v = calloc((size_t)(r.run_count ? r.run_count : 1), sizeof *v);
  double *b = calloc((size_t)(r.run_count ? r.run_count : 1), sizeof *b);
  if (!st && v && b) {
    r.losses = loss_figure_kind(&r);
    r.validated = any_epoch_value(&r, "val_accuracy");
    st = report_parts(&r);
    if (!st) st = write_summary(&r, v, b);
    if (!st) st = write_results(&r, v, b);
    if (!st && r.plots) st = write_figures(&r, v);
  } else if (!st) {
    st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  }
  free(v);
  free(b);
  unload(&r);
  return st;
}
