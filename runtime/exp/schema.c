/* Experiment files: parsing and full validation into rp_experiment. Every problem is reported
 * as "FILE: $.path.to[2].key: expected ..., got VALUE" for the first value at fault, before
 * anything runs or is written. docs/experiments.md is the schema's documentation; keep the two
 * in step. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/split.h"
#include "exp/experiment.h"
#include "exp/files.h"
#include "io/file.h"
#include "io/json.h"
#include "io/number.h"
#include "nn/models.h"
#include "train/loss_spec.h"

/* ---- messages */

/* "FILE: PATH: expected WHAT, got VALUE" (the value as JSON, shortened). */
static rp_status bad(const char *file, const char *path, const char *what, const cJSON *got) {
  char *text = got ? rp_json_print(got, false) : NULL; /* integers whole, up to 2^53 */
  char shown[72];
  /* cJSON reads a number too large for a double (1e400) as infinity and prints it as null */
  if (got && cJSON_IsNumber(got) && !isfinite(got->valuedouble))
    snprintf(shown, sizeof shown, "%s (out of range)", got->valuedouble > 0 ? "inf" : "-inf");
  else if (!text)
    snprintf(shown, sizeof shown, "nothing");
  else if (strlen(text) < sizeof shown)
    snprintf(shown, sizeof shown, "%s", text);
  else
    snprintf(shown, sizeof shown, "%.64s...", text);
  free(text);
  return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %s: expected %s, got %s", file, path, what, shown);
}

static rp_status fail_at(const char *file, const char *path, const char *message) {
  return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: %s: %s", file, path, message);
}

/* path.key, or path["key"] with JSON's escapes where the key is not a plain name, so that a
 * key with a newline or a quote in it still makes a one-line, unambiguous path. */
static void join(char *out, size_t size, const char *path, const char *key) {
  rp_exp_json_path_key(out, size, path, key);
}

static void join_index(char *out, size_t size, const char *path, int i) {
  snprintf(out, size, "%s[%d]", path, i);
}

/* Every key of `obj` must be in `allowed` (NULL-terminated), once. */
static rp_status check_keys(const char *file, const char *path, const cJSON *obj,
                            const char *const *allowed) {
  for (const cJSON *c = obj->child; c; c = c->next) {
    char p[512];
    join(p, sizeof p, path, c->string);
    bool known = false;
    for (const char *const *a = allowed; *a; a++) known |= strcmp(*a, c->string) == 0;
    if (!known) {
      char list[512] = "";
      for (const char *const *a = allowed; *a; a++) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", a == allowed ? "" : ", ", *a);
      }
      char msg[600];
      snprintf(msg, sizeof msg, "unknown key (expected one of: %s)", list);
      return fail_at(file, p, msg);
    }
    for (const cJSON *d = obj->child; d != c; d = d->next)
      if (strcmp(d->string, c->string) == 0) return fail_at(file, p, "duplicate key");
  }
  return RP_OK;
}

/* ---- typed getters: a missing key leaves *out alone (the default) */

static const cJSON *member(const cJSON *obj, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(obj, key);
}

#define MAX_EXACT 9007199254740991.0 /* 2^53 - 1 */

static bool is_integer(const cJSON *v) {
  return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble) &&
         fabs(v->valuedouble) < 9007199254740992.0;
}

static rp_status get_int(const char *file, const char *path, const cJSON *obj, const char *key,
                         int64_t lo, int64_t hi, int64_t *out) {
  const cJSON *v = member(obj, key);
  if (!v) return RP_OK;
  char p[512], what[96];
  join(p, sizeof p, path, key);
  /* beyond 2^53 - 1 a JSON number (a double) holds no longer every integer */
  if (hi > (int64_t)MAX_EXACT) hi = (int64_t)MAX_EXACT;
  snprintf(what, sizeof what, "an integer in %lld..%lld", (long long)lo, (long long)hi);
  if (!is_integer(v) || v->valuedouble < (double)lo || v->valuedouble > (double)hi)
    return bad(file, p, what, v);
  *out = (int64_t)v->valuedouble;
  return RP_OK;
}

static rp_status get_int32(const char *file, const char *path, const cJSON *obj, const char *key,
                           int lo, int hi, int *out) {
  int64_t v = *out;
  rp_status st = get_int(file, path, obj, key, lo, hi, &v);
  *out = (int)v;
  return st;
}

/* A finite number in [lo, hi] (lo excluded when `lo_open`); `what` describes the range. */
static rp_status get_number(const char *file, const char *path, const cJSON *obj, const char *key,
                            double lo, bool lo_open, double hi, const char *what, double *out) {
  const cJSON *v = member(obj, key);
  if (!v) return RP_OK;
  char p[512];
  join(p, sizeof p, path, key);
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
      (lo_open && v->valuedouble == lo) || v->valuedouble > hi)
    return bad(file, p, what, v);
  *out = v->valuedouble;
  return RP_OK;
}

static rp_status get_bool(const char *file, const char *path, const cJSON *obj, const char *key,
                          bool *out) {
  const cJSON *v = member(obj, key);
  if (!v) return RP_OK;
  char p[512];
  join(p, sizeof p, path, key);
  if (!cJSON_IsBool(v)) return bad(file, p, "true or false", v);
  *out = cJSON_IsTrue(v);
  return RP_OK;
}

/* One of `options` (NULL-terminated): *out = its index. */
static rp_status get_enum(const char *file, const char *path, const cJSON *obj, const char *key,
                          const char *const *options, int *out) {
  const cJSON *v = member(obj, key);
  if (!v) return RP_OK;
  char p[512], what[256] = "one of";
  join(p, sizeof p, path, key);
  for (int i = 0; options[i]; i++) {
    size_t len = strlen(what);
    snprintf(what + len, sizeof what - len, "%s\"%s\"", i ? ", " : " ", options[i]);
  }
  if (cJSON_IsString(v))
    for (int i = 0; options[i]; i++)
      if (strcmp(v->valuestring, options[i]) == 0) {
        *out = i;
        return RP_OK;
      }
  return bad(file, p, what, v);
}

/* A name used in file and directory names: 1..63 of [A-Za-z0-9._-], not starting with '.'. */
static bool is_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= RP_EXP_NAME_MAX || s[0] == '.') return false;
  for (const char *c = s; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          *c == '.' || *c == '_' || *c == '-'))
      return false;
  return true;
}

static const char name_what[] = "a name of 1..63 letters, digits, '.', '_' or '-' (not starting "
                                "with '.')";

static rp_status get_name(const char *file, const char *path, const cJSON *obj, const char *key,
                          char *out) {
  const cJSON *v = member(obj, key);
  if (!v) return RP_OK;
  char p[512];
  join(p, sizeof p, path, key);
  if (!cJSON_IsString(v) || !is_name(v->valuestring)) return bad(file, p, name_what, v);
  snprintf(out, RP_EXP_NAME_MAX, "%s", v->valuestring);
  return RP_OK;
}

static rp_status require(const char *file, const char *path, const cJSON *obj, const char *key) {
  if (member(obj, key)) return RP_OK;
  char p[512];
  join(p, sizeof p, path, key);
  return fail_at(file, p, "required key is missing");
}

static rp_status expect_object(const char *file, const char *path, const cJSON *v) {
  return cJSON_IsObject(v) ? RP_OK : bad(file, path, "an object", v);
}

/* ---- model and dataset names (checked here so a typo fails before any run) */

static const char *const dataset_names[] = {"cifar10", "cifar100", "mnist", "fashion-mnist", NULL};

bool rp_exp_dataset_size(const char *dataset, int64_t *train, int64_t *test) {
  if (strncmp(dataset, "cifar", 5) == 0)
    *train = 50000, *test = 10000;
  else if (strcmp(dataset, "mnist") == 0 || strcmp(dataset, "fashion-mnist") == 0)
    *train = 60000, *test = 10000;
  else
    return false;
  return true;
}

int rp_exp_dataset_classes(const char *dataset) {
  return strcmp(dataset, "cifar100") == 0 ? 100 : 10;
}

/* ---- blocks */

static rp_status parse_dataset(const char *file, const cJSON *d, rp_experiment *e) {
  const char *path = "$.dataset";
  static const char *const keys[] = {"name", "dir", "fraction", "validation", "test_images", NULL};
  rp_status st = expect_object(file, path, d);
  if (!st) st = check_keys(file, path, d, keys);
  if (!st) st = require(file, path, d, "name");
  if (st) return st;
  int which = 0;
  if ((st = get_enum(file, path, d, "name", dataset_names, &which))) return st;
  snprintf(e->dataset, sizeof e->dataset, "%s", dataset_names[which]);
  const cJSON *dir = member(d, "dir");
  if (dir) {
    if (!cJSON_IsString(dir) || !dir->valuestring[0] ||
        strlen(dir->valuestring) >= sizeof e->data_dir)
      return bad(file, "$.dataset.dir", "a non-empty path (string)", dir);
    snprintf(e->data_dir, sizeof e->data_dir, "%s", dir->valuestring);
  }
  return RP_OK;
}

/* fraction and validation: after the recipe gave the validation default. */
static rp_status parse_dataset_sizes(const char *file, const cJSON *d, rp_experiment *e) {
  const char *path = "$.dataset";
  rp_status st =
      get_number(file, path, d, "fraction", 0, true, 1, "a number in (0, 1]", &e->fraction);
  if (!st) st = get_int(file, path, d, "validation", 0, 1000000, &e->validation);
  if (!st) st = get_int(file, path, d, "test_images", 0, 1000000, &e->test_images);
  if (st) return st;
  int64_t train, test;
  if (rp_exp_dataset_size(e->dataset, &train, &test) && e->validation >= train) {
    char what[96];
    snprintf(what, sizeof what, "fewer than the %lld training images", (long long)train);
    return bad(file, "$.dataset.validation", what, member(d, "validation"));
  }
  return RP_OK;
}

/* After the training settings: the fraction must leave at least one batch to train on (the
 * trainer would refuse it, but only once the run started). */
static rp_status check_one_batch(const char *file, const cJSON *d, const rp_experiment *e) {
  int64_t train, test;
  if (!rp_exp_dataset_size(e->dataset, &train, &test)) return RP_OK;
  int64_t images = rp_split_keep(train - e->validation, e->fraction);
  if (images >= e->training.batch) return RP_OK;
  char what[160];
  snprintf(what, sizeof what,
           "a fraction leaving at least one batch ($.training.batch %d) of the %lld training "
           "images (it leaves %lld)",
           e->training.batch, (long long)(train - e->validation), (long long)images);
  return bad(file, "$.dataset.fraction", what, member(d, "fraction"));
}

static rp_status parse_training(const char *file, const cJSON *t, rp_exp_training *tr) {
  const char *path = "$.training";
  static const char *const keys[] = {
      "epochs",       "batch",    "lr",      "lr_steps",  "lr_gamma", "momentum",
      "weight_decay", "nesterov", "augment", "max_steps", NULL};
  rp_status st = expect_object(file, path, t);
  if (!st) st = check_keys(file, path, t, keys);
  if (!st) st = get_int32(file, path, t, "epochs", 1, 100000, &tr->epochs);
  if (!st) st = get_int32(file, path, t, "batch", 1, 4096, &tr->batch);
  if (!st) st = get_number(file, path, t, "lr", 0, true, 100, "a number in (0, 100]", &tr->lr);
  if (!st)
    st = get_number(file, path, t, "lr_gamma", 0, true, 10, "a number in (0, 10]", &tr->lr_gamma);
  if (!st)
    st = get_number(file, path, t, "momentum", 0, false, 1, "a number in [0, 1)", &tr->momentum);
  if (!st && tr->momentum >= 1)
    st = bad(file, "$.training.momentum", "a number in [0, 1)", member(t, "momentum"));
  if (!st)
    st = get_number(file, path, t, "weight_decay", 0, false, 1, "a number in [0, 1]",
                    &tr->weight_decay);
  if (!st) st = get_bool(file, path, t, "nesterov", &tr->nesterov);
  if (!st) st = get_int(file, path, t, "max_steps", 0, INT64_MAX, &tr->max_steps);
  if (st) return st;
  const cJSON *steps = member(t, "lr_steps");
  if (steps) {
    const char *what = "a list of at most 8 increasing epochs >= 1";
    if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) > RP_EXP_MAX_LR_STEPS)
      return bad(file, "$.training.lr_steps", what, steps);
    tr->lr_step_count = 0;
    int i = 0;
    for (const cJSON *s = steps->child; s; s = s->next, i++) {
      char p[64];
      join_index(p, sizeof p, "$.training.lr_steps", i);
      int prev = i ? tr->lr_steps[i - 1] : 0;
      if (!is_integer(s) || s->valuedouble <= prev || s->valuedouble > 100000) {
        char w[64];
        snprintf(w, sizeof w, "an integer epoch in %d..100000", prev + 1);
        return bad(file, p, w, s);
      }
      tr->lr_steps[tr->lr_step_count++] = (int)s->valuedouble;
    }
  }
  const cJSON *aug = member(t, "augment");
  if (aug) {
    if (!cJSON_IsArray(aug))
      return bad(file, "$.training.augment", "a list of \"crop\", \"flip\", \"cutout\"", aug);
    tr->crop = tr->flip = tr->cutout = false;
    int i = 0;
    for (const cJSON *a = aug->child; a; a = a->next, i++) {
      char p[64];
      join_index(p, sizeof p, "$.training.augment", i);
      bool *flag = NULL;
      if (cJSON_IsString(a)) {
        if (strcmp(a->valuestring, "crop") == 0)
          flag = &tr->crop;
        else if (strcmp(a->valuestring, "flip") == 0)
          flag = &tr->flip;
        else if (strcmp(a->valuestring, "cutout") == 0)
          flag = &tr->cutout;
      }
      if (!flag) return bad(file, p, "one of \"crop\", \"flip\", \"cutout\"", a);
      if (*flag) return fail_at(file, p, "listed twice");
      *flag = true;
    }
  }
  return RP_OK;
}

static rp_status parse_losses(const char *file, const cJSON *l, rp_experiment *e) {
  const char *path = "$.losses";
  if (!cJSON_IsArray(l) || cJSON_GetArraySize(l) < 1 || cJSON_GetArraySize(l) > 256)
    return bad(file, path, "a list of 1..256 losses", l);
  e->loss_count = cJSON_GetArraySize(l);
  e->losses = calloc((size_t)e->loss_count, sizeof *e->losses);
  if (!e->losses) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  static const char *const keys[] = {"label", "loss", "convention", NULL};
  static const char *const conventions[] = {"code", "paper", NULL};
  int i = 0;
  for (const cJSON *item = l->child; item; item = item->next, i++) {
    char p[64];
    join_index(p, sizeof p, path, i);
    rp_exp_loss *x = &e->losses[i];
    rp_status st = expect_object(file, p, item);
    if (!st) st = check_keys(file, p, item, keys);
    if (!st) st = require(file, p, item, "label");
    if (!st) st = require(file, p, item, "loss");
    if (!st) st = get_name(file, p, item, "label", x->label);
    int convention = 0;
    if (!st) st = get_enum(file, p, item, "convention", conventions, &convention);
    if (st) return st;
    x->paper = convention == 1;
    char lp[96];
    join(lp, sizeof lp, p, "loss");
    const cJSON *spec = member(item, "loss");
    if (!cJSON_IsString(spec) || strlen(spec->valuestring) >= sizeof x->spec)
      return bad(file, lp, "a loss: \"ce\", \"ls:ALPHA\" or \"taylorglo:a1,...,a6,t0,t1\"", spec);
    snprintf(x->spec, sizeof x->spec, "%s", spec->valuestring);
    if (rp_loss_parse(x->spec, x->paper, &x->loss) != RP_OK)
      return fail_at(file, lp, rp_error_message());
    if (x->paper && x->loss.kind != RP_LOSS_TAYLORGLO) {
      char cp[96];
      join(cp, sizeof cp, p, "convention");
      return fail_at(file, cp, "\"paper\" applies only to a taylorglo loss");
    }
    rp_loss_format(&x->loss, x->canonical, sizeof x->canonical);
    for (int j = 0; j < i; j++)
      if (strcmp(e->losses[j].label, x->label) == 0) {
        char msg[128], labp[96];
        join(labp, sizeof labp, p, "label");
        snprintf(msg, sizeof msg, "label \"%s\" is already used by $.losses[%d]", x->label, j);
        return fail_at(file, labp, msg);
      }
  }
  return RP_OK;
}

static rp_status parse_seeds(const char *file, const cJSON *s, rp_experiment *e) {
  const char *path = "$.seeds";
  const char *what = "a count in 1..1000 or a list of 1..1000 distinct integers in 0..1000000";
  if (is_integer(s)) {
    if (s->valuedouble < 1 || s->valuedouble > 1000) return bad(file, path, what, s);
    e->seed_count = (int)s->valuedouble;
    e->seeds = calloc((size_t)e->seed_count, sizeof *e->seeds);
    if (!e->seeds) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < e->seed_count; i++) e->seeds[i] = i + 1;
    return RP_OK;
  }
  if (!cJSON_IsArray(s) || cJSON_GetArraySize(s) < 1 || cJSON_GetArraySize(s) > 1000)
    return bad(file, path, what, s);
  e->seed_count = cJSON_GetArraySize(s);
  e->seeds = calloc((size_t)e->seed_count, sizeof *e->seeds);
  if (!e->seeds) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  int i = 0;
  for (const cJSON *v = s->child; v; v = v->next, i++) {
    char p[64];
    join_index(p, sizeof p, path, i);
    if (!is_integer(v) || v->valuedouble < 0 || v->valuedouble > 1000000)
      return bad(file, p, "an integer in 0..1000000", v);
    e->seeds[i] = (int)v->valuedouble;
    for (int j = 0; j < i; j++)
      if (e->seeds[j] == e->seeds[i]) {
        char msg[96];
        snprintf(msg, sizeof msg, "seed %d is already listed at $.seeds[%d]", e->seeds[i], j);
        return fail_at(file, p, msg);
      }
  }
  return RP_OK;
}

/* An epsilon: a number in [0, 1] or a string "N/D" (e.g. "8/255"). */
static bool parse_eps(const cJSON *v, double *out) {
  if (cJSON_IsNumber(v)) {
    *out = v->valuedouble;
  } else if (cJSON_IsString(v)) {
    /* a ratio: a plain number in a string would be a number written as text */
    if (!strchr(v->valuestring, '/') || rp_parse_ratio(v->valuestring, out)) return false;
  } else {
    return false;
  }
  return isfinite(*out) && *out >= 0 && *out <= 1;
}

static rp_status parse_eps_list(const char *file, const char *path, const cJSON *l, double *eps,
                                int *count) {
  if (!cJSON_IsArray(l) || cJSON_GetArraySize(l) > RP_EXP_MAX_EPS)
    return bad(file, path, "a list of at most 32 epsilons", l);
  *count = 0;
  int i = 0;
  for (const cJSON *v = l->child; v; v = v->next, i++) {
    char p[96];
    join_index(p, sizeof p, path, i);
    double x;
    if (!parse_eps(v, &x))
      return bad(file, p, "an epsilon in [0, 1]: a number or a fraction \"N/D\"", v);
    for (int j = 0; j < i; j++)
      if (fabs(eps[j] - x) < 1e-12) return fail_at(file, p, "epsilon listed twice");
    eps[(*count)++] = x;
  }
  return RP_OK;
}

static rp_status parse_evaluation(const char *file, const cJSON *v, rp_exp_eval *ev) {
  const char *path = "$.evaluation";
  static const char *const keys[] = {"clean", "fgsm", "pgd", "eps_mode", NULL};
  static const char *const modes[] = {"pixel", "normalized", NULL};
  rp_status st = expect_object(file, path, v);
  if (!st) st = check_keys(file, path, v, keys);
  if (!st) st = get_bool(file, path, v, "clean", &ev->clean);
  int mode = 0;
  if (!st) st = get_enum(file, path, v, "eps_mode", modes, &mode);
  if (st) return st;
  ev->normalized = mode == 1;
  const cJSON *f = member(v, "fgsm");
  if (f && (st = parse_eps_list(file, "$.evaluation.fgsm", f, ev->fgsm, &ev->fgsm_count)))
    return st;
  const cJSON *p = member(v, "pgd");
  if (p) {
    const char *pp = "$.evaluation.pgd";
    static const char *const pkeys[] = {"eps", "steps", "step_size", NULL};
    st = expect_object(file, pp, p);
    if (!st) st = check_keys(file, pp, p, pkeys);
    if (!st) st = require(file, pp, p, "eps");
    if (!st) st = get_int32(file, pp, p, "steps", 1, 1000, &ev->pgd_steps);
    if (!st)
      st = get_number(file, pp, p, "step_size", 0, true, 1, "a number in (0, 1]",
                      &ev->pgd_step_size);
    if (!st)
      st = parse_eps_list(file, "$.evaluation.pgd.eps", member(p, "eps"), ev->pgd, &ev->pgd_count);
    if (st) return st;
  }
  return RP_OK;
}

static rp_status parse_search(const char *file, const char *path, const cJSON *v,
                              const rp_experiment *e, bool listed, rp_exp_search *s) {
  static const char *const keys[] = {"label",           "population",  "generations", "sigma0",
                                     "invariant",       "prune",       "fitness",     "fitness_eps",
                                     "epochs",          "retry_below", "retry_epoch", "retries",
                                     "then_train_best", "seed",        NULL};
  static const char *const invariants[] = {"off", "code", "softmax", NULL};
  static const char *const fitnesses[] = {"val_accuracy", "fgsm", NULL};
  /* taylorglo.md §5: CMA-ES's standard population 4 + floor(3 ln 8) = 10, sigma0 1.2, the
   * code's invariant, pruning on, validation accuracy, retry below 0.15 at epoch 10 (3 tries). */
  *s = (rp_exp_search){.label = "search",
                       .population = 10,
                       .generations = 100,
                       .sigma0 = 1.2,
                       .invariant = RP_EXP_INVARIANT_CODE,
                       .prune = true,
                       .fitness = RP_EXP_FITNESS_VAL_ACCURACY,
                       .fitness_eps = 0.1,
                       .epochs = e->training.epochs,
                       .retry_below = 0.15,
                       .retry_epoch = 10,
                       .retries = 2, /* three tries in all, as the reference */
                       .then_train_best = true,
                       .seed = 1};
  int invariant = (int)s->invariant, fitness = (int)s->fitness;
  char p[512];
  rp_status st = expect_object(file, path, v);
  if (!st) st = check_keys(file, path, v, keys);
  if (!st && listed) st = require(file, path, v, "label");
  if (!st) st = get_name(file, path, v, "label", s->label);
  if (!st) st = get_int32(file, path, v, "population", 2, 10000, &s->population);
  if (!st) st = get_int32(file, path, v, "generations", 1, 100000, &s->generations);
  if (!st)
    st = get_number(file, path, v, "sigma0", 0, true, 1000, "a number in (0, 1000]", &s->sigma0);
  if (!st) st = get_enum(file, path, v, "invariant", invariants, &invariant);
  if (!st) st = get_bool(file, path, v, "prune", &s->prune);
  if (!st) st = get_enum(file, path, v, "fitness", fitnesses, &fitness);
  const cJSON *fitness_eps = member(v, "fitness_eps");
  if (!st && fitness_eps && (!parse_eps(fitness_eps, &s->fitness_eps) || s->fitness_eps == 0)) {
    char at[512];
    join(at, sizeof at, path, "fitness_eps");
    st = bad(file, at, "an epsilon in (0, 1]: a number or a fraction \"N/D\"", fitness_eps);
  }
  if (!st) st = get_int32(file, path, v, "epochs", 1, 100000, &s->epochs);
  if (!st)
    st = get_number(file, path, v, "retry_below", 0, false, 1, "a number in [0, 1]",
                    &s->retry_below);
  if (!st) st = get_int32(file, path, v, "retry_epoch", 1, 100000, &s->retry_epoch);
  if (!st) st = get_int32(file, path, v, "retries", 0, 100, &s->retries);
  if (!st) st = get_bool(file, path, v, "then_train_best", &s->then_train_best);
  if (!st) st = get_int32(file, path, v, "seed", 1, 1000000, &s->seed);
  if (st) return st;
  /* Candidates are judged on the validation split. */
  if (e->validation <= 0) {
    return fail_at(file, path,
                   "a search needs a validation split: set $.dataset.validation above 0");
  }
  /* The best loss is trained as the loss "best_<label>": that label must be free and fit. */
  if (s->then_train_best) {
    char found[2 * RP_EXP_NAME_MAX];
    snprintf(found, sizeof found, "best_%s", s->label);
    join(p, sizeof p, path, "label");
    if (strlen(found) >= RP_EXP_NAME_MAX)
      return fail_at(file, p, "at most 58 characters, so that \"best_<label>\" names a loss");
    for (int i = 0; i < e->loss_count; i++)
      if (strcmp(e->losses[i].label, found) == 0) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "the best loss of this search is trained as \"%s\", which $.losses[%d] already "
                 "uses",
                 found, i);
        return fail_at(file, p, msg);
      }
  }
  s->invariant = (rp_exp_invariant)invariant;
  s->fitness = (rp_exp_fitness)fitness;
  /* Pruning needs an invariant to prune by. */
  if (s->prune && s->invariant == RP_EXP_INVARIANT_OFF && member(v, "prune")) {
    join(p, sizeof p, path, "prune");
    return fail_at(file, p, "true needs an invariant (\"code\" or \"softmax\")");
  }
  if (s->invariant == RP_EXP_INVARIANT_OFF) s->prune = false;
  if (member(v, "epochs") && s->epochs > e->training.epochs) {
    char what[64];
    snprintf(what, sizeof what, "at most the %d training epochs", e->training.epochs);
    join(p, sizeof p, path, "epochs");
    return bad(file, p, what, member(v, "epochs"));
  }
  return RP_OK;
}

/* "search": one object, or a list of 1..16 objects with distinct labels. */
static rp_status parse_searches(const char *file, const cJSON *v, rp_experiment *e) {
  bool listed = cJSON_IsArray(v);
  int n = listed ? cJSON_GetArraySize(v) : 1;
  if (listed && (n < 1 || n > 16))
    return bad(file, "$.search", "a search object or a list of 1..16 of them", v);
  if (!listed && !cJSON_IsObject(v))
    return bad(file, "$.search", "a search object or a list of 1..16 of them", v);
  e->searches = calloc((size_t)n, sizeof *e->searches);
  if (!e->searches) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
  e->search_count = n;
  for (int i = 0; i < n; i++) {
    char p[64];
    if (listed)
      join_index(p, sizeof p, "$.search", i);
    else
      snprintf(p, sizeof p, "$.search");
    rp_status st =
        parse_search(file, p, listed ? cJSON_GetArrayItem(v, i) : v, e, listed, &e->searches[i]);
    if (st) return st;
    for (int j = 0; j < i; j++)
      if (strcmp(e->searches[j].label, e->searches[i].label) == 0) {
        char msg[128], lp[96];
        join(lp, sizeof lp, p, "label");
        snprintf(msg, sizeof msg, "label \"%s\" is already used by $.search[%d]",
                 e->searches[i].label, j);
        return fail_at(file, lp, msg);
      }
  }
  return RP_OK;
}

/* ---- the whole file */

/* The line and column (from 1) of `at` in `text`. */
static void place_of(const char *text, const char *at, int *line, int *column) {
  *line = *column = 1;
  for (const char *c = text; c < at && *c; c++) {
    if (*c == '\n')
      ++*line, *column = 1;
    else
      ++*column;
  }
}

/* The first "\u0000" inside a string of the JSON `text`, or NULL. cJSON keeps strings
 * NUL-terminated, so one would end there unseen: "mnist_cnn\u0000x" would read as mnist_cnn. */
static const char *nul_escape(const char *text) {
  bool in_string = false;
  for (const char *p = text; *p; p++) {
    if (*p == '"') in_string = !in_string;
    if (!in_string || *p != '\\') continue;
    if (p[1] == 'u' && strncmp(p + 2, "0000", 4) == 0) return p;
    if (p[1]) p++; /* the escaped character, which may be a quote */
  }
  return NULL;
}

rp_status rp_exp_parse(const char *text, const char *file, rp_exp_recipe_fn recipe,
                       rp_experiment *out) {
  memset(out, 0, sizeof *out);
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(text, &end, true);
  const char *nul = root ? nul_escape(text) : NULL;
  if (nul) {
    int line = 0, column = 0;
    place_of(text, nul, &line, &column);
    cJSON_Delete(root);
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: a string holds \\u0000 (line %d, column %d), which no name, model or loss "
                   "may",
                   file, line, column);
  }
  if (!root) {
    const char *at = end ? end : cJSON_GetErrorPtr();
    int line = 0, column = 0;
    if (at) place_of(text, at, &line, &column);
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: not valid JSON (line %d, column %d)", file, line,
                   column);
  }
  rp_experiment *e = out;
  static const char *const keys[] = {"name",  "dataset",    "model",  "training", "losses",
                                     "seeds", "evaluation", "search", NULL};
  rp_status st = expect_object(file, "$", root);
  if (!st) st = check_keys(file, "$", root, keys);
  if (!st) st = require(file, "$", root, "name");
  if (!st) st = require(file, "$", root, "dataset");
  if (!st) st = require(file, "$", root, "model");
  if (!st) st = require(file, "$", root, "losses");
  if (!st) st = get_name(file, "$", root, "name", e->name);
  if (!st) st = parse_dataset(file, member(root, "dataset"), e);
  const cJSON *model = member(root, "model");
  if (!st && (!cJSON_IsString(model) || !rp_model_parse(model->valuestring, NULL) ||
              strlen(model->valuestring) >= sizeof e->model)) {
    char expected[256];
    snprintf(expected, sizeof expected, "a model: %s", rp_model_names);
    st = bad(file, "$.model", expected, model);
  }
  if (!st) {
    snprintf(e->model, sizeof e->model, "%s", model->valuestring);
    e->fraction = 1;
    e->eval = (rp_exp_eval){.clean = true, .pgd_steps = 10};
    recipe(e->model, e->dataset, &e->training, &e->validation);
    st = parse_dataset_sizes(file, member(root, "dataset"), e);
  }
  const cJSON *training = member(root, "training");
  if (!st && training) st = parse_training(file, training, &e->training);
  if (!st) st = check_one_batch(file, member(root, "dataset"), e);
  if (!st) st = parse_losses(file, member(root, "losses"), e);
  const cJSON *seeds = member(root, "seeds");
  if (!st && seeds) st = parse_seeds(file, seeds, e);
  if (!st && !seeds) { /* the default: one seed, number 1 */
    e->seeds = calloc(1, sizeof *e->seeds);
    if (!e->seeds)
      st = rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory");
    else
      e->seeds[0] = 1, e->seed_count = 1;
  }
  const cJSON *evaluation = member(root, "evaluation");
  if (!st && evaluation) st = parse_evaluation(file, evaluation, &e->eval);
  const cJSON *search = member(root, "search");
  if (!st && search) st = parse_searches(file, search, e);
  cJSON_Delete(root);
  if (st) rp_exp_free(out);
  return st;
}

rp_status rp_exp_load(const char *path, rp_exp_recipe_fn recipe, rp_experiment *out) {
  memset(out, 0, sizeof *out);
  /* A path that names no file is bad input (exit status 2), as a malformed file is; a file that
   * cannot be read is an I/O error. */
  struct stat s;
  bool found = stat(path, &s) == 0;
  if (!found || S_ISDIR(s.st_mode))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "cannot read %s: %s", path,
                   found ? "Is a directory" : strerror(errno));
  /* (checked before reading: /dev/zero would never end) */
  if (!S_ISREG(s.st_mode)) return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: not a regular file", path);
  if (s.st_size > ((off_t)16 << 20))
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: larger than 16 MiB", path);
  char *text;
  size_t size;
  rp_status st = rp_file_read(path, &text, &size);
  if (st) return st;
  st = rp_exp_parse(text, path, recipe, out);
  free(text);
  return st;
}

void rp_exp_free(rp_experiment *exp) {
  free(exp->losses);
  free(exp->seeds);
  free(exp->searches);
  exp->losses = NULL;
  exp->seeds = NULL;
  exp->searches = NULL;
  exp->loss_count = exp->seed_count = exp->search_count = 0;
}
