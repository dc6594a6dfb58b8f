/* repro train --model M --dataset D [options]: one training run, with a progress line on a
 * terminal, per-epoch metrics in a JSON file (rewritten atomically after every epoch, so an
 * interrupted run keeps what it finished), an optional checkpoint, and an optional state file
 * that an interrupted run goes on from. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/train_args.h"
#include "exp/files.h"
#include "io/file.h"
#include "io/json.h"
#include "nn/models.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

/* `text` after `column` characters of a line, broken after commas to stay within 90
 * characters, each further line indented to `column`. */
static void print_wrapped(FILE *out, const char *text, int column) {
  int at = column;
  while (*text) {
    size_t word = strcspn(text, ",") + (text[strcspn(text, ",")] == ',');
    if (at > column && at + (int)word > 90) {
      fprintf(out, "\n%*s", column, "");
      at = column;
      while (*text == ' ') text++, word--;
    }
    fprintf(out, "%.*s", (int)word, text);
    at += (int)word, text += word;
  }
  fputc('\n', out);
}

static void usage(FILE *out) {
  fprintf(out, "usage: repro train --model M --dataset D [options]\n"
               "  --model M            ");
  print_wrapped(out, rp_model_names, 23);
  fprintf(out,
          "  --dataset D          cifar10, cifar100, mnist, fashion-mnist\n"
          "%s"
          "  --save CKPT          write the trained weights (safetensors, PyTorch names)\n"
          "  --json FILE          per-epoch metrics, the configuration, the device and how the\n"
          "                       run ended (status done, diverged or failed, with the error)\n"
          "  --state FILE         keep the run's state in FILE after an epoch (at most once a\n"
          "                       minute: REPRO_STATE_INTERVAL); the same command, FILE\n"
          "                       holding a state, goes on from it. Removed when the run ends\n",
          rp_train_args_help);
}

typedef struct run_log {
  cJSON *root, *epochs;
  const char *json_path;
  rp_cli_progress progress;
  bool json_failed; /* the last write of json_path failed (its error printed once) */
  rp_trainer *trainer;
  rp_state_saver saver; /* --state */
} run_log;

static void on_progress(const rp_progress *p, void *user) {
  run_log *log = user;
  rp_cli_progress_show(&log->progress, p);
}

static void on_epoch(const rp_epoch_metrics *m, void *user) {
  run_log *log = user;
  rp_state_saver_epoch(&log->saver, log->trainer);
  rp_cli_progress_clear(&log->progress);
  printf("epoch %3d  lr %.4g  train loss %.4f acc %.2f%% p(true) %.3f", m->epoch, m->lr,
         m->train_loss, 100 * m->train_accuracy, m->train_true_prob);
  if (isfinite(m->val_accuracy)) printf("  val %.2f%%", 100 * m->val_accuracy);
  printf("  test %.2f%% (loss %.4f)  %.1f s, %.0f img/s\n", 100 * m->test_accuracy, m->test_loss,
         m->seconds, m->images_per_second);
  fflush(stdout);
  cJSON_AddItemToArray(log->epochs, rp_epoch_metrics_json(m));
  if (!log->json_path) return;
  /* The whole file is rewritten each epoch, so a later write that works makes up for an
   * earlier failure; the training goes on either way (the checkpoint may still be saved), and
   * the error is printed once rather than after every epoch. */
  bool failed = rp_json_write_file(log->json_path, log->root) != RP_OK;
  if (failed && !log->json_failed) fprintf(stderr, "repro: --json: %s\n", rp_error_message());
  log->json_failed = failed;
}

/* What --state's file is saved under: the resolved configuration and the checkpoint it
 * started from (the seed in hex too: a double holds only 53 bits of it). Caller frees. */
static char *state_fingerprint(const rp_train_args *a) {
  cJSON *j = rp_train_args_json(a);
  char seed[24];
  snprintf(seed, sizeof seed, "%016llx", (unsigned long long)a->cfg.seed);
  cJSON_AddStringToObject(j, "seed_hex", seed);
  if (a->cfg.init_from) cJSON_AddStringToObject(j, "init", a->cfg.init_from);
  char *text = rp_json_print(j, false);
  cJSON_Delete(j);
  return text;
}

/* A state saved under another configuration: refused, naming the first option that differs
 * (by its key in the configuration, as --json writes it). */
static rp_status check_state_config(const char *path, const char *fingerprint) {
  char *saved = NULL;
  int epochs = 0;
  if (rp_trainer_state_read(path, &saved, &epochs) != RP_OK) return RP_OK; /* restore says */
  char at[256] = "$", then_text[96] = "?", now_text[96] = "?";
  rp_status st = RP_OK;
  if (saved && rp_exp_json_text_difference(saved, fingerprint, "$", at, sizeof at, then_text,
                                           now_text, sizeof now_text))
    st = rp_fail(RP_ERR_INVALID_ARGUMENT,
                 "%s was saved by a run configured otherwise (%s: %s then, %s now): remove it to "
                 "train this run from the start",
                 path, at, then_text, now_text);
  free(saved);
  return st;
}

/* Takes the run up from --state's file where it holds a state: its epochs join the metrics. */
static rp_status resume(run_log *log, const rp_train_args *a) {
  if (access(a->state, F_OK) != 0) return RP_OK;
  rp_status st = check_state_config(a->state, log->saver.fingerprint);
  if (st) return st;
  st = rp_trainer_restore_state(log->trainer, a->state, log->saver.fingerprint);
  if (st) return st;
  int done = 0;
  const rp_epoch_metrics *h = rp_trainer_history(log->trainer, &done);
  for (int i = 0; i < done; i++) cJSON_AddItemToArray(log->epochs, rp_epoch_metrics_json(&h[i]));
  fprintf(stderr, "resuming after epoch %d of %d from %s\n", done, a->cfg.epochs, a->state);
  return RP_OK;
}

/* What every --json file starts with: rp_cli_json_header's, and the configuration. */
static cJSON *log_header(const rp_train_args *a, const rp_caps *caps) {
  cJSON *root = rp_cli_json_header(caps);
  cJSON_AddItemToObject(root, "config", rp_train_args_json(a));
  return root;
}

/* A run that failed before its first epoch (no device, a dataset missing or damaged): the
 * error printed, and the --json file says so as it would after a failure in training; not a
 * run to be resumed from --state, whose --json holds the metrics of the epochs done. */
static int failed_before_training(const rp_train_args *a, const rp_caps *caps, rp_status st) {
  int code = rp_cli_error(st);
  if (!a->json || (a->state && access(a->state, F_OK) == 0)) return code;
  cJSON *root = log_header(a, caps);
  cJSON_AddArrayToObject(root, "epochs");
  cJSON_AddStringToObject(root, "status", "failed");
  cJSON_AddStringToObject(root, "error", rp_error_message());
  if (rp_json_write_file(a->json, root) != RP_OK)
    fprintf(stderr, "repro: --json: %s\n", rp_error_message());
  cJSON_Delete(root);
  return code;
}

int rp_cmd_train(int argc, char **argv) {
  if (argc < 2) { /* a bare "repro train": the usage is the answer */
    usage(stderr);
    return 2;
  }
  rp_train_args a;
  int code = rp_train_args_parse(argc, argv, &a, RP_TRAIN_SAVE | RP_TRAIN_JSON | RP_TRAIN_STATE);
  const char *save = a.save, *json_path = a.json;
  if (code == 1) { /* --help */
    usage(stdout);
    return 0;
  }
  if (code) return 2; /* the parser printed the one line */
  /* Outputs that cannot be written are found now, not after hours of training. */
  if (save && !rp_cli_check_writable("train", "--save", save)) return 2;
  if (json_path && !rp_cli_check_writable("train", "--json", json_path)) return 2;
  if (a.state && !rp_cli_check_writable("train", "--state", a.state)) return 2;
  if (a.cfg.init_from && !rp_cli_check_readable("train", "--init", a.cfg.init_from)) return 2;
  const char *opts[] = {"--init", "--save", "--json", "--state"};
  const char *paths[] = {a.cfg.init_from, save, json_path, a.state};
  if (!rp_cli_check_distinct("train", opts, paths, 4)) return 2;
  /* What a run killed while writing one of them left beside it. */
  const char *outputs[] = {save, json_path, a.state};
  for (int i = 0; i < 3; i++)
    if (outputs[i]) rp_file_remove_stale_temporaries_of(outputs[i]);
  rp_context *ctx;
  rp_status st = rp_cli_open_device(a.device, &ctx);
  if (st) return failed_before_training(&a, NULL, st);
  const rp_caps *caps = rp_context_caps(ctx);
  fprintf(stderr, "device %u: %s (%s)\n", caps->index, caps->name, caps->driver_info);

  rp_trainer *t = NULL;
  st = rp_trainer_create(ctx, &a.cfg, &t);
  if (st) {
    code = failed_before_training(&a, caps, st);
    rp_context_destroy(ctx);
    return code;
  }
  fprintf(stderr, "%s on %s: %lld parameters, %lld training / %lld validation images, loss %s\n",
          a.cfg.model, a.cfg.dataset, (long long)rp_net_parameter_count(rp_trainer_net(t)),
          (long long)rp_trainer_train_count(t), (long long)rp_trainer_val_count(t), a.loss_text);

  char *fingerprint = a.state ? state_fingerprint(&a) : NULL;
  if (a.state && !fingerprint) {
    rp_trainer_destroy(t);
    rp_context_destroy(ctx);
    return rp_cli_error(rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory"));
  }
  run_log log = {.root = log_header(&a, caps),
                 .json_path = json_path,
                 .trainer = t,
                 .saver = {.path = a.state,
                           .fingerprint = fingerprint,
                           .interval_seconds = a.state ? rp_cli_state_interval() : 0,
                           .saved_at = rp_state_saver_now()}};
  rp_cli_progress_init(&log.progress);
  const rp_dataset *ds = rp_trainer_train_set(t);
  cJSON *data = cJSON_AddObjectToObject(log.root, "data");
  cJSON_AddStringToObject(data, "dir", ds->dir);
  cJSON_AddNumberToObject(data, "train_images", (double)rp_trainer_train_count(t));
  cJSON_AddNumberToObject(data, "validation_images", (double)rp_trainer_val_count(t));
  /* Only some CIFAR-10 training batches were found (the GPU machine gets one). */
  cJSON_AddBoolToObject(data, "partial", ds->partial);
  if (ds->partial)
    fprintf(stderr, "note: only part of the %s training set is in %s\n", ds->name, ds->dir);
  log.epochs = cJSON_AddArrayToObject(log.root, "epochs");

  rp_train_callbacks cb = {on_progress, on_epoch, &log};
  st = a.state ? resume(&log, &a) : RP_OK;
  /* A state that cannot be taken up (damaged, another run's) is bad input: nothing trains, and
   * the --json file is left as the run that saved the state wrote it, its epochs' metrics. */
  if (st) json_path = NULL;
  if (!st) st = rp_trainer_run(t, &cb);
  if (!st && log.saver.error) st = log.saver.error;
  rp_cli_progress_clear(&log.progress);
  code = st ? rp_cli_error(st) : 0;
  /* The metrics file says how the run ended: a diverged run's keeps the epochs it finished and
   * the divergence (the epoch it diverged in has no line of its own). */
  cJSON_AddStringToObject(log.root, "status",
                          !st                     ? "done"
                          : st == RP_ERR_DIVERGED ? "diverged"
                                                  : "failed");
  if (st) cJSON_AddStringToObject(log.root, "error", rp_error_message());
  /* The weights are saved even when the metrics file failed: they cost the most to redo. */
  bool written = true; /* every output file given */
  if (!st && save) {
    rp_checkpoint_info info = {a.cfg.dataset, a.loss_text, a.cfg.epochs, a.cfg.seed};
    rp_status saved = rp_checkpoint_save(rp_trainer_net(t), save, &info);
    if (saved)
      code = rp_cli_error(saved), written = false;
    else
      printf("wrote %s\n", save);
  }
  if (json_path && rp_json_write_file(json_path, log.root) != RP_OK) {
    if (!log.json_failed) fprintf(stderr, "repro: --json: %s\n", rp_error_message());
    code = code ? code : 1;
    written = false;
  } else if (json_path) {
    printf("wrote %s\n", json_path);
  }
  /* The run has ended (done or diverged: the same command would end the same way) and its
   * files are written: its state is done with. A failure (a lost device, a state that could not
   * be read, an output that could not be written) keeps it, so that the same command takes the
   * run up again rather than training it from the start. */
  if (a.state && (!st || st == RP_ERR_DIVERGED) && written && remove(a.state) != 0 &&
      errno != ENOENT)
    fprintf(stderr, "repro: --state %s: cannot remove it: %s\n", a.state, strerror(errno));
  /* A finished run whose outputs could not be written: its state saved after the last epoch
   * too (the interval may have skipped it), so that the same command trains nothing again. */
  if (a.state && !st && !written && rp_trainer_save_state(t, a.state, fingerprint) == RP_OK)
    fprintf(stderr, "repro: the trained run is kept in %s: the same command writes its outputs\n",
            a.state);
  free(fingerprint);
  cJSON_Delete(log.root);
  rp_trainer_destroy(t);
  rp_context_destroy(ctx);
  return code;
}
