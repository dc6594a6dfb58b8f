#include "cli/train_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "io/number.h"
#include "nn/models.h"
#include "train/loss_spec.h"

const char *const rp_train_args_help =
    "  --loss L             ce | ls:ALPHA | taylorglo:a1,a2,a3,a4,a5,a6,t0,t1 (default ce)\n"
    "  --convention C       code (default) or paper, for TaylorGLO parameters\n"
    "  --epochs E --batch B --lr LR --lr-steps E1,E2,.. --lr-gamma G\n"
    "  --momentum M --weight-decay W --nesterov\n"
    "                       defaults: the paper's recipe for the model\n"
    "  --seed S             weights, order, augmentation and dropout all follow it (default 1)\n"
    "  --fraction F         train on this fraction of the training portion (default 1)\n"
    "  --validation N       images held out for validation (default 5000 on CIFAR, else 0)\n"
    "  --test-images N      evaluate on the first N test images only (default: all)\n"
    "  --augment A          none, or a list of crop, flip, cutout (default crop,flip on CIFAR)\n"
    "  --max-steps N        stop after N steps (tests and benchmarks)\n"
    "  --init CKPT          start from a checkpoint\n"
    "  --data-dir DIR       where the dataset is (default: the standard search)\n"
    "  --device D           Vulkan device index or name\n";

/* "crop,flip" into *aug; "none" for no augmentation. Each name at most once, as the experiment
 * schema requires. */
static bool parse_augment(const char *cmd, const char *text, rp_augment *aug) {
  *aug = (rp_augment){0};
  if (strcmp(text, "none") == 0) return true;
  const char *p = text;
  bool seen[3] = {false, false, false};
  for (;;) {
    size_t n = strcspn(p, ",");
    int which = n == 4 && strncmp(p, "crop", 4) == 0     ? 0
                : n == 4 && strncmp(p, "flip", 4) == 0   ? 1
                : n == 6 && strncmp(p, "cutout", 6) == 0 ? 2
                                                         : -1;
    if (which < 0 || seen[which]) {
      rp_cli_usage_error(cmd,
                         "--augment expects none or a list of crop, flip, cutout (each once), "
                         "not '%s'",
                         text);
      return false;
    }
    seen[which] = true;
    if (which == 0) aug->crop = true, aug->crop_pad = 4;
    if (which == 1) aug->flip = true;
    if (which == 2) aug->cutout = 16;
    if (p[n] == '\0') return true;
    p += n + 1;
  }
}

/* "100,150" into cfg->lr_steps: at most RP_MAX_LR_STEPS increasing epochs in 1..100000, the
 * experiment schema's rule for $.training.lr_steps; "none" for a constant rate. */
static bool parse_steps(const char *cmd, const char *text, rp_train_config *cfg) {
  cfg->lr_step_count = 0;
  if (strcmp(text, "none") == 0) return true;
  const char *p = text;
  for (;;) {
    size_t len = strcspn(p, ",");
    char item[32];
    long long v = 0;
    int prev = cfg->lr_step_count ? cfg->lr_steps[cfg->lr_step_count - 1] : 0;
    bool fits = len < sizeof item;
    if (fits) memcpy(item, p, len), item[len] = '\0';
    if (!fits || rp_parse_integer(item, &v) || v <= prev || v > 100000 ||
        cfg->lr_step_count == RP_MAX_LR_STEPS) {
      rp_cli_usage_error(cmd,
                         "--lr-steps expects none or at most %d increasing epochs in 1..100000 "
                         "(like 100,150), not '%s'",
                         RP_MAX_LR_STEPS, text);
      return false;
    }
    cfg->lr_steps[cfg->lr_step_count++] = (int)v;
    if (p[len] == '\0') return true;
    p += len + 1;
  }
}

/* Why `dir` cannot be a --data-dir (it is not there, or is no directory), or NULL. */
static const char *not_a_directory(const char *dir) {
  struct stat s;
  if (stat(dir, &s) != 0) return strerror(errno);
  return S_ISDIR(s.st_mode) ? NULL : "not a directory";
}

/* The value of `opt` if the command line has it with a value, else NULL. */
static const char *value_of(int argc, char **argv, const char *opt) {
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], opt) == 0 && strncmp(argv[i + 1], "--", 2) != 0) return argv[i + 1];
  return NULL;
}

/* Whether `opt` is an option that takes a value (the file options only where the command has
 * them: `files`). */
static bool takes_value(const char *opt, unsigned files) {
  static const char *const options[] = {
      "--model",   "--dataset",  "--data-dir", "--device",       "--loss",        "--convention",
      "--epochs",  "--batch",    "--seed",     "--max-steps",    "--test-images", "--validation",
      "--lr",      "--lr-gamma", "--momentum", "--weight-decay", "--fraction",    "--lr-steps",
      "--augment", "--init",     NULL};
  for (const char *const *o = options; *o; o++)
    if (strcmp(opt, *o) == 0) return true;
  return ((files & RP_TRAIN_SAVE) && strcmp(opt, "--save") == 0) ||
         ((files & RP_TRAIN_JSON) && strcmp(opt, "--json") == 0) ||
         ((files & RP_TRAIN_STATE) && strcmp(opt, "--state") == 0);
}

bool rp_train_args_option(const char *opt) {
  return takes_value(opt, RP_TRAIN_SAVE | RP_TRAIN_JSON | RP_TRAIN_STATE) ||
         strcmp(opt, "--nesterov") == 0;
}

int rp_train_args_parse(int argc, char **argv, rp_train_args *a, unsigned files) {
  const char *cmd = argv[0]; /* "train" or "eval", for the hint after an error */
  memset(a, 0, sizeof *a);
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  /* The model and dataset first: they choose the defaults the other options override. */
  const char *model = value_of(argc, argv, "--model"), *dataset = value_of(argc, argv, "--dataset");
  rp_train_config_defaults(&a->cfg, model, dataset);
  rp_train_config *c = &a->cfg;
  const char *loss = "ce", *convention = "code";
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v = NULL;
    if (strcmp(opt, "--nesterov") == 0) {
      c->nesterov = true;
      continue;
    }
    if (strncmp(opt, "--", 2) != 0) return rp_cli_usage_error(cmd, "unexpected argument '%s'", opt);
    if (!takes_value(opt, files)) return rp_cli_usage_error(cmd, "unknown option '%s'", opt);
    if (!rp_cli_take_value(argc, argv, &i, &v))
      return rp_cli_usage_error(cmd, "%s needs a value", opt);
    long long n = 0;
    bool ok = true;
    /* Ranges as the experiment schema (exp/schema.c) has them, so that a configuration tried
     * here is one an experiment file accepts. */
    if (strcmp(opt, "--model") == 0) {
      if (!rp_model_parse(v, NULL))
        return rp_cli_usage_error(cmd, "--model: unknown model '%s' (models: %s)", v,
                                  rp_model_names);
    } else if (strcmp(opt, "--dataset") == 0) {
      if (!rp_dataset_known(v))
        return rp_cli_usage_error(
            cmd, "--dataset: unknown dataset '%s' (cifar10, cifar100, mnist, fashion-mnist)", v);
    } else if (strcmp(opt, "--data-dir") == 0 || strcmp(opt, "--device") == 0 ||
               strcmp(opt, "--init") == 0 || strcmp(opt, "--save") == 0 ||
               strcmp(opt, "--json") == 0 || strcmp(opt, "--state") == 0) {
      /* An empty value would silently mean "the default" further down. */
      if (!*v) return rp_cli_usage_error(cmd, "%s needs a value, not ''", opt);
      const char *why = strcmp(opt, "--data-dir") == 0 ? not_a_directory(v) : NULL;
      if (why) return rp_cli_usage_error(cmd, "--data-dir %s: %s", v, why);
      if (strcmp(opt, "--data-dir") == 0) c->data_dir = v;
      if (strcmp(opt, "--device") == 0) a->device = v;
      if (strcmp(opt, "--init") == 0) c->init_from = v;
      if (strcmp(opt, "--save") == 0) a->save = v;
      if (strcmp(opt, "--json") == 0) a->json = v;
      if (strcmp(opt, "--state") == 0) a->state = v;
    } else if (strcmp(opt, "--loss") == 0) {
      loss = v;
    } else if (strcmp(opt, "--convention") == 0) {
      if (strcmp(v, "code") != 0 && strcmp(v, "paper") != 0)
        return rp_cli_usage_error(cmd, "--convention expects code or paper, not '%s'", v);
      convention = v;
    } else if (strcmp(opt, "--epochs") == 0) {
      ok = rp_cli_parse_int(cmd, opt, v, 1, 100000, &n), c->epochs = (int)n;
    } else if (strcmp(opt, "--batch") == 0) {
      ok = rp_cli_parse_int(cmd, opt, v, 1, 4096, &n), c->batch = (int)n;
    } else if (strcmp(opt, "--seed") == 0) {
      /* at most 2^53 - 1: a double holds it, so the JSON files write it exactly */
      ok = rp_cli_parse_int(cmd, opt, v, 0, (INT64_C(1) << 53) - 1, &n), c->seed = (uint64_t)n;
    } else if (strcmp(opt, "--max-steps") == 0) {
      ok = rp_cli_parse_int(cmd, opt, v, 1, INT64_MAX, &n), c->max_steps = n;
    } else if (strcmp(opt, "--test-images") == 0) {
      ok = rp_cli_parse_int(cmd, opt, v, 0, 1000000, &n), c->test_images = n;
    } else if (strcmp(opt, "--validation") == 0) {
      ok = rp_cli_parse_int(cmd, opt, v, 0, 1000000, &n), c->validation = n;
    } else if (strcmp(opt, "--lr") == 0) {
      ok = rp_cli_parse_number(cmd, opt, v, 0, true, 100, false, &c->lr);
    } else if (strcmp(opt, "--lr-gamma") == 0) {
      ok = rp_cli_parse_number(cmd, opt, v, 0, true, 10, false, &c->lr_gamma);
    } else if (strcmp(opt, "--momentum") == 0) {
      ok = rp_cli_parse_number(cmd, opt, v, 0, false, 1, true, &c->momentum);
    } else if (strcmp(opt, "--weight-decay") == 0) {
      ok = rp_cli_parse_number(cmd, opt, v, 0, false, 1, false, &c->weight_decay);
    } else if (strcmp(opt, "--fraction") == 0) {
      ok = rp_cli_parse_number(cmd, opt, v, 0, true, 1, false, &c->fraction);
    } else if (strcmp(opt, "--lr-steps") == 0) {
      ok = parse_steps(cmd, v, c);
    } else { /* --augment, the last of takes_value's list */
      ok = parse_augment(cmd, v, &c->augment);
    }
    if (!ok) return 2;
  }
  if (!model || !dataset)
    return rp_cli_usage_error(cmd, "%s",
                              !model && !dataset ? "--model and --dataset are required"
                              : !model           ? "--model is required"
                                                 : "--dataset is required");
  if (rp_loss_parse(loss, strcmp(convention, "paper") == 0, &c->loss))
    return rp_cli_usage_error(cmd, "--loss: %s", rp_error_message());
  if (strcmp(convention, "paper") == 0 && c->loss.kind != RP_LOSS_TAYLORGLO) /* as the schema */
    return rp_cli_usage_error(cmd, "--convention paper applies only to a taylorglo loss, not '%s'",
                              loss);
  rp_loss_format(&c->loss, a->loss_text, sizeof a->loss_text);
  return 0;
}

cJSON *rp_train_args_json(const rp_train_args *a) {
  const rp_train_config *c = &a->cfg;
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "model", c->model);
  cJSON_AddStringToObject(j, "dataset", c->dataset);
  cJSON_AddStringToObject(j, "loss", a->loss_text);
  cJSON_AddNumberToObject(j, "epochs", c->epochs);
  cJSON_AddNumberToObject(j, "batch", c->batch);
  cJSON_AddNumberToObject(j, "lr", c->lr);
  cJSON *steps = cJSON_AddArrayToObject(j, "lr_steps");
  for (int i = 0; i < c->lr_step_count; i++)
    cJSON_AddItemToArray(steps, cJSON_CreateNumber(c->lr_steps[i]));
  cJSON_AddNumberToObject(j, "lr_gamma", c->lr_gamma);
  cJSON_AddNumberToObject(j, "momentum", c->momentum);
  cJSON_AddNumberToObject(j, "weight_decay", c->weight_decay);
  cJSON_AddBoolToObject(j, "nesterov", c->nesterov);
  cJSON_AddNumberToObject(j, "seed", (double)c->seed);
  cJSON_AddNumberToObject(j, "fraction", c->fraction);
  cJSON_AddNumberToObject(j, "validation", (double)c->validation);
  if (c->test_images) cJSON_AddNumberToObject(j, "test_images", (double)c->test_images);
  cJSON *aug = cJSON_AddObjectToObject(j, "augment");
  cJSON_AddBoolToObject(aug, "crop", c->augment.crop);
  cJSON_AddNumberToObject(aug, "crop_pad", c->augment.crop_pad);
  cJSON_AddBoolToObject(aug, "flip", c->augment.flip);
  cJSON_AddNumberToObject(aug, "cutout", c->augment.cutout);
  if (c->max_steps) cJSON_AddNumberToObject(j, "max_steps", (double)c->max_steps);
  return j;
}
