#include "cli/train_args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static bool parse_double(const char *opt, const char *text, double *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (*text == '\0' || *end != '\0' || errno || !isfinite(v)) {
    fprintf(stderr, "repro: %s expects a number, not '%s'\n", opt, text);
    return false;
  }
  *out = v;
  return true;
}

static bool parse_int(const char *opt, const char *text, long long lo, long long hi,
                      long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno || v < lo || v > hi) {
    fprintf(stderr, "repro: %s expects an integer in %lld..%lld, not '%s'\n", opt, lo, hi, text);
    return false;
  }
  *out = v;
  return true;
}

static bool parse_augment(const char *text, rp_augment *aug) {
  *aug = (rp_augment){0};
  if (strcmp(text, "none") == 0) return true;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", text);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (strcmp(tok, "crop") == 0)
      aug->crop = true, aug->crop_pad = 4;
    else if (strcmp(tok, "flip") == 0)
      aug->flip = true;
    else if (strcmp(tok, "cutout") == 0)
      aug->cutout = 16;
    else {
      fprintf(stderr, "repro: --augment: unknown augmentation '%s' (none, crop, flip, cutout)\n",
              tok);
      return false;
    }
  }
  return true;
}

static bool parse_steps(const char *text, rp_train_config *cfg) {
  cfg->lr_step_count = 0;
  if (strcmp(text, "none") == 0) return true;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", text);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    long long v;
    if (cfg->lr_step_count == RP_MAX_LR_STEPS) {
      fprintf(stderr, "repro: --lr-steps takes at most %d epochs\n", RP_MAX_LR_STEPS);
      return false;
    }
    if (!parse_int("--lr-steps", tok, 1, 100000, &v)) return false;
    cfg->lr_steps[cfg->lr_step_count++] = (int)v;
  }
  return true;
}

static const char *value_of(int argc, char **argv, const char *opt) {
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], opt) == 0) return argv[i + 1];
  return NULL;
}

int rp_train_args_parse(int argc, char **argv, rp_train_args *a, const char **save,
                        const char **json) {
  memset(a, 0, sizeof *a);
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  /* The model and dataset first: they choose the defaults the other options override. */
  const char *model = value_of(argc, argv, "--model"), *dataset = value_of(argc, argv, "--dataset");
  rp_train_config_defaults(&a->cfg, model, dataset);
  rp_train_config *c = &a->cfg;
  const char *loss = "ce", *convention = "code";
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--nesterov") == 0) {
      c->nesterov = true;
      continue;
    }
    if (i + 1 >= argc || strncmp(opt, "--", 2) != 0) {
      fprintf(stderr, "repro: unknown argument '%s'\n", opt);
      return 2;
    }
    const char *v = argv[++i];
    long long n = 0;
    bool ok = true;
    if (strcmp(opt, "--model") == 0 || strcmp(opt, "--dataset") == 0) {
    } else if (strcmp(opt, "--data-dir") == 0)
      c->data_dir = v;
    else if (strcmp(opt, "--device") == 0)
      a->device = v;
    else if (strcmp(opt, "--loss") == 0)
      loss = v;
    else if (strcmp(opt, "--convention") == 0)
      convention = v;
    else if (strcmp(opt, "--epochs") == 0)
      ok = parse_int(opt, v, 1, 100000, &n), c->epochs = (int)n;
    else if (strcmp(opt, "--batch") == 0)
      ok = parse_int(opt, v, 1, 4096, &n), c->batch = (int)n;
    else if (strcmp(opt, "--seed") == 0)
      ok = parse_int(opt, v, 0, INT64_MAX, &n), c->seed = (uint64_t)n;
    else if (strcmp(opt, "--max-steps") == 0)
      ok = parse_int(opt, v, 1, INT64_MAX, &n), c->max_steps = n;
    else if (strcmp(opt, "--test-images") == 0)
      ok = parse_int(opt, v, 0, 10000000, &n), c->test_images = n;
    else if (strcmp(opt, "--validation") == 0)
      ok = parse_int(opt, v, 0, 1000000, &n), c->validation = n;
    else if (strcmp(opt, "--lr") == 0)
      ok = parse_double(opt, v, &c->lr);
    else if (strcmp(opt, "--lr-gamma") == 0)
      ok = parse_double(opt, v, &c->lr_gamma);
    else if (strcmp(opt, "--momentum") == 0)
      ok = parse_double(opt, v, &c->momentum);
    else if (strcmp(opt, "--weight-decay") == 0)
      ok = parse_double(opt, v, &c->weight_decay);
    else if (strcmp(opt, "--fraction") == 0)
      ok = parse_double(opt, v, &c->fraction);
    else if (strcmp(opt, "--lr-steps") == 0)
      ok = parse_steps(v, c);
    else if (strcmp(opt, "--augment") == 0)
      ok = parse_augment(v, &c->augment);
    else if (strcmp(opt, "--init") == 0)
      c->init_from = v;
    else if (strcmp(opt, "--save") == 0 && save)
      *save = v;
    else if (strcmp(opt, "--json") == 0 && json)
      *json = v;
    else {
      fprintf(stderr, "repro: unknown option '%s'\n", opt);
      return 2;
    }
    if (!ok) return 2;
  }
  if (!model || !dataset) {
    fprintf(stderr, "repro: --model and --dataset are required\n");
    return 2;
  }
  if (strcmp(convention, "code") != 0 && strcmp(convention, "paper") != 0) {
    fprintf(stderr, "repro: --convention is code or paper, not '%s'\n", convention);
    return 2;
  }
  if (rp_loss_parse(loss, strcmp(convention, "paper") == 0, &c->loss)) {
    fprintf(stderr, "repro: %s\n", rp_error_message());
    return 2;
  }
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
