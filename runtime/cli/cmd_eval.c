/* repro eval --checkpoint CKPT --dataset D [--json FILE]: test accuracy and loss of a
 * checkpoint, in eval mode (running batch-norm statistics, no dropout). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/train_args.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "vk/caps_json.h"

static void usage(FILE *out) {
  fprintf(out, "usage: repro eval --checkpoint CKPT [--dataset D] [--batch B] [--loss L]\n"
               "                  [--data-dir DIR] [--device D] [--json FILE]\n"
               "  the model comes from the checkpoint, and the dataset too unless given\n");
}

int rp_cmd_eval(int argc, char **argv) {
  const char *ckpt = NULL, *json_path = NULL;
  /* --checkpoint is ours; everything else is a training option (the model comes from the
   * checkpoint). */
  char *rest[64];
  int nrest = 0;
  rest[nrest++] = argv[0];
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--checkpoint") == 0 && i + 1 < argc) ckpt = argv[++i];
    else if (nrest < 60) rest[nrest++] = argv[i];
  }
  if (!ckpt) {
    usage(stderr);
    return 2;
  }
  char model[64], dataset[64];
  rp_status st = rp_checkpoint_model(ckpt, model, sizeof model, dataset, sizeof dataset);
  if (st) return rp_cli_error(st);
  char *model_arg[] = {"--model", model};
  rest[nrest++] = model_arg[0], rest[nrest++] = model_arg[1];
  bool has_dataset = false;
  for (int i = 1; i < nrest; i++) has_dataset |= strcmp(rest[i], "--dataset") == 0;
  char *dataset_arg[] = {"--dataset", dataset};
  if (!has_dataset) rest[nrest++] = dataset_arg[0], rest[nrest++] = dataset_arg[1];
  rp_train_args a;
  int code = rp_train_args_parse(nrest, rest, &a, NULL, &json_path);
  if (code == 1) {
    usage(stdout);
    return 0;
  }
  if (code) return 2;
  a.cfg.init_from = ckpt;
  a.cfg.epochs = 1;
  a.cfg.validation = 0;

  rp_context *ctx;
  st = rp_context_create(&(rp_context_options){.device = a.device}, &ctx);
  if (st) return rp_cli_error(st);
  rp_trainer *t = NULL;
  st = rp_trainer_create(ctx, &a.cfg, &t);
  double accuracy = 0, loss = 0;
  if (!st) st = rp_trainer_evaluate(t, RP_SPLIT_TEST, &accuracy, &loss);
  if (st) {
    code = rp_cli_error(st);
  } else {
    printf("%s on %s test set: accuracy %.2f%%, loss %.4f (%s)\n", model, a.cfg.dataset,
           100 * accuracy, loss, a.loss_text);
    if (json_path) {
      cJSON *root = cJSON_CreateObject();
      cJSON_AddStringToObject(root, "repro_version", REPRO_VERSION);
      cJSON_AddStringToObject(root, "checkpoint", ckpt);
      cJSON_AddItemToObject(root, "device", rp_caps_to_json(rp_context_caps(ctx)));
      cJSON_AddItemToObject(root, "config", rp_train_args_json(&a));
      cJSON_AddNumberToObject(root, "test_accuracy", accuracy);
      cJSON_AddNumberToObject(root, "test_loss", loss);
      st = rp_write_json_file(json_path, root);
      cJSON_Delete(root);
      code = st ? rp_cli_error(st) : 0;
    }
  }
  rp_trainer_destroy(t);
  rp_context_destroy(ctx);
  return code;
}
