/* repro eval --checkpoint CKPT [--dataset D] [--loss L] [--fgsm E1,E2,..] [--pgd E1,..]
 *            [--json FILE]
 * Test accuracy and loss of a checkpoint in eval mode (running batch-norm statistics, no
 * dropout), and its accuracy under FGSM and PGD attacks driven by the gradient of --loss, by
 * default the loss the checkpoint was trained with (taylorglo.md section 6: the attack follows
 * the model's own training loss). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/train_args.h"
#include "data/dataset.h"
#include "io/json.h"
#include "io/number.h"
#include "nn/models.h"
#include "train/checkpoint.h"
#include "train/loss_spec.h"
#include "train/trainer.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: repro eval --checkpoint CKPT [--dataset D] [--batch B] [--loss L]\n"
          "                  [--convention code|paper] [--test-images N]\n"
          "                  [--fgsm E1,E2,..] [--pgd E1,E2,..] [--pgd-steps K]\n"
          "                  [--pgd-step-size A] [--eps-mode pixel|normalized]\n"
          "                  [--data-dir DIR] [--device D] [--json FILE]\n"
          "  The model comes from the checkpoint, and the dataset too unless given.\n"
          "  --loss drives the attacks and is the loss reported (default: the loss the\n"
          "  checkpoint was trained with, from its metadata; ce if it names none);\n"
          "  --convention is that of a TaylorGLO --loss (as repro train --help says).\n"
          "  --test-images N evaluates the first N test images (default: all).\n"
          "  eps is on the [0, 1] pixel scale; 'normalized' reproduces the official code\n"
          "  (eps in normalized units, clamp to [0, 1] there). PGD: 10 steps of 2.5 eps/steps.\n");
}

#define MAX_EPS 32

/* "0.1,2/255,0" into eps[]: at most MAX_EPS distinct epsilons in [0, 1], fractions like 8/255
 * accepted (as an experiment file's evaluation.fgsm, whose rules these are). */
static int parse_eps_list(const char *opt, const char *text, double *eps) {
  int n = 0;
  for (const char *p = text;; p++) {
    size_t len = strcspn(p, ",");
    char item[64];
    double v = NAN;
    if (len == 0) { /* an empty item (",", "0.1,,0.2", ""): refused, not skipped */
      rp_cli_usage_error(
          "eval", "%s expects a list of epsilons in [0, 1] (like 0.1,8/255), not '%s'", opt, text);
      return -1;
    }
    bool ok = len < sizeof item && n < MAX_EPS;
    if (ok) memcpy(item, p, len), item[len] = '\0';
    if (!ok || rp_parse_ratio(item, &v) || !(v >= 0 && v <= 1)) {
      rp_cli_usage_error("eval",
                         "%s expects at most %d epsilons in [0, 1] (like 0.1,8/255), not '%s'", opt,
                         MAX_EPS, text);
      return -1;
    }
    for (int k = 0; k < n; k++)
      if (eps[k] == v) {
        rp_cli_usage_error("eval", "%s lists the epsilon %s twice, in '%s'", opt, item, text);
        return -1;
      }
    eps[n++] = v;
    p += len;
    if (!*p) return n;
  }
}

/* The options of repro train that eval takes too (each with a value); training's others would
 * change nothing here, so they are refused rather than ignored. */
static bool eval_takes(const char *opt) {
  static const char *const taken[] = {"--dataset",     "--batch",    "--loss",   "--convention",
                                      "--test-images", "--data-dir", "--device", "--json"};
  for (size_t i = 0; i < sizeof taken / sizeof *taken; i++)
    if (strcmp(opt, taken[i]) == 0) return true;
  return false;
}

static cJSON *attack_json(const char *kind, double eps, double accuracy) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "attack", kind);
  cJSON_AddNumberToObject(j, "eps", eps);
  cJSON_AddNumberToObject(j, "accuracy", accuracy);
  return j;
}

int rp_cmd_eval(int argc, char **argv) {
  int asked = rp_cli_usage_if_asked(argc, argv, usage);
  if (asked >= 0) return asked;
  const char *ckpt = NULL, *json_path = NULL;
  double fgsm[MAX_EPS], pgd[MAX_EPS], pgd_step_size = 0;
  int fgsm_count = 0, pgd_count = 0, pgd_steps = 10;
  bool normalized = false;
  /* --checkpoint and the attack options are ours; everything else is a training option (the
   * model comes from the checkpoint), checked by rp_train_args_parse. Room for the model
   * and dataset taken from the checkpoint is kept at the end. */
  char **rest = calloc((size_t)argc + 4, sizeof *rest);
  if (!rest) return rp_cli_error(rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory"));
  int nrest = 0;
  rest[nrest++] = argv[0];
  int code = 0;
  for (int i = 1; i < argc && !code; i++) {
    const char *opt = argv[i], *v = NULL;
    bool ours = strcmp(opt, "--checkpoint") == 0 || strcmp(opt, "--fgsm") == 0 ||
                strcmp(opt, "--pgd") == 0 || strcmp(opt, "--pgd-steps") == 0 ||
                strcmp(opt, "--pgd-step-size") == 0 || strcmp(opt, "--eps-mode") == 0;
    if (!ours) {
      /* values never start with "--" (rp_cli_take_value), so every such word is an option */
      if (strncmp(opt, "--", 2) == 0 && strcmp(opt, "--help") != 0 && !eval_takes(opt)) {
        if (rp_train_args_option(opt))
          code = rp_cli_usage_error("eval",
                                    "%s is not an option of eval (the model comes from the "
                                    "checkpoint; training options change nothing there)",
                                    opt);
        else
          code = rp_cli_usage_error("eval", "unknown option '%s'", opt);
        break;
      }
      rest[nrest++] = argv[i];
      continue;
    }
    if (!rp_cli_take_value(argc, argv, &i, &v)) {
      code = rp_cli_usage_error("eval", "%s needs a value", opt);
    } else if (!*v) {
      code = rp_cli_usage_error("eval", "%s needs a value, not ''", opt);
    } else if (strcmp(opt, "--checkpoint") == 0) {
      ckpt = v;
    } else if (strcmp(opt, "--fgsm") == 0) {
      if ((fgsm_count = parse_eps_list(opt, v, fgsm)) < 0) code = 2;
    } else if (strcmp(opt, "--pgd") == 0) {
      if ((pgd_count = parse_eps_list(opt, v, pgd)) < 0) code = 2;
    } else if (strcmp(opt, "--pgd-steps") == 0) {
      long long n = 0;
      if (!rp_cli_parse_int("eval", opt, v, 1, 1000, &n)) code = 2;
      pgd_steps = (int)n;
    } else if (strcmp(opt, "--pgd-step-size") == 0) {
      if (!rp_cli_parse_number("eval", opt, v, 0, true, 1, false, &pgd_step_size)) code = 2;
    } else if (strcmp(v, "pixel") == 0 || strcmp(v, "normalized") == 0) { /* --eps-mode */
      normalized = strcmp(v, "normalized") == 0;
    } else {
      code = rp_cli_usage_error("eval", "--eps-mode expects pixel or normalized, not '%s'", v);
    }
  }
  if (!code && !ckpt) code = rp_cli_usage_error("eval", "--checkpoint is required");
  /* PGD's settings without a PGD attack would change nothing: a forgotten --pgd, most likely */
  for (int i = 1; i < argc && !code && pgd_count == 0; i++)
    if (strcmp(argv[i], "--pgd-steps") == 0 || strcmp(argv[i], "--pgd-step-size") == 0)
      code = rp_cli_usage_error("eval", "%s without --pgd E1,.. changes nothing", argv[i]);
  /* and the epsilons' scale without an attack */
  for (int i = 1; i < argc && !code && fgsm_count + pgd_count == 0; i++)
    if (strcmp(argv[i], "--eps-mode") == 0)
      code = rp_cli_usage_error("eval", "--eps-mode without --fgsm or --pgd changes nothing");
  if (!code && !rp_cli_check_readable("eval", "--checkpoint", ckpt)) code = 2;
  if (code) {
    free(rest);
    return code;
  }
  rp_checkpoint_meta meta;
  rp_status st = rp_checkpoint_read_meta(ckpt, &meta);
  const char *model = meta.model, *dataset = meta.dataset;
  if (!st && !rp_model_parse(model, NULL))
    st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s: its metadata names the model '%s', which repro does not build (models: %s)",
                 ckpt, model, rp_model_names);
  bool has_dataset = false, has_loss = false, has_convention = false;
  for (int i = 1; i < nrest; i++) {
    has_dataset |= strcmp(rest[i], "--dataset") == 0;
    has_loss |= strcmp(rest[i], "--loss") == 0;
    has_convention |= strcmp(rest[i], "--convention") == 0;
  }
  /* The checkpoint's own loss is stored in the code convention: a convention is about --loss. */
  if (!st && has_convention && !has_loss) {
    free(rest);
    return rp_cli_usage_error("eval", "--convention applies to --loss, which is not given (the "
                                      "checkpoint's own loss is read as saved)");
  }
  if (!st && !has_dataset && !dataset[0])
    st = rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: no 'dataset' in its metadata: give --dataset", ckpt);
  else if (!st && !has_dataset && !rp_dataset_known(dataset))
    st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s: its metadata names the dataset '%s', which repro does not know: give "
                 "--dataset",
                 ckpt, dataset);
  rp_loss trained_with = {0};
  if (!st && !has_loss && meta.loss[0] && rp_loss_parse(meta.loss, false, &trained_with))
    st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s: its metadata names the loss '%s', which repro cannot read (%s): give --loss",
                 ckpt, meta.loss, rp_error_message());
  if (st) {
    free(rest);
    return rp_cli_error(st);
  }
  char *model_arg[] = {"--model", meta.model};
  rest[nrest++] = model_arg[0], rest[nrest++] = model_arg[1];
  char *dataset_arg[] = {"--dataset", meta.dataset};
  if (!has_dataset) rest[nrest++] = dataset_arg[0], rest[nrest++] = dataset_arg[1];
  rp_train_args a;
  code = rp_train_args_parse(nrest, rest, &a, RP_TRAIN_JSON);
  json_path = a.json;
  free(rest);
  if (code) return 2;              /* --help was handled above; the parser printed the one line */
  if (!has_loss && meta.loss[0]) { /* the training loss, parsed above */
    a.cfg.loss = trained_with;
    rp_loss_format(&a.cfg.loss, a.loss_text, sizeof a.loss_text);
  }
  if (json_path && !rp_cli_check_writable("eval", "--json", json_path)) return 2;
  if (!rp_cli_check_distinct("eval", (const char *[]){"--checkpoint", "--json"},
                             (const char *[]){ckpt, json_path}, 2))
    return 2;
  a.cfg.init_from = ckpt;
  a.cfg.epochs = 1;
  a.cfg.validation = 0;
  a.cfg.eval_only = true; /* the test set alone: the training files need not be there */

  rp_context *ctx;
  st = rp_cli_open_device(a.device, &ctx);
  if (st) return rp_cli_error(st);
  rp_trainer *t = NULL;
  st = rp_trainer_create(ctx, &a.cfg, &t);
  double accuracy = 0, loss = 0;
  if (!st) st = rp_trainer_evaluate(t, RP_SPLIT_TEST, &accuracy, &loss);
  /* NaN logits count as no correct prediction: say what they are rather than "0%". */
  if (!st && isnan(loss))
    st = rp_fail(RP_ERR_DIVERGED,
                 "%s: its test loss is NaN: the weights hold NaN or infinity (saved from a "
                 "diverged run?)",
                 ckpt);
  if (!st)
    printf("%s on %s test set: accuracy %.2f%%, loss %.4f (%s)\n", model, a.cfg.dataset,
           100 * accuracy, loss, a.loss_text);
  cJSON *attacks = cJSON_CreateArray();
  for (int k = 0; k < fgsm_count + pgd_count && !st; k++) {
    bool is_fgsm = k < fgsm_count;
    double eps = is_fgsm ? fgsm[k] : pgd[k - fgsm_count];
    rp_attack attack = {is_fgsm ? RP_ATTACK_FGSM : RP_ATTACK_PGD, eps, pgd_steps,
                        pgd_step_size > 0 ? pgd_step_size : rp_pgd_default_step(eps, pgd_steps),
                        normalized};
    double acc;
    st = rp_trainer_attack(t, RP_SPLIT_TEST, &attack, &acc);
    if (st) break;
    printf("  %-4s eps %.4f (%s): accuracy %.2f%%\n", is_fgsm ? "fgsm" : "pgd", eps,
           normalized ? "normalized" : "pixel", 100 * acc);
    fflush(stdout);
    cJSON_AddItemToArray(attacks, attack_json(is_fgsm ? "fgsm" : "pgd", eps, acc));
  }
  if (st) {
    code = rp_cli_error(st);
  } else {
    if (json_path) {
      cJSON *root = rp_cli_json_header(rp_context_caps(ctx));
      cJSON_AddStringToObject(root, "checkpoint", ckpt);
      cJSON_AddItemToObject(root, "config", rp_train_args_json(&a));
      cJSON_AddNumberToObject(root, "test_accuracy", accuracy);
      cJSON_AddNumberToObject(root, "test_loss", loss);
      cJSON_AddStringToObject(root, "eps_mode", normalized ? "normalized" : "pixel");
      cJSON_AddNumberToObject(root, "pgd_steps", pgd_steps);
      cJSON_AddItemToObject(root, "attacks", attacks);
      attacks = NULL;
      st = rp_json_write_file(json_path, root);
      cJSON_Delete(root);
      code = st ? rp_cli_error(st) : 0;
    }
  }
  cJSON_Delete(attacks);
  rp_trainer_destroy(t);
  rp_context_destroy(ctx);
  return code;
}
