/* The `repro` command itself, run as a child process with stdout and stderr captured (stderr a
 * file, so never a terminal). The project's rule for bad input: one line on stderr naming the
 * option, file or value, exit status 2, and nothing lost: outputs that cannot be written are
 * found before a device is created or a step trained. --help prints the usage on stdout with
 * status 0; the usage goes to stderr only for a command given no arguments.
 *
 * Every case but the last runs no training (most not even a device); the last trains one step
 * of the MNIST CNN on 120 Fashion-MNIST images and evaluates the checkpoint it wrote. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exp/files.h"
#include "support/tmpfiles.h"
#include "train/safetensors.h"

#ifndef REPRO_BINARY
#error "tests/CMakeLists.txt passes the path of the built repro as REPRO_BINARY"
#endif

TestSuite(cli);

/* The binary under test: the one this build made, or REPRO_TEST_BINARY (where the tests run on
 * another machine than they were built on, as scripts/gpu-check.sh does). */
static const char *repro_binary(void) {
  const char *env = getenv("REPRO_TEST_BINARY");
  return env && *env ? env : REPRO_BINARY;
}

/* ---- running repro */

typedef struct outcome {
  int status; /* exit status; -1 when the child did not exit normally */
  char *out, *err;
  double seconds;
} outcome;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *make_tmpdir(void) {
  char *dir = strdup("/tmp/repro-test-cli-XXXXXX");
  cr_assert(mkdtemp(dir), "mkdtemp failed");
  return dir;
}

/* Runs repro with `args` (NULL-terminated, without argv[0]); `env` (NULL-terminated, may be
 * NULL) holds "NAME=VALUE" to set and "NAME" to unset in the child. */
static outcome run_env(const char *const *env, const char *const *args) {
  char *dir = make_tmpdir();
  char out_path[256], err_path[256];
  snprintf(out_path, sizeof out_path, "%s/stdout", dir);
  snprintf(err_path, sizeof err_path, "%s/stderr", dir);
  char *argv[64];
  int argc = 0;
  const char *binary = repro_binary();
  argv[argc++] = (char *)binary;
  for (const char *const *a = args; *a; a++) argv[argc++] = (char *)*a;
  argv[argc] = NULL;
  double start = now_seconds();
  pid_t pid = fork();
  cr_assert_neq(pid, -1, "fork failed");
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
      _exit(126);
    for (const char *const *e = env; e && *e; e++) {
      const char *eq = strchr(*e, '=');
      if (!eq) {
        unsetenv(*e);
        continue;
      }
      char name[128];
      snprintf(name, sizeof name, "%.*s", (int)(eq - *e), *e);
      setenv(name, eq + 1, 1);
    }
    execv(binary, argv);
    _exit(127);
  }
  int wstatus = 0;
  cr_assert_eq(waitpid(pid, &wstatus, 0), pid, "waitpid failed");
  outcome o = {.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1,
               .out = read_file(out_path),
               .err = read_file(err_path),
               .seconds = now_seconds() - start};
  cr_assert(o.out && o.err, "cannot read the captured output in %s", dir);
  cr_assert_neq(o.status, 127, "cannot run %s", binary);
  remove_tree(dir);
  free(dir);
  return o;
}

#define RUN(...) run_env(NULL, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_ENV(env, ...)                                                                          \
  run_env((const char *const[]){env, NULL}, (const char *const[]){__VA_ARGS__, NULL})

static void outcome_free(outcome *o) {
  free(o->out);
  free(o->err);
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/* Line `i` (0-based) of `s` without its newline, in `buf` ("" when there is none). */
static const char *line_of(const char *s, int i, char *buf, size_t size) {
  for (; i > 0 && s; i--) {
    s = strchr(s, '\n');
    if (s) s++;
  }
  if (!s) s = "";
  snprintf(buf, size, "%.*s", (int)strcspn(s, "\n"), s);
  return buf;
}

/* A bad command line: `status`, nothing on stdout, and exactly `line` on stderr. */
static void expect_error(const outcome *o, int status, const char *line) {
  char first[1024];
  line_of(o->err, 0, first, sizeof first);
  cr_expect_eq(o->status, status, "exit status %d, not %d; stderr:\n%s", o->status, status, o->err);
  cr_expect_eq(count_lines(o->err), 1, "stderr has %d lines, not 1:\n%s", count_lines(o->err),
               o->err);
  cr_expect_str_eq(first, line);
  cr_expect_str_eq(o->out, "", "stdout is not empty:\n%s", o->out);
}

/* ---- missing values, bad values, unknown options: one line each */

Test(cli, missing_value_is_named_as_such) {
  static const struct {
    const char *args[10];
    const char *line;
  } cases[] = {
      {{"train", "--epochs"}, "repro: --epochs needs a value (see repro train --help)"},
      {{"train", "--model", "mnist_cnn", "--dataset", "fashion-mnist", "--save"},
       "repro: --save needs a value (see repro train --help)"},
      {{"train", "--model", "mnist_cnn", "--epochs", "--dataset", "mnist"},
       "repro: --epochs needs a value (see repro train --help)"},
      {{"run", "exp.json", "--out"}, "repro: --out needs a value (see repro run --help)"},
      {{"run", "exp.json", "--out", "--dry-run"},
       "repro: --out needs a value (see repro run --help)"},
      {{"eval", "--checkpoint"}, "repro: --checkpoint needs a value (see repro eval --help)"},
      {{"eval", "--checkpoint", "x.safetensors", "--pgd-steps"},
       "repro: --pgd-steps needs a value (see repro eval --help)"},
      {{"bench", "--repeats"}, "repro: --repeats needs a value (see repro bench --help)"},
      {{"bench", "--json"}, "repro: --json needs a value (see repro bench --help)"},
      {{"taylorglo", "analyze", "--theta"},
       "repro: --theta needs a value (see repro taylorglo analyze --help)"},
      {{"data", "info", "mnist", "--dir"}, "repro: --dir needs a value (see repro data --help)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    outcome o = run_env(NULL, cases[i].args);
    expect_error(&o, 2, cases[i].line);
    outcome_free(&o);
  }
}

Test(cli, bad_values_name_the_option_and_the_value) {
  /* The ranges are the experiment schema's (runtime/exp/schema.c). */
  static const struct {
    const char *option, *value, *line;
  } cases[] = {
      {"--epochs", "abc",
       "repro: --epochs expects an integer in 1..100000, not 'abc' (see repro train --help)"},
      {"--momentum", "1.5",
       "repro: --momentum expects a number in [0, 1), not '1.5' (see repro train --help)"},
      {"--weight-decay", "-0.1",
       "repro: --weight-decay expects a number in [0, 1], not '-0.1' (see repro train --help)"},
      {"--lr", "1e6",
       "repro: --lr expects a number in (0, 100], not '1e6' (see repro train --help)"},
      {"--lr", "0", "repro: --lr expects a number in (0, 100], not '0' (see repro train --help)"},
      /* numbers are decimal, and nothing around them (io/number.h) */
      {"--lr", "0x1p-4",
       "repro: --lr expects a number in (0, 100], not '0x1p-4' (see repro train --help)"},
      {"--epochs", " 3",
       "repro: --epochs expects an integer in 1..100000, not ' 3' (see repro train --help)"},
      {"--lr-steps", "5, 8",
       "repro: --lr-steps expects none or at most 8 increasing epochs in 1..100000 (like "
       "100,150), not '5, 8' (see repro train --help)"},
      {"--lr-gamma", "11",
       "repro: --lr-gamma expects a number in (0, 10], not '11' (see repro train --help)"},
      {"--fraction", "1.5",
       "repro: --fraction expects a number in (0, 1], not '1.5' (see repro train --help)"},
      {"--lr-steps", "5,3",
       "repro: --lr-steps expects none or at most 8 increasing epochs in 1..100000 (like "
       "100,150), not '5,3' (see repro train --help)"},
      {"--lr-steps", "0",
       "repro: --lr-steps expects none or at most 8 increasing epochs in 1..100000 (like "
       "100,150), not '0' (see repro train --help)"},
      {"--lr-steps", "5,,8",
       "repro: --lr-steps expects none or at most 8 increasing epochs in 1..100000 (like "
       "100,150), not '5,,8' (see repro train --help)"},
      {"--test-images", "2000000",
       "repro: --test-images expects an integer in 0..1000000, not '2000000' (see repro train "
       "--help)"},
      {"--augment", "crop,crop",
       "repro: --augment expects none or a list of crop, flip, cutout (each once), not "
       "'crop,crop' (see repro train --help)"},
      {"--convention", "neither",
       "repro: --convention expects code or paper, not 'neither' (see repro train --help)"},
      {"--device", "", "repro: --device needs a value, not '' (see repro train --help)"},
      {"--data-dir", "", "repro: --data-dir needs a value, not '' (see repro train --help)"},
      {"--batch", "0",
       "repro: --batch expects an integer in 1..4096, not '0' (see repro train --help)"},
      /* 2^53: beyond what a double, and so the JSON files, hold exactly */
      {"--seed", "9007199254740992",
       "repro: --seed expects an integer in 0..9007199254740991, not '9007199254740992' (see "
       "repro train --help)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    outcome o = RUN("train", "--model", "mnist_cnn", "--dataset", "fashion-mnist", cases[i].option,
                    cases[i].value);
    expect_error(&o, 2, cases[i].line);
    outcome_free(&o);
  }
  outcome o = RUN("eval", "--checkpoint", "x.safetensors", "--fgsm", "0.1,2");
  expect_error(&o, 2,
               "repro: --fgsm expects at most 32 epsilons in [0, 1] (like 0.1,8/255), not "
               "'0.1,2' (see repro eval --help)");
  outcome_free(&o);
  o = RUN("eval", "--checkpoint", "x.safetensors", "--fgsm", "8/0x10");
  expect_error(&o, 2,
               "repro: --fgsm expects at most 32 epsilons in [0, 1] (like 0.1,8/255), not "
               "'8/0x10' (see repro eval --help)");
  outcome_free(&o);
  /* each epsilon once, as in an experiment file; a list longer than any buffer is read whole */
  o = RUN("eval", "--checkpoint", "x.safetensors", "--pgd", "0.1,2/255,1/10");
  expect_error(&o, 2,
               "repro: --pgd lists the epsilon 1/10 twice, in '0.1,2/255,1/10' (see repro eval "
               "--help)");
  outcome_free(&o);
  char long_list[700];
  snprintf(long_list, sizeof long_list, "%0600d,2", 0);
  o = RUN("eval", "--checkpoint", "x.safetensors", "--fgsm", long_list);
  cr_expect_eq(o.status, 2);
  cr_expect(strstr(o.err, ",2' (see repro eval --help)\n"), "%s", o.err);
  outcome_free(&o);
  o = RUN("eval", "--checkpoint", "x.safetensors", "--fgsm", "0.1,,0.2");
  expect_error(&o, 2,
               "repro: --fgsm expects a list of epsilons in [0, 1] (like 0.1,8/255), not "
               "'0.1,,0.2' (see repro eval --help)");
  outcome_free(&o);
  o = RUN("train", "--model", "mnist_cnn", "--dataset", "mnist", "--loss", "ce", "--convention",
          "paper");
  expect_error(&o, 2,
               "repro: --convention paper applies only to a taylorglo loss, not 'ce' (see repro "
               "train --help)");
  outcome_free(&o);
  o = RUN("eval", "--checkpoint", "x.safetensors", "--pgd-steps", "5\nx");
  expect_error(&o, 2,
               "repro: --pgd-steps expects an integer in 1..1000, not '5?x' (see repro eval "
               "--help)");
  outcome_free(&o);
  o = RUN("eval", "--checkpoint", "x.safetensors", "--pgd-steps", "5x");
  expect_error(&o, 2,
               "repro: --pgd-steps expects an integer in 1..1000, not '5x' (see repro eval "
               "--help)");
  outcome_free(&o);
  o = RUN("bench", "--batch", "0");
  expect_error(&o, 2,
               "repro: --batch expects an integer in 1..4096, not '0' (see repro bench --help)");
  outcome_free(&o);
  o = RUN("taylorglo", "analyze", "--theta", "1,1,1,1,1,1,0,0", "--smoothing", "1");
  expect_error(&o, 2,
               "repro: --smoothing expects a number in [0, 1), not '1' (see repro taylorglo "
               "analyze --help)");
  outcome_free(&o);
}

Test(cli, unknown_and_missing_arguments_take_one_line) {
  static const struct {
    const char *args[10];
    const char *line;
  } cases[] = {
      {{"train", "--bogus", "1"}, "repro: unknown option '--bogus' (see repro train --help)"},
      {{"train", "stray"}, "repro: unexpected argument 'stray' (see repro train --help)"},
      {{"train", "--model", "mnist_cnn"}, "repro: --dataset is required (see repro train --help)"},
      {{"train", "--model", "mnist_cnn", "--dataset", "imagenet"},
       "repro: --dataset: unknown dataset 'imagenet' (cifar10, cifar100, mnist, fashion-mnist) "
       "(see repro train --help)"},
      {{"train", "--model", "mnist_cnn", "--dataset", "mnist", "--save", "x", "--json"},
       "repro: --json needs a value (see repro train --help)"},
      {{"train", "--model", "mnist_cnn", "--dataset", "mnist", "--data-dir", "/nonexistent"},
       "repro: --data-dir /nonexistent: No such file or directory (see repro train --help)"},
      {{"train", "--model", "mnist_cnn", "--dataset", "mnist", "--data-dir", "/dev/null"},
       "repro: --data-dir /dev/null: not a directory (see repro train --help)"},
      {{"eval", "--save", "x"},
       "repro: --save is not an option of eval (the model comes from the checkpoint; training "
       "options change nothing there) (see repro eval --help)"},
      {{"eval", "--checkpoint", "c.safetensors", "--test-images", "9", "--epochs", "7"},
       "repro: --epochs is not an option of eval (the model comes from the checkpoint; training "
       "options change nothing there) (see repro eval --help)"},
      {{"eval", "--checkpoint", "c.safetensors", "--fgms", "0.1"},
       "repro: unknown option '--fgms' (see repro eval --help)"},
      {{"eval", "--fgsm", "0.1"}, "repro: --checkpoint is required (see repro eval --help)"},
      {{"eval", "--checkpoint", "c.safetensors", "--pgd-steps", "3"},
       "repro: --pgd-steps without --pgd E1,.. changes nothing (see repro eval --help)"},
      {{"run", "a.json", "b.json"},
       "repro: one experiment file at a time: 'b.json' after 'a.json' (see repro run --help)"},
      {{"run", "a.json", "--bogus"}, "repro: unknown option '--bogus' (see repro run --help)"},
      {{"bench", "--bogus"}, "repro: unknown option '--bogus' (see repro bench --help)"},
      /* names are checked before anything is measured (stdout stays empty) */
      {{"bench", "gemm256", "train_resnt20"},
       "repro: train_resnt20: unknown model 'resnt20' (models: mnist_cnn, allcnn_c, resnetD or "
       "preresnetD (D = 6n+2 in 8..10000), wrn-D-K (D = 6n+4 in 10..10000, K in 1..10000)) (see "
       "repro bench --help)"},
      /* an empty argument where a file or directory goes */
      {{"run", ""}, "repro: an experiment file is needed, not '' (see repro run --help)"},
      {{"report", ""}, "repro: a results directory is needed, not '' (see repro report --help)"},
      {{"bench", "--compare", ""},
       "repro: --compare needs results files, not '' (see repro bench --help)"},
      {{"eval", "--checkpoint", ""},
       "repro: --checkpoint needs a value, not '' (see repro eval --help)"},
      {{"bench", "--profile", "peak"},
       "repro: --profile times training steps; name a train_MODEL (see repro bench --help)"},
      {{"bench", "peak", "--batch", "64"},
       "repro: --batch is the training steps' batch; name a train_MODEL (see repro bench "
       "--help)"},
      {{"bench", "train_mnist_cnn", "gemm", "train_mnist_cnn"},
       "repro: train_mnist_cnn is named twice (see repro bench --help)"},
      {{"eval", "--checkpoint", "c.safetensors", "--eps-mode", "normalized"},
       "repro: --eps-mode without --fgsm or --pgd changes nothing (see repro eval --help)"},
      {{"data", "fetch"},
       "repro: fetch needs a dataset (cifar10, cifar100, mnist, fashion-mnist) (see repro data "
       "--help)"},
      {{"data", "get", "mnist"},
       "repro: unknown action 'get' (fetch or info) (see repro data --help)"},
      {{"report", "a", "b"},
       "repro: one directory at a time: 'b' after 'a' (see repro report --help)"},
      {{"taylorglo", "analyze", "--bogus", "1"},
       "repro: unknown option '--bogus' (see repro taylorglo analyze --help)"},
      {{"taylorglo", "analyse"},
       "repro: unknown subcommand 'analyse' (analyze) (see repro taylorglo --help)"},
      {{"devices", "extra"}, "repro: unknown argument 'extra' (see repro devices --help)"},
      {{"version", "extra"}, "repro: version takes no arguments, not 'extra' (see repro --help)"},
      {{"trian"}, "repro: unknown command 'trian' (see repro --help)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    outcome o = run_env(NULL, cases[i].args);
    expect_error(&o, 2, cases[i].line);
    outcome_free(&o);
  }
  /* An unknown model: the line names it and lists the models. */
  outcome o = RUN("train", "--model", "bogus", "--dataset", "mnist");
  cr_expect_eq(o.status, 2);
  cr_expect_eq(count_lines(o.err), 1, "stderr:\n%s", o.err);
  cr_expect(strncmp(o.err, "repro: --model: unknown model 'bogus' (models: mnist_cnn", 56) == 0,
            "stderr: %s", o.err);
  outcome_free(&o);
}

Test(cli, an_option_given_twice_is_refused) {
  /* Whichever one won, the other was a mistake nobody would see: refused, naming it. */
  static const struct {
    const char *args[10];
    const char *line;
  } cases[] = {
      {{"train", "--model", "mnist_cnn", "--dataset", "mnist", "--model", "resnet20"},
       "repro: --model is given twice; give each option once (see repro train --help)"},
      {{"train", "--epochs", "3", "--nesterov", "--epochs", "30"},
       "repro: --epochs is given twice; give each option once (see repro train --help)"},
      {{"train", "--nesterov", "--nesterov"},
       "repro: --nesterov is given twice; give each option once (see repro train --help)"},
      {{"eval", "--checkpoint", "a.safetensors", "--checkpoint", "b.safetensors"},
       "repro: --checkpoint is given twice; give each option once (see repro eval --help)"},
      {{"run", "a.json", "--out", "x", "--dry-run", "--out", "y"},
       "repro: --out is given twice; give each option once (see repro run --help)"},
      {{"bench", "--repeats", "3", "--repeats", "5"},
       "repro: --repeats is given twice; give each option once (see repro bench --help)"},
      {{"taylorglo", "analyze", "--theta", "1,1,1,1,1,1,0,0", "--theta", "1,1,1,1,1,1,0,1"},
       "repro: --theta is given twice; give each option once (see repro taylorglo --help)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    outcome o = run_env(NULL, cases[i].args);
    expect_error(&o, 2, cases[i].line);
    outcome_free(&o);
  }
  /* A value repeated under different options is fine, and --help still answers. */
  outcome o = RUN("taylorglo", "analyze", "--theta", "10,10,10,10,10,10,0,0", "--classes", "10");
  cr_expect_eq(o.status, 0, "stderr: %s", o.err);
  outcome_free(&o);
  o = RUN("train", "--epochs", "3", "--epochs", "30", "--help");
  cr_expect_eq(o.status, 0, "stderr: %s", o.err);
  cr_expect(strncmp(o.out, "usage: repro train", 18) == 0, "stdout: %s", o.out);
  outcome_free(&o);
}

Test(cli, usage_only_for_help_or_no_arguments) {
  static const struct {
    const char *args[4];
    const char *usage; /* the first line of the usage */
  } helps[] = {
      {{"--help"}, "usage: repro COMMAND [OPTIONS]"},
      {{"train", "--help"}, "usage: repro train --model M --dataset D [options]"},
      {{"train", "--epochs", "abc", "--help"},
       "usage: repro train --model M --dataset D [options]"},
      {{"eval", "--help"},
       "usage: repro eval --checkpoint CKPT [--dataset D] [--batch B] [--loss L]"},
      {{"run", "--help"}, "usage: repro run FILE [--out DIR] [--device D] [--dry-run]"},
      {{"bench", "--help"},
       "usage: repro bench [--json FILE] [--device D] [--repeats N] [--batch B] [--profile] "
       "[NAME...]"},
      {{"data", "--help"},
       "usage: repro data fetch|info cifar10|cifar100|mnist|fashion-mnist [--dir D]"},
      {{"report", "--help"}, "usage: repro report DIR"},
      {{"taylorglo", "--help"},
       "usage: repro taylorglo analyze --theta a1,a2,a3,a4,a5,a6,t0,t1 [--classes N]"},
      {{"taylorglo", "analyze", "--help"},
       "usage: repro taylorglo analyze --theta a1,a2,a3,a4,a5,a6,t0,t1 [--classes N]"},
      {{"devices", "--help"}, "usage: repro devices [--json]"},
      {{"help"}, "usage: repro COMMAND [OPTIONS]"},
      {{"help", "run"}, "usage: repro run FILE [--out DIR] [--device D] [--dry-run]"},
      {{"-h", "report"}, "usage: repro report DIR"},
      {{"help", "help"}, "usage: repro COMMAND [OPTIONS]"},
      {{"help", "version"}, "usage: repro version"},
  };
  for (size_t i = 0; i < sizeof helps / sizeof *helps; i++) {
    outcome o = run_env(NULL, helps[i].args);
    char first[256];
    cr_expect_eq(o.status, 0, "%s --help: exit status %d", helps[i].args[0], o.status);
    cr_expect_str_eq(line_of(o.out, 0, first, sizeof first), helps[i].usage);
    cr_expect_str_eq(o.err, "", "%s --help wrote to stderr:\n%s", helps[i].args[0], o.err);
    outcome_free(&o);
  }
  /* A command with no arguments at all: its usage, on stderr, status 2. */
  static const char *const bare[] = {"train", "eval", "run", "data", "report", "taylorglo"};
  for (size_t i = 0; i < sizeof bare / sizeof *bare; i++) {
    outcome o = RUN(bare[i]);
    cr_expect_eq(o.status, 2, "repro %s: exit status %d", bare[i], o.status);
    cr_expect(strncmp(o.err, "usage: repro ", 13) == 0, "repro %s: stderr:\n%s", bare[i], o.err);
    cr_expect_str_eq(o.out, "");
    outcome_free(&o);
  }
  outcome o = RUN("version");
  char line[256];
  cr_expect_eq(o.status, 0);
  /* the version and the commit built from (a_record_names_the_commit_repro_was_built_from) */
  line_of(o.out, 0, line, sizeof line);
  const char *prefix = "repro " REPRO_VERSION " (commit ";
  cr_expect(strncmp(line, prefix, strlen(prefix)) == 0 && line[strlen(line) - 1] == ')', "%s",
            line);
  outcome_free(&o);
}

/* ---- outputs checked before any work */

Test(cli, unwritable_outputs_fail_before_training) {
  char *dir = make_tmpdir();
  char json[300], save[300];
  snprintf(json, sizeof json, "%s/x.json", dir);
  snprintf(save, sizeof save, "%s/x.safetensors", dir);
  /* No device line and nothing on stdout: the check came before the device, the data and the
   * training (which would print "device 0: ..." and an epoch). */
  outcome o = RUN("train", "--model", "mnist_cnn", "--dataset", "fashion-mnist", "--json",
                  "/nonexistent/dir/x.json", "--save", save);
  expect_error(&o, 2,
               "repro: --json /nonexistent/dir/x.json: cannot create a file in /nonexistent/dir: "
               "No such file or directory (see repro train --help)");
  cr_expect_lt(o.seconds, 5.0, "the check took %.1f s: did it train?", o.seconds);
  outcome_free(&o);
  o = RUN("train", "--model", "mnist_cnn", "--dataset", "fashion-mnist", "--json", json, "--save",
          "/nonexistent/dir/x.safetensors");
  expect_error(&o, 2,
               "repro: --save /nonexistent/dir/x.safetensors: cannot create a file in "
               "/nonexistent/dir: No such file or directory (see repro train --help)");
  cr_expect_lt(o.seconds, 5.0, "the check took %.1f s: did it train?", o.seconds);
  outcome_free(&o);
  /* A directory where the file should go. */
  o = RUN("train", "--model", "mnist_cnn", "--dataset", "fashion-mnist", "--save", dir);
  char line[600];
  snprintf(line, sizeof line,
           "repro: --save %s: is a directory, not a file (see repro train --help)", dir);
  expect_error(&o, 2, line);
  outcome_free(&o);
  o = RUN("bench", "--json", "/nonexistent/dir/b.json", "peak");
  expect_error(&o, 2,
               "repro: --json /nonexistent/dir/b.json: cannot create a file in /nonexistent/dir: "
               "No such file or directory (see repro bench --help)");
  outcome_free(&o);
  /* Before the analysis is printed (stdout stays empty). */
  o = RUN("taylorglo", "analyze", "--theta", "1,1,1,1,1,1,0,0", "--curves",
          "/nonexistent/dir/c.csv");
  expect_error(&o, 2,
               "repro: --curves /nonexistent/dir/c.csv: cannot create a file in /nonexistent/dir: "
               "No such file or directory (see repro taylorglo analyze --help)");
  outcome_free(&o);
  /* The probe leaves nothing behind, and neither output was started. */
  cr_expect_eq(access(json, F_OK), -1, "%s exists", json);
  cr_expect_eq(access(save, F_OK), -1, "%s exists", save);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)\"", dir);
  cr_expect_eq(system(cmd), 0, "%s is not empty", dir);
  remove_tree(dir);
  free(dir);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

/* ---- checkpoints */

/* A checkpoint of one F32 tensor with the given metadata pairs. */
static void write_checkpoint(const char *path, const char *const *keys, const char *const *values,
                             int count) {
  static const float w[4] = {1, 2, 3, 4};
  rp_named_tensor t = {
      .name = "conv1.weight", .dtype = "F32", .ndim = 2, .shape = {2, 2}, .data = w};
  rp_status st = rp_safetensors_write(path, &t, 1, keys, values, count);
  cr_assert_eq(st, RP_OK, "cannot write %s: %s", path, rp_error_message());
}

Test(cli, checkpoint_metadata_errors_name_the_file) {
  char *dir = make_tmpdir();
  char path[300], line[1024];
  /* Saved without repro's metadata, as PyTorch's safetensors does. */
  snprintf(path, sizeof path, "%s/torch.safetensors", dir);
  write_checkpoint(path, NULL, NULL, 0);
  outcome o = RUN("eval", "--checkpoint", path);
  snprintf(line, sizeof line,
           "repro: %s: no 'model' in its safetensors __metadata__ (repro --save writes it; a file "
           "saved elsewhere needs metadata like {\"model\": \"resnet20\", \"dataset\": "
           "\"cifar10\"})",
           path);
  expect_error(&o, 2, line);
  outcome_free(&o);
  /* A model repro does not build. */
  snprintf(path, sizeof path, "%s/bogus.safetensors", dir);
  const char *keys[] = {"model", "dataset"}, *bogus[] = {"bogus", "mnist"};
  write_checkpoint(path, keys, bogus, 2);
  o = RUN("eval", "--checkpoint", path);
  cr_expect_eq(o.status, 2);
  cr_expect_eq(count_lines(o.err), 1, "stderr:\n%s", o.err);
  snprintf(line, sizeof line,
           "repro: %s: its metadata names the model 'bogus', which repro does not build (models: ",
           path);
  cr_expect(strncmp(o.err, line, strlen(line)) == 0, "stderr: %s", o.err);
  outcome_free(&o);
  /* A model but no dataset, and none given. */
  snprintf(path, sizeof path, "%s/nodata.safetensors", dir);
  const char *model_only[] = {"mnist_cnn"};
  write_checkpoint(path, keys, model_only, 1);
  o = RUN("eval", "--checkpoint", path);
  snprintf(line, sizeof line, "repro: %s: no 'dataset' in its metadata: give --dataset", path);
  expect_error(&o, 2, line);
  outcome_free(&o);
  /* A file that is not there, or a directory, is a bad command line, found before a device
   * is opened (which would print "device 0: ..."). */
  o = RUN("eval", "--checkpoint", "/nonexistent/c.safetensors");
  expect_error(&o, 2,
               "repro: --checkpoint /nonexistent/c.safetensors: No such file or directory (see "
               "repro eval --help)");
  outcome_free(&o);
  /* A file that is no safetensors file: bad input too, named. */
  snprintf(path, sizeof path, "%s/garbage.safetensors", dir);
  write_text(path, "not a checkpoint at all");
  o = RUN("eval", "--checkpoint", path);
  snprintf(line, sizeof line,
           "repro: safetensors %s: header size 7521891404167278446 beyond the file (23 bytes): "
           "truncated or not safetensors",
           path);
  expect_error(&o, 2, line);
  outcome_free(&o);
  o = RUN("train", "--model", "mnist_cnn", "--dataset", "fashion-mnist", "--init", dir);
  snprintf(line, sizeof line,
           "repro: --init %s: is a directory, not a file (see repro train --help)", dir);
  expect_error(&o, 2, line);
  outcome_free(&o);
  o = RUN("train", "--model", "mnist_cnn", "--dataset", "fashion-mnist", "--init",
          "/nonexistent/c.safetensors");
  expect_error(&o, 2,
               "repro: --init /nonexistent/c.safetensors: No such file or directory (see repro "
               "train --help)");
  outcome_free(&o);
  remove_tree(dir);
  free(dir);
}

/* Two options of one command naming one file (by the same name, another spelling of it or a
 * link) are refused before anything is read or written: an output written over another, or
 * over the checkpoint read, would lose it (--save then --state: the weights saved, then removed
 * as the finished run's state). */
Test(cli, options_naming_one_file_are_refused) {
  char *dir = make_tmpdir();
  char ckpt[300], link[300], same[300], other[300], line[1200];
  snprintf(ckpt, sizeof ckpt, "%s/c.safetensors", dir);
  snprintf(link, sizeof link, "%s/link.safetensors", dir);
  snprintf(same, sizeof same, "%s/./x", dir);
  snprintf(other, sizeof other, "%s/x", dir);
  const char *keys[] = {"model", "dataset"}, *values[] = {"mnist_cnn", "fashion-mnist"};
  write_checkpoint(ckpt, keys, values, 2);
  cr_assert_eq(symlink(ckpt, link), 0);
#define TRAIN "train", "--model", "mnist_cnn", "--dataset", "fashion-mnist"
  outcome o = RUN(TRAIN, "--save", other, "--state", same);
  snprintf(line, sizeof line,
           "repro: --save and --state name the same file, %s (see repro train --help)", same);
  expect_error(&o, 2, line);
  outcome_free(&o);
  o = RUN(TRAIN, "--json", other, "--save", other);
  snprintf(line, sizeof line,
           "repro: --save and --json name the same file, %s (see repro train --help)", other);
  expect_error(&o, 2, line);
  outcome_free(&o);
  o = RUN(TRAIN, "--init", ckpt, "--json", link);
  snprintf(line, sizeof line,
           "repro: --init and --json name the same file, %s (see repro train --help)", link);
  expect_error(&o, 2, line);
  outcome_free(&o);
#undef TRAIN
  o = RUN("eval", "--checkpoint", link, "--json", ckpt);
  snprintf(line, sizeof line,
           "repro: --checkpoint and --json name the same file, %s (see repro eval --help)", ckpt);
  expect_error(&o, 2, line);
  outcome_free(&o);
  o = RUN("taylorglo", "analyze", "--theta", "1,1,1,1,1,1,0,0", "--curves", same, "--json", other);
  snprintf(line, sizeof line,
           "repro: --curves and --json name the same file, %s (see repro taylorglo analyze "
           "--help)",
           other);
  expect_error(&o, 2, line);
  outcome_free(&o);
  /* The checkpoint is as it was, and nothing else was written. */
  rp_safetensors *f;
  cr_expect_eq(rp_safetensors_open(ckpt, &f), RP_OK, "%s", rp_error_message());
  rp_safetensors_close(f);
  cr_expect_neq(access(other, F_OK), 0, "%s was written", other);
  remove_tree(dir);
  free(dir);
}

/* ---- damaged files in an experiment's output directory */

/* A refusal of `repro run`: status 2, the plan on stdout with `marked` in it (the file marked
 * where it is in the way), and exactly `line` on stderr: no "device 0: ..." line before it, so
 * the run stopped before it made a device. */
static void expect_plan_then_error(const outcome *o, const char *marked, const char *line) {
  char first[1200];
  cr_expect_eq(o->status, 2, "exit status %d; stderr:\n%s", o->status, o->err);
  cr_expect(strncmp(o->out, "experiment damaged: ", 20) == 0, "no plan on stdout:\n%s", o->out);
  cr_expect(strstr(o->out, marked), "the plan does not mark the file:\n%s", o->out);
  cr_expect_eq(count_lines(o->err), 1, "stderr has %d lines, not 1:\n%s", count_lines(o->err),
               o->err);
  cr_expect_str_eq(line_of(o->err, 0, first, sizeof first), line);
}

/* `repro run FILE --out OUT` refuses the same way with --dry-run and without (then quickly:
 * before a device or the data, which REPRO_DATA_DIR hides). */
static void expect_run_refused(const char *file, const char *out, const char *marked,
                               const char *line) {
  outcome o = RUN("run", file, "--out", out, "--dry-run");
  expect_plan_then_error(&o, marked, line);
  outcome_free(&o);
  o = RUN_ENV("REPRO_DATA_DIR=/nonexistent", "run", file, "--out", out);
  expect_plan_then_error(&o, marked, line);
  cr_expect_lt(o.seconds, 5.0, "the refusal took %.1f s", o.seconds);
  outcome_free(&o);
}

/* A damaged run record, search state or training state are the same kind of bad input (status
 * 2, as a malformed experiment file): `repro run` prints its plan, marks the file, then names it
 * and the problem in one line, --dry-run or not, and the run stops before it makes a device. */
Test(cli, damaged_record_and_search_state_are_bad_input_after_the_plan) {
  char *dir = make_tmpdir();
  char file[300], out[300], record[400], state[400], line[1200], marked[1200];
  snprintf(file, sizeof file, "%s/damaged.json", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  write_text(file, "{\"name\": \"damaged\", \"dataset\": {\"name\": \"fashion-mnist\", "
                   "\"fraction\": 0.04, \"validation\": 100}, \"model\": \"mnist_cnn\", "
                   "\"training\": {\"epochs\": 1}, \"losses\": [{\"label\": \"ce\", \"loss\": "
                   "\"ce\"}], \"seeds\": 1, \"search\": [{\"label\": \"s\", \"population\": 4, "
                   "\"generations\": 1, \"epochs\": 1}]}");
  char runs[320], search[320];
  snprintf(runs, sizeof runs, "%s/runs", out);
  snprintf(search, sizeof search, "%s/search", out);
  cr_assert(mkdir(out, 0755) == 0 && mkdir(runs, 0755) == 0 && mkdir(search, 0755) == 0);
  snprintf(state, sizeof state, "%s/s", search);
  cr_assert_eq(mkdir(state, 0755), 0);

  /* A run record cut short. */
  snprintf(record, sizeof record, "%s/ce-s1.json", runs);
  write_text(record, "{\"schema\": \"repro-run-1\", ");
  snprintf(line, sizeof line, "repro: %s is not a readable JSON file", record);
  snprintf(marked, sizeof marked, "  in the way: %s is not a readable JSON file\n", record);
  expect_run_refused(file, out, marked, line);
  outcome o = RUN("report", out);
  expect_error(&o, 2, line);
  outcome_free(&o);
  remove(record);

  /* A search state cut short: the plan first (it used to stop before it), then the line. */
  snprintf(state, sizeof state, "%s/s/state.json", search);
  write_text(state, "{\"format\": ");
  snprintf(line, sizeof line, "repro: search: state %s is not JSON", state);
  snprintf(marked, sizeof marked, "  (in the way: search: state %s is not JSON)\n", state);
  expect_run_refused(file, out, marked, line);

  remove(state);

  /* A training state that is none (a run's, a search candidate's): the same, and the line says
   * what to do. */
  static const char *const not_a_state =
      ": header size 8391086132249784174 beyond the file (11 bytes): truncated or not "
      "safetensors: remove it to train ";
  const char *where[] = {"runs/ce-s1.state", "search/s/candidate.state"};
  const char *what[] = {"this run from the start", "the search's candidate in progress from the "
                                                   "start"};
  for (int i = 0; i < 2; i++) {
    snprintf(state, sizeof state, "%s/%s", out, where[i]);
    write_text(state, "not a state");
    snprintf(line, sizeof line, "repro: safetensors %s%s%s", state, not_a_state, what[i]);
    snprintf(marked, sizeof marked, "(in the way: safetensors %s%s%s)\n", state, not_a_state,
             what[i]);
    expect_run_refused(file, out, marked, line);
    remove(state);
  }

  /* Nothing in the way: the dry run's status is 0, and it wrote nothing. */
  o = RUN("run", file, "--out", out, "--dry-run");
  cr_expect_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  cr_expect_str_eq(o.err, "");
  outcome_free(&o);
  /* A device that is not there: bad input, which the dry run says as the run would. */
  o = RUN("run", file, "--out", out, "--dry-run", "--device", "no-such-device");
  cr_expect_eq(o.status, 2, "exit status %d; stderr:\n%s", o.status, o.err);
  cr_expect_str_eq(o.err, "repro: --device no-such-device: no device whose name contains "
                          "\"no-such-device\" (see `repro devices`)\n");
  outcome_free(&o);
  /* An output "directory" that is a file: named before the plan. */
  o = RUN("run", file, "--out", "/dev/null", "--dry-run");
  expect_error(&o, 2, "repro: --out /dev/null: not a directory (see repro run --help)");
  outcome_free(&o);
  char cmd[800];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)$(ls -A %s/s)\"", runs, search);
  cr_expect_eq(system(cmd), 0, "the dry run wrote into %s", out);
  remove_tree(dir);
  free(dir);
}

/* An experiment's dataset.dir that is no directory: one line naming the file, the JSON path
 * and where a relative path was looked for, before the plan, --dry-run or not, nothing
 * written. */
Test(cli, a_wrong_dataset_dir_is_named_before_anything_is_written) {
  char *dir = make_tmpdir();
  char file[300], out[300], line[1100], cwd[512];
  snprintf(file, sizeof file, "%s/x.json", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  write_text(file, "{\"name\": \"x\", \"dataset\": {\"name\": \"fashion-mnist\", \"dir\": "
                   "\"no-such-dir\"}, \"model\": \"mnist_cnn\", \"losses\": [{\"label\": "
                   "\"ce\", \"loss\": \"ce\"}], \"seeds\": 1}");
  cr_assert(getcwd(cwd, sizeof cwd));
  snprintf(line, sizeof line,
           "repro: %s: $.dataset.dir: \"no-such-dir\": No such file or directory (relative to "
           "the current directory, %s)",
           file, cwd);
  for (int dry = 0; dry < 2; dry++) {
    outcome o = dry ? RUN("run", file, "--out", out, "--dry-run") : RUN("run", file, "--out", out);
    expect_error(&o, 2, line);
    outcome_free(&o);
  }
  cr_expect(!rp_exp_exists(out), "%s was made", out);
  remove_tree(dir);
  free(dir);
}

/* `repro report DIR` refused with exit status 2 and the one line `line`. */
static void expect_report_refused(const char *dir, const char *line) {
  outcome o = RUN("report", dir);
  expect_error(&o, 2, line);
  outcome_free(&o);
}

/* repro report on what is not an experiment's output, or one a repro run is working on: one
 * line each, saying which. */
Test(cli, report_names_what_is_wrong_with_its_directory) {
  char *dir = make_tmpdir();
  char path[320], line[700];
  snprintf(path, sizeof path, "%s/none", dir);
  snprintf(line, sizeof line, "repro: %s: No such file or directory", path);
  expect_report_refused(path, line);
  snprintf(path, sizeof path, "%s/file", dir);
  write_text(path, "x");
  snprintf(line, sizeof line, "repro: %s is not a directory", path);
  expect_report_refused(path, line);
  snprintf(line, sizeof line, "repro: %s has no runs/ directory: not an experiment's output", dir);
  expect_report_refused(dir, line);
  snprintf(path, sizeof path, "%s/runs", dir);
  cr_assert_eq(mkdir(path, 0755), 0);
  rp_exp_lock lock;
  cr_assert_eq(rp_exp_lock_dir(dir, &lock), RP_OK, "%s", rp_error_message());
  snprintf(line, sizeof line,
           "repro: %s is in use by another repro run (pid %d): wait for it to end, or choose "
           "another output directory",
           dir, (int)getpid());
  snprintf(path, sizeof path, "%s/", dir); /* named with a slash after it */
  expect_report_refused(path, line);
  rp_exp_unlock_dir(&lock);
  remove_tree(dir);
  free(dir);
}

/* ---- devices */

/* The device and kernel-choice variables a command reads, when wrong: one line naming the
 * variable and its value, status 2, before any work (here a benchmark that would take
 * seconds). REPRO_GEMM=regblock,0,0,0 divided by zero, and REPRO_TEXEL=7 and an unknown
 * REPRO_CONV were ignored. */
Test(cli, wrong_device_and_kernel_variables_are_named) {
  static const char *const cases[][2] = {
      {"REPRO_GEMM=regblock,0,0,0",
       "repro: REPRO_GEMM=regblock,0,0,0: expected KERNEL[,WORKGROUP,TM,TN[,BM,BN,BK]], KERNEL "
       "regblock, lanes or tiled, each number a whole number in 1..65536"},
      {"REPRO_GEMM=fast", "repro: REPRO_GEMM=fast: expected KERNEL[,WORKGROUP,TM,TN[,BM,BN,BK]], "
                          "KERNEL regblock, lanes or tiled"},
      {"REPRO_GEMM=lanes,8,16,8", "repro: REPRO_GEMM=lanes,8,16,8: lanes has 32x8 and 96x8 "
                                  "blocks, not 16x8"},
      {"REPRO_GEMM=tiled,64,4,4", "repro: REPRO_GEMM=tiled,64,4,4: tiled needs BM, BN and BK, "
                                  "with WORKGROUP = (BM/TM) * (BN/TN)"},
      {"REPRO_CONV=winograd", "repro: REPRO_CONV=winograd: expected implicit, lanes, im2col or "
                              "im2col,CHUNK_BYTES (at least 4096)"},
      {"REPRO_TEXEL=7", "repro: REPRO_TEXEL=7: expected 0 or 1"},
      {"REPRO_DEVICE=nosuch", "repro: REPRO_DEVICE=nosuch: no device whose name contains "
                              "\"nosuch\" (see `repro devices`)"},
      /* a newline in a value would break the one-line error: shown as '?' */
      {"REPRO_DEVICE=no\nsuch", "repro: REPRO_DEVICE=no?such: no device whose name contains "
                                "\"no?such\" (see `repro devices`)"},
      {"REPRO_DEVICE=99999999999999999999",
       "repro: REPRO_DEVICE=99999999999999999999: device 99999999999999999999 requested, but "
       "there "},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    outcome o = RUN_ENV(cases[i][0], "bench", "--repeats", "1", "gemm256");
    cr_expect_eq(o.status, 2, "%s: status %d; stderr:\n%s", cases[i][0], o.status, o.err);
    cr_expect(strncmp(o.err, cases[i][1], strlen(cases[i][1])) == 0, "%s: stderr:\n%s", cases[i][0],
              o.err);
    cr_expect_eq(count_lines(o.err), 1, "%s: stderr:\n%s", cases[i][0], o.err);
    outcome_free(&o);
  }
  /* Well-formed values are taken: sizes, or a kernel alone with its own sizes. */
  static const char *const good[] = {"REPRO_GEMM=regblock,16,3,5", "REPRO_GEMM=regblock",
                                     "REPRO_GEMM=lanes",           "REPRO_GEMM=tiled",
                                     "REPRO_CONV=im2col",          "REPRO_TEXEL=0"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    outcome o = RUN_ENV(good[i], "bench", "--repeats", "1", "gemm256");
    cr_expect_eq(o.status, 0, "%s: status %d; stderr:\n%s", good[i], o.status, o.err);
    outcome_free(&o);
  }
}

Test(cli, device_errors_go_to_stderr) {
  /* REPRO_DEVICE naming no device: the list (what one needs to fix it) on stdout, the error on
   * stderr, the status of bad input. */
  outcome o = RUN_ENV("REPRO_DEVICE=99", "devices");
  char first[512];
  cr_expect_eq(o.status, 2, "stderr:\n%s", o.err);
  cr_expect_eq(count_lines(o.err), 1, "stderr:\n%s", o.err);
  cr_expect(strncmp(line_of(o.err, 0, first, sizeof first),
                    "repro: REPRO_DEVICE=99 matches none of the ", 43) == 0,
            "stderr: %s", o.err);
  cr_expect(strncmp(o.out, "  0: ", 5) == 0, "stdout does not list the devices:\n%s", o.out);
  cr_expect(strstr(o.out, "no device matches") == NULL, "the error went to stdout");
  outcome_free(&o);
  /* The loader's variables replace its search: a wrong one is named, not "no driver
   * installed". VK_DRIVER_FILES wins over VK_ICD_FILENAMES, so each case clears the other. */
  o = run_env(
      (const char *const[]){"VK_ICD_FILENAMES=/nonexistent/icd.json", "VK_DRIVER_FILES", NULL},
      (const char *const[]){"devices", NULL});
  expect_error(
      &o, 1,
      "repro: no Vulkan driver could be loaded from VK_ICD_FILENAMES=/nonexistent/icd.json "
      "(unset it to use the installed drivers)");
  outcome_free(&o);
  o = run_env(
      (const char *const[]){"VK_DRIVER_FILES=/nonexistent/icd.json", "VK_ICD_FILENAMES", NULL},
      (const char *const[]){"devices", NULL});
  expect_error(&o, 1,
               "repro: no Vulkan driver could be loaded from VK_DRIVER_FILES=/nonexistent/icd.json "
               "(unset it to use the installed drivers)");
  outcome_free(&o);
}

/* ---- a real (one-step) training, its outputs and its checkpoint */

/* Debian's dataset-fashion-mnist, or REPRO_TEST_FASHION_DIR */
static const char *fashion_dir(void) {
  const char *env = getenv("REPRO_TEST_FASHION_DIR");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

/* fashion_dir(), or the test skipped where it holds no training images (gzip'd as Debian has
 * them, or unpacked). */
static const char *fashion_or_skip(void) {
  const char *fashion = fashion_dir();
  char probe[600], plain[600];
  snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", fashion);
  snprintf(plain, sizeof plain, "%s/train-images-idx3-ubyte", fashion);
  if (access(probe, R_OK) != 0 && access(plain, R_OK) != 0)
    cr_skip_test("%s is absent (apt-get install dataset-fashion-mnist)", probe);
  return fashion;
}

/* `src` rewritten to `dst` with conv1.weight's shape changed to [32,1,25,1] (same bytes), as
 * a checkpoint of another network with the same names would be. */
/* Copies a checkpoint with conv1's weight reshaped from 5x5 to 25x1 where asked, fc2's bias
 * NaN where asked, and the loss its metadata names replaced by `loss`. */
static void copy_checkpoint(const char *src, const char *dst, bool reshape_conv1, bool nan_bias,
                            const char *loss) {
  rp_safetensors *f;
  cr_assert_eq(rp_safetensors_open(src, &f), RP_OK, "%s", rp_error_message());
  int n = rp_safetensors_count(f);
  rp_named_tensor *t = calloc((size_t)n, sizeof *t);
  float nan_values[10];
  for (int i = 0; i < 10; i++) nan_values[i] = NAN;
  for (int i = 0; i < n; i++) t[i] = *rp_safetensors_at(f, i);
  for (int i = 0; i < n; i++) {
    if (reshape_conv1 && strcmp(t[i].name, "conv1.weight") == 0) {
      cr_assert_eq(t[i].ndim, 4);
      t[i].shape[2] = 25, t[i].shape[3] = 1;
    }
    if (nan_bias && strcmp(t[i].name, "fc2.bias") == 0) {
      cr_assert(t[i].ndim == 1 && t[i].shape[0] == 10);
      t[i].data = nan_values;
    }
  }
  const char *keys[] = {"model", "dataset", "loss"};
  const char *values[] = {rp_safetensors_meta(f, "model"), rp_safetensors_meta(f, "dataset"), loss};
  cr_assert_eq(rp_safetensors_write(dst, t, n, keys, values, 3), RP_OK, "%s", rp_error_message());
  free(t);
  rp_safetensors_close(f);
}

Test(cli, one_step_training_writes_json_and_checkpoint, .timeout = 300) {
  const char *fashion = fashion_or_skip();
  char *dir = make_tmpdir();
  char json[300], save[300], reshaped[300];
  snprintf(json, sizeof json, "%s/x.json", dir);
  snprintf(save, sizeof save, "%s/x.safetensors", dir);
  snprintf(reshaped, sizeof reshaped, "%s/reshaped.safetensors", dir);
  /* A progress interval of 0 s: the plain (not-a-terminal) progress line appears at once. */
  outcome o =
      RUN_ENV("REPRO_PROGRESS_INTERVAL=0", "train", "--model", "mnist_cnn", "--dataset",
              "fashion-mnist", "--data-dir", fashion, "--fraction", "0.002", "--test-images", "10",
              "--max-steps", "1", "--loss", "ls:0.1", "--json", json, "--save", save);
  char line[1024], expected[600];
  cr_assert_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  /* stderr: the device, the run, one progress line; no "\r" rewriting off a terminal. */
  cr_expect_eq(count_lines(o.err), 3, "stderr:\n%s", o.err);
  cr_expect(strncmp(line_of(o.err, 0, line, sizeof line), "device ", 7) == 0, "%s", line);
  cr_expect(strncmp(line_of(o.err, 1, line, sizeof line), "mnist_cnn on fashion-mnist: ", 28) == 0,
            "%s", line);
  cr_expect(strncmp(line_of(o.err, 2, line, sizeof line), "epoch 1/40: step 1/2, loss ", 27) == 0,
            "no plain progress line: %s", line);
  cr_expect(strstr(line, ", eta ") != NULL, "%s", line);
  cr_expect(strchr(o.err, '\r') == NULL, "a terminal progress line off a terminal:\n%s", o.err);
  /* stdout: the epoch, then both files written. */
  cr_expect_eq(count_lines(o.out), 3, "stdout:\n%s", o.out);
  cr_expect(strncmp(line_of(o.out, 0, line, sizeof line), "epoch   1  lr 0.01  train loss ", 31) ==
                0,
            "%s", line);
  snprintf(expected, sizeof expected, "wrote %s", save);
  cr_expect_str_eq(line_of(o.out, 1, line, sizeof line), expected);
  snprintf(expected, sizeof expected, "wrote %s", json);
  cr_expect_str_eq(line_of(o.out, 2, line, sizeof line), expected);
  outcome_free(&o);
  struct cJSON *j = read_json_in(dir, "x.json");
  cJSON_Delete(j);
  struct stat s;
  cr_assert_eq(stat(save, &s), 0, "%s was not written", save);
  cr_expect_gt(s.st_size, 1000000, "%s holds %lld bytes", save, (long long)s.st_size);

  /* The checkpoint evaluates, with the loss it was trained with unless --loss says otherwise
   * (the attacks follow it); one whose conv1 has another shape names both shapes. */
  o = RUN("eval", "--checkpoint", save, "--data-dir", fashion, "--test-images", "10");
  cr_expect_eq(o.status, 0, "eval: exit status %d; stderr:\n%s", o.status, o.err);
  cr_expect(strncmp(o.out, "mnist_cnn on fashion-mnist test set: accuracy ", 46) == 0,
            "stdout:\n%s", o.out);
  cr_expect(strstr(o.out, " (ls:0.1)\n") != NULL, "not the training loss:\n%s", o.out);
  /* The same from a directory with the test files alone: eval reads no training set. */
  char test_only[300], cmd[1200];
  snprintf(test_only, sizeof test_only, "%s/test-only", dir);
  snprintf(cmd, sizeof cmd, "mkdir %s && ln -s %s/t10k-* %s/", test_only, fashion, test_only);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  outcome alone = RUN("eval", "--checkpoint", save, "--data-dir", test_only, "--test-images", "10");
  cr_expect_eq(alone.status, 0, "eval: exit status %d; stderr:\n%s", alone.status, alone.err);
  cr_expect_str_eq(alone.out, o.out);
  outcome_free(&alone);
  outcome_free(&o);
  o = RUN("eval", "--checkpoint", save, "--data-dir", fashion, "--test-images", "10", "--loss",
          "ce");
  cr_expect_eq(o.status, 0, "eval --loss ce: exit status %d; stderr:\n%s", o.status, o.err);
  cr_expect(strstr(o.out, " (ce)\n") != NULL, "not --loss:\n%s", o.out);
  outcome_free(&o);
  /* A convention is about --loss: the checkpoint's own loss is read as it was saved. */
  o = RUN("eval", "--checkpoint", save, "--data-dir", fashion, "--convention", "paper");
  expect_error(&o, 2,
               "repro: --convention applies to --loss, which is not given (the checkpoint's own "
               "loss is read as saved) (see repro eval --help)");
  outcome_free(&o);
  copy_checkpoint(save, reshaped, true, false, "ls:0.1");
  o = RUN("eval", "--checkpoint", reshaped, "--data-dir", fashion, "--test-images", "10");
  snprintf(expected, sizeof expected,
           "repro: %s: 'conv1.weight' is F32 [32,1,25,1], the mnist_cnn expects F32 [32,1,5,5]",
           reshaped);
  expect_error(&o, 2, expected);
  outcome_free(&o);
  /* A training loss repro cannot read is named, before anything runs. */
  copy_checkpoint(save, reshaped, false, false, "ls:2");
  o = RUN("eval", "--checkpoint", reshaped, "--data-dir", fashion, "--test-images", "10");
  snprintf(expected, sizeof expected,
           "repro: %s: its metadata names the loss 'ls:2', which repro cannot read (", reshaped);
  cr_expect_eq(o.status, 2, "exit status %d; stderr:\n%s", o.status, o.err);
  cr_expect(strncmp(o.err, expected, strlen(expected)) == 0, "stderr:\n%s", o.err);
  cr_expect(strstr(o.err, "): give --loss\n") != NULL, "stderr:\n%s", o.err);
  cr_expect_eq(count_lines(o.err), 1, "stderr:\n%s", o.err);
  outcome_free(&o);
  /* Weights holding NaN: a failure, not an accuracy of 0%. */
  copy_checkpoint(save, reshaped, false, true, "ce");
  o = RUN("eval", "--checkpoint", reshaped, "--data-dir", fashion, "--test-images", "10");
  snprintf(expected, sizeof expected,
           "repro: %s: its test loss is NaN: the weights hold NaN or infinity (saved from a "
           "diverged run?)",
           reshaped);
  expect_error(&o, 1, expected);
  outcome_free(&o);
  remove_tree(dir);
  free(dir);
}

/* A training that fails before its first epoch (here: no dataset in the --data-dir directory)
 * writes its --json all the same: status failed, and the error it printed. */
Test(cli, a_training_that_cannot_start_still_writes_its_json) {
  char *dir = make_tmpdir();
  char json[300], missing[300];
  snprintf(json, sizeof json, "%s/m.json", dir);
  snprintf(missing, sizeof missing, "%s/nothing-here", dir);
  cr_assert_eq(mkdir(missing, 0755), 0);
  outcome o = RUN("train", "--model", "mnist_cnn", "--dataset", "fashion-mnist", "--data-dir",
                  missing, "--json", json);
  cr_assert_eq(o.status, 1, "exit status %d; stderr:\n%s", o.status, o.err);
  cJSON *root = read_json_in(dir, "m.json");
  cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(root, "status")), "failed");
  const char *error = cJSON_GetStringValue(cJSON_GetObjectItem(root, "error"));
  cr_assert(error, "no error in %s", json);
  char line[600];
  snprintf(line, sizeof line, "repro: %s\n", error);
  cr_expect(strstr(o.err, line), "'%s' is not the error printed:\n%s", error, o.err);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "epochs")), 0);
  cr_expect_str_eq(
      cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "config"), "dataset")),
      "fashion-mnist");
  cJSON_Delete(root);
  outcome_free(&o);
  remove_tree(dir);
  free(dir);
}

/* A diverging run (learning rate 30): status 1 and one line saying where, and the metrics file
 * written all the same, saying how the run ended. */
Test(cli, a_diverged_training_still_writes_its_metrics, .timeout = 300) {
  const char *fashion = fashion_or_skip();
  char *dir = make_tmpdir(), json[300];
  snprintf(json, sizeof json, "%s/x.json", dir);
  /* (no progress line, whose first comes after an interval, among the stderr lines counted) */
  outcome o = RUN_ENV("REPRO_PROGRESS_INTERVAL=100000", "train", "--model", "mnist_cnn",
                      "--dataset", "fashion-mnist", "--data-dir", fashion, "--fraction", "0.01",
                      "--test-images", "10", "--epochs", "3", "--lr", "30", "--json", json);
  cr_expect_eq(o.status, 1, "exit status %d; stderr:\n%s", o.status, o.err);
  char line[1024];
  const char *diverged = "repro: mnist_cnn with fashion-mnist diverged: the training loss is ";
  cr_expect(strncmp(line_of(o.err, 2, line, sizeof line), diverged, strlen(diverged)) == 0,
            "stderr:\n%s", o.err);
  outcome_free(&o);
  cJSON *j = read_json_in(dir, "x.json");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "status")->valuestring, "diverged");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "error")->valuestring, line + strlen("repro: "));
  cr_expect(cJSON_IsArray(cJSON_GetObjectItem(j, "epochs")));
  cJSON_Delete(j);
  remove_tree(dir);
  free(dir);
}

/* Flips the lowest bit of the last float of the file at `path` (of a training state's last
 * tensor in data order: fc2.weight.momentum_buffer of the MNIST CNN): damage that leaves a
 * finite number, which only the state's checksum tells. Flipped twice, the file is as it was. */
static void flip_last_float_bit(const char *path) {
  FILE *f = fopen(path, "r+b");
  int byte = 0;
  cr_assert(f && fseek(f, -4, SEEK_END) == 0 && (byte = fgetc(f)) != EOF);
  cr_assert(fseek(f, -4, SEEK_END) == 0 && fputc(byte ^ 1, f) != EOF && fclose(f) == 0);
}

/* The line `repro train --state` ends with for the state at `path`, whose tensors are not the
 * bytes its checksum was taken of. */
static void damaged_state_line(const char *path, char *line, size_t size) {
  rp_safetensors *f;
  cr_assert_eq(rp_safetensors_open(path, &f), RP_OK, "%s", rp_error_message());
  snprintf(line, size,
           "repro: %s: its tensors are damaged (their crc32 is %08x, saved as %s): remove it to "
           "train this run from the start",
           path, rp_safetensors_crc32(f), rp_safetensors_meta(f, "tensors_crc32"));
  rp_safetensors_close(f);
}

/* Starts repro with `args` (NULL-terminated) and REPRO_STATE_INTERVAL=0, its output
 * discarded, and kills it (SIGTERM) once `path` exists: a training interrupted right after it
 * saved its state. Fails when the child ended before. */
static void kill_once_saved(const char *const *args, const char *path) {
  char *argv[64];
  int argc = 0;
  argv[argc++] = (char *)repro_binary();
  for (const char *const *a = args; *a; a++) argv[argc++] = (char *)*a;
  argv[argc] = NULL;
  pid_t pid = fork();
  cr_assert_neq(pid, -1, "fork failed");
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) _exit(126);
    setenv("REPRO_STATE_INTERVAL", "0", 1);
    execv(argv[0], argv);
    _exit(127);
  }
  int wstatus = 0;
  for (int waited = 0; access(path, F_OK) != 0; waited++) {
    cr_assert_eq(waitpid(pid, &wstatus, WNOHANG), 0, "repro ended (status %d) before saving %s",
                 WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1, path);
    cr_assert_lt(waited, 240 * 200, "no %s after 240 s", path);
    nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
  }
  kill(pid, SIGTERM);
  cr_assert_eq(waitpid(pid, &wstatus, 0), pid);
  cr_assert(WIFSIGNALED(wstatus), "repro finished before it was interrupted");
}

/* The epochs' metrics of a --json file, as text, for comparing runs bit for bit (the seconds
 * and images per second left out). */
static char *epochs_of(const char *dir, const char *name) {
  cJSON *j = read_json_in(dir, name);
  cJSON *epochs = cJSON_GetObjectItem(j, "epochs");
  const cJSON *e;
  cJSON_ArrayForEach(e, epochs) {
    cJSON_DeleteItemFromObject((cJSON *)e, "seconds");
    cJSON_DeleteItemFromObject((cJSON *)e, "images_per_second");
  }
  char *text = cJSON_PrintUnformatted(epochs);
  cJSON_Delete(j);
  return text;
}

/* repro train --state: interrupted after an epoch (the first, on a slow device) and run again, a
 * training goes on from its state and ends as one trained through (the metrics of every epoch
 * equal, bit for bit), then removes the state; a state saved under another configuration is
 * refused, naming it. Six short epochs: on a fast GPU the kill may land a few epochs in. */
Test(cli, an_interrupted_training_goes_on_from_its_state, .timeout = 600) {
  const char *fashion = fashion_or_skip();
  char *dir = make_tmpdir();
  char straight[300], resumed[300], state[300], expected[700], line[1024];
  snprintf(straight, sizeof straight, "%s/straight.json", dir);
  snprintf(resumed, sizeof resumed, "%s/resumed.json", dir);
  snprintf(state, sizeof state, "%s/run.state", dir);
#define TRAINING                                                                                   \
  "train", "--model", "mnist_cnn", "--dataset", "fashion-mnist", "--data-dir", fashion,            \
      "--fraction", "0.005", "--test-images", "20", "--epochs", "6"
  outcome o = RUN(TRAINING, "--json", straight);
  cr_assert_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  outcome_free(&o);

  kill_once_saved((const char *const[]){TRAINING, "--state", state, "--json", resumed, NULL},
                  state);
  /* Another learning rate: the state is refused, naming the change, and kept, and so is the
   * metrics file of the epochs it holds. */
  const char *metrics = "{\"the metrics of the epochs in the state\": true}\n";
  write_text(resumed, metrics); /* (the kill may have come before the run wrote it) */
  o = RUN(TRAINING, "--lr", "0.02", "--state", state, "--json", resumed);
  cr_expect_eq(o.status, 2, "exit status %d; stderr:\n%s", o.status, o.err);
  snprintf(expected, sizeof expected,
           "repro: %s was saved by a run configured otherwise ($.lr: 0.01 then, 0.02 now): remove "
           "it to train this run from the start",
           state);
  cr_expect_str_eq(line_of(o.err, count_lines(o.err) - 1, line, sizeof line), expected);
  cr_expect_eq(access(state, F_OK), 0, "a refused state was removed");
  char *after = read_file(resumed);
  cr_expect(after && strcmp(after, metrics) == 0, "the refusal rewrote %s:\n%s", resumed, after);
  cr_expect_null(strstr(o.out, "wrote "), "stdout:\n%s", o.out);
  free(after);
  outcome_free(&o);
  /* Its bytes damaged (a momentum buffer's float one bit off, still finite): refused as bad
   * input the same way, naming the file, rather than trained on; and kept, to be mended. */
  flip_last_float_bit(state);
  damaged_state_line(state, expected, sizeof expected);
  o = RUN(TRAINING, "--state", state, "--json", resumed);
  cr_expect_eq(o.status, 2, "exit status %d; stderr:\n%s", o.status, o.err);
  cr_expect_str_eq(line_of(o.err, count_lines(o.err) - 1, line, sizeof line), expected);
  cr_expect_null(strstr(o.out, "epoch "), "the damaged state was trained on:\n%s", o.out);
  cr_expect_eq(access(state, F_OK), 0, "a damaged state was removed");
  after = read_file(resumed);
  cr_expect(after && strcmp(after, metrics) == 0, "the refusal rewrote %s:\n%s", resumed, after);
  free(after);
  outcome_free(&o);
  flip_last_float_bit(state);

  o = RUN(TRAINING, "--state", state, "--json", resumed);
  cr_assert_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  int done = 0;
  const char *said = strstr(o.err, "resuming after epoch ");
  cr_assert(said && sscanf(said, "resuming after epoch %d of 6 from ", &done) == 1 && done >= 1 &&
                done < 6,
            "stderr:\n%s", o.err);
  snprintf(expected, sizeof expected, "resuming after epoch %d of 6 from %s\n", done, state);
  cr_expect(strstr(o.err, expected), "stderr:\n%s", o.err);
  snprintf(expected, sizeof expected, "epoch %3d ", done + 1);
  cr_expect(strncmp(o.out, expected, strlen(expected)) == 0, "an epoch was trained again:\n%s",
            o.out);
  outcome_free(&o);
  cr_expect_neq(access(state, F_OK), 0, "the state is left after the run ended");
  char *a = epochs_of(dir, "straight.json"), *b = epochs_of(dir, "resumed.json");
  cr_expect_str_eq(b, a, "the resumed training's epochs differ from the straight one's");
  free(a);
  free(b);
#undef TRAINING
  remove_tree(dir);
  free(dir);
}

/* ---- repro run's time left */

/* Seconds of a duration as rp_cli_format_duration writes it ("7s", "2m05s", "1h02m03s"). */
static long duration_seconds(const char *text) {
  long h = 0, m = 0, sec = 0;
  if (sscanf(text, "%ldh%ldm%lds", &h, &m, &sec) == 3) return h * 3600 + m * 60 + sec;
  if (sscanf(text, "%ldm%lds", &m, &sec) == 2) return m * 60 + sec;
  return sscanf(text, "%lds", &sec) == 1 ? sec : -1;
}

/* The durations of the line of `out` that starts "    N WHATs to go: about ALL at EACH a WHAT
 * so far" (what: "run" or "generation"); false where there is none. */
static bool time_left(const char *out, int n, const char *what, long *all, long *each) {
  char start[64], a[32], e[32], tail[64];
  snprintf(start, sizeof start, "\n    %d %s%s to go: about ", n, what, n == 1 ? "" : "s");
  const char *at = strstr(out, start);
  if (!at || sscanf(at + strlen(start), "%31s at %31s a %63[^\n]", a, e, tail) != 3) return false;
  char expected[64];
  snprintf(expected, sizeof expected, "%s so far", what);
  *all = duration_seconds(a), *each = duration_seconds(e);
  return strcmp(tail, expected) == 0 && *all >= 0 && *each >= 0;
}

/* The seconds `out`/`name` records: a run's, or with `generation` >= 0 that generation's in a
 * search state. */
static double recorded_seconds(const char *out, const char *name, int generation) {
  cJSON *j = read_json_in(out, name);
  const cJSON *at =
      generation < 0 ? j : cJSON_GetArrayItem(cJSON_GetObjectItem(j, "generations"), generation);
  const cJSON *seconds = cJSON_GetObjectItem(at, "seconds");
  cr_assert(cJSON_IsNumber(seconds), "no seconds in %s/%s", out, name);
  double v = seconds->valuedouble;
  cJSON_Delete(j);
  return v;
}

/* After each run, and each search generation, `repro run` says how long those still to go may
 * take at the pace so far: the mean time of those trained by this command (as their records
 * say) times the number left, each rounded to the second; nothing after the last, nor for runs
 * a re-run skips. */
Test(cli, a_run_says_the_time_left_after_each_run_and_generation, .timeout = 600) {
  char *dir = make_tmpdir();
  char file[300], out[300];
  snprintf(file, sizeof file, "%s/eta.json", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  write_text(file, "{\"name\": \"eta\", \"dataset\": {\"name\": \"fashion-mnist\", \"fraction\": "
                   "0.002, \"validation\": 32, \"test_images\": 32}, \"model\": \"mnist_cnn\", "
                   "\"training\": {\"epochs\": 1, \"batch\": 32}, \"losses\": [{\"label\": "
                   "\"ce\", \"loss\": \"ce\"}], \"seeds\": 3, \"evaluation\": {\"clean\": true}, "
                   "\"search\": [{\"label\": \"s\", \"invariant\": \"off\", \"prune\": false, "
                   "\"population\": 2, \"generations\": 2, \"epochs\": 1, \"retries\": 0, "
                   "\"fitness\": \"val_accuracy\", \"then_train_best\": false}]}");
  outcome o = RUN("run", file, "--out", out);
  cr_assert_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  double run1 = recorded_seconds(out, "runs/ce-s1.json", -1);
  double run2 = recorded_seconds(out, "runs/ce-s2.json", -1);
  double generation1 = recorded_seconds(out, "search/s/state.json", 0);
  const double rounding = 0.5 + 1e-9;
  long all = 0, each = 0;
  cr_assert(time_left(o.out, 2, "run", &all, &each), "no time left after run 1:\n%s", o.out);
  cr_expect_leq(fabs(each - run1), rounding, "%ld s a run after one of %g s", each, run1);
  cr_expect_leq(fabs(all - 2 * run1), rounding, "%ld s for two runs at %g s", all, run1);
  cr_assert(time_left(o.out, 1, "run", &all, &each), "no time left after run 2:\n%s", o.out);
  cr_expect_leq(fabs(each - (run1 + run2) / 2), rounding, "%ld s a run after %g and %g s", each,
                run1, run2);
  cr_expect_eq(all, each);
  cr_assert(time_left(o.out, 1, "generation", &all, &each), "no time left after generation 1:\n%s",
            o.out);
  cr_expect_leq(fabs(each - generation1), rounding, "%ld s a generation after one of %g s", each,
                generation1);
  cr_expect_eq(all, each);
  cr_expect_null(strstr(o.out, " 0 run"), "a line for no runs left:\n%s", o.out);
  cr_expect_null(strstr(o.out, " 0 generation"), "a line for no generations left:\n%s", o.out);
  /* and at the end, the results as summary.md gives them */
  const char *wrote = strstr(o.out, "\nwrote ");
  cr_expect(wrote && strstr(wrote, "\n## Test accuracy\n") &&
                strstr(wrote, "\n| ce | `ce` | 3 | 0 | "),
            "no results after the report:\n%s", o.out);
  outcome_free(&o);

  /* Again: every run skipped and the search done, so nothing is timed and no estimate made.
   * One record says it was made on another device: it is kept, and the run says so. */
  cJSON *record = read_json_in(out, "runs/ce-s2.json");
  cJSON *device = cJSON_GetObjectItem(record, "device");
  cJSON_ReplaceItemInObject(device, "name", cJSON_CreateString("Other GPU"));
  cJSON_ReplaceItemInObject(record, "date", cJSON_CreateString("2026-01-02T03:04:05Z"));
  char *text = cJSON_Print(record), path[400];
  snprintf(path, sizeof path, "%s/runs/ce-s2.json", out);
  write_text(path, text);
  free(text);
  cJSON_Delete(record);
  o = RUN("run", file, "--out", out);
  cr_assert_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  cr_expect(strstr(o.out, "[2/3] ce-s2: already done on Other GPU, 2026-01-02, skipped\n"),
            "stdout:\n%s", o.out);
  cr_expect(strstr(o.out, "[3/3] ce-s3: already done, skipped"), "stdout:\n%s", o.out);
  cr_expect_null(strstr(o.out, "to go:"), "an estimate from nothing trained:\n%s", o.out);
  cr_expect(strstr(o.out, "\nnote: 1 run recorded on another device was kept, not trained on "),
            "stdout:\n%s", o.out);
  outcome_free(&o);
  remove_tree(dir);
  free(dir);
}

/* `dir`'s links to the Fashion-MNIST files in fashion_or_skip(), made (`present`) or removed. */
static void link_fashion(const char *dir, bool present) {
  static const char *const names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                      "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  const char *fashion = fashion_or_skip();
  for (int i = 0; i < 4; i++)
    for (int gz = 0; gz < 2; gz++) {
      char from[600], to[600];
      snprintf(from, sizeof from, "%s/%s%s", fashion, names[i], gz ? ".gz" : "");
      snprintf(to, sizeof to, "%s/%s%s", dir, names[i], gz ? ".gz" : "");
      if (!present)
        remove(to);
      else if (access(from, R_OK) == 0)
        cr_assert_eq(symlink(from, to), 0, "cannot link %s: %s", to, strerror(errno));
    }
}

/* A dataset that is not there stops a run that has something to train before it writes
 * anything or makes a device: status 1, as a missing file is, after the plan, --dry-run or
 * not; one with a file cut short too, with status 2. A run with everything recorded needs no
 * data. */
Test(cli, a_missing_dataset_is_named_before_anything_is_written, .timeout = 300) {
  char *dir = make_tmpdir();
  char file[300], out[300], data[300], line[1200], state[400];
  snprintf(file, sizeof file, "%s/x.json", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(data, sizeof data, "%s/data", dir);
  cr_assert_eq(mkdir(data, 0755), 0);
  /* a literal, so that the compiler checks its format at every optimization level */
#define EXPERIMENT                                                                                 \
  "{\"name\": \"x\", \"dataset\": {\"name\": \"fashion-mnist\", \"dir\": \"%s\", "                 \
  "\"fraction\": 0.002, \"validation\": 32, \"test_images\": 32}, \"model\": \"mnist_cnn\", "      \
  "\"training\": {\"epochs\": 1, \"batch\": 32}, \"losses\": [{\"label\": \"ce\", \"loss\": "      \
  "\"ce\"}], \"seeds\": %d, \"evaluation\": {\"clean\": true}}"
  char text[1000];
  snprintf(text, sizeof text, EXPERIMENT, data, 1);
  write_text(file, text);
  snprintf(line, sizeof line,
           "repro: fashion-mnist: no train-images-idx3-ubyte[.gz] in %s; run `repro data fetch "
           "fashion-mnist --dir %s` or install the Debian package dataset-fashion-mnist",
           data, data);
  for (int dry = 1; dry >= 0; dry--) {
    outcome o = dry ? RUN("run", file, "--out", out, "--dry-run") : RUN("run", file, "--out", out);
    cr_expect_eq(o.status, 1, "exit status %d; stderr:\n%s", o.status, o.err);
    cr_expect(strstr(o.out, "  ce-s1  seed "), "no plan on stdout:\n%s", o.out);
    char first[1200];
    cr_expect_eq(count_lines(o.err), 1, "stderr has %d lines, not 1:\n%s", count_lines(o.err),
                 o.err);
    cr_expect_str_eq(line_of(o.err, 0, first, sizeof first), line);
    outcome_free(&o);
  }
  cr_expect(!rp_exp_exists(out), "%s was made", out);

  /* A training images file cut short: bad input, found as early (the files are read through).
   * Debian's are gzip'd; an unpacked copy (REPRO_TEST_FASHION_DIR) is cut and gzip'd here. */
  link_fashion(data, true);
  char images[400], cut[1600], source[700], prefix[420];
  snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", data);
  snprintf(source, sizeof source, "%s/train-images-idx3-ubyte.gz", fashion_or_skip());
  bool gz = access(source, R_OK) == 0;
  if (!gz) snprintf(source, sizeof source, "%s/train-images-idx3-ubyte", fashion_or_skip());
  snprintf(cut, sizeof cut, "rm -f %s && head -c 100000 %s %s > %s", images, source,
           gz ? "" : "| gzip -c", images);
  cr_assert_eq(system(cut), 0, "%s", cut);
  snprintf(prefix, sizeof prefix, "repro: %s: ", images);
  for (int dry = 1; dry >= 0; dry--) {
    outcome o = dry ? RUN("run", file, "--out", out, "--dry-run") : RUN("run", file, "--out", out);
    cr_expect_eq(o.status, 2, "exit status %d; stderr:\n%s", o.status, o.err);
    cr_expect_eq(count_lines(o.err), 1, "stderr:\n%s", o.err);
    cr_expect(strncmp(o.err, prefix, strlen(prefix)) == 0, "stderr:\n%s", o.err);
    if (gz)
      cr_expect(strstr(o.err, ": truncated gzip data (unexpected end of file)\n"), "%s", o.err);
    outcome_free(&o);
  }
  cr_expect(!rp_exp_exists(out), "%s was made", out);

  /* Trained with the files there, then run again without them: nothing to train, nothing
   * missing. */
  link_fashion(data, false);
  link_fashion(data, true);
  outcome o = RUN("run", file, "--out", out);
  cr_assert_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  outcome_free(&o);
  link_fashion(data, false);
  char out_slash[320];
  snprintf(out_slash, sizeof out_slash, "%s//", out); /* printed without the slashes */
  o = RUN("run", file, "--out", out_slash);
  cr_expect_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  cr_expect(strstr(o.out, "[1/1] ce-s1: already done, skipped"), "stdout:\n%s", o.out);
  cr_expect(strstr(o.out, "/summary.md") && !strstr(o.out, "//"), "stdout:\n%s", o.out);
  outcome_free(&o);

  /* A second seed has something to train again. */
  snprintf(text, sizeof text, EXPERIMENT, data, 2);
#undef EXPERIMENT
  write_text(file, text);
  o = RUN("run", file, "--out", out);
  cr_expect_eq(o.status, 1, "exit status %d; stderr:\n%s", o.status, o.err);
  char first[1200];
  cr_expect_eq(count_lines(o.err), 1, "stderr:\n%s", o.err);
  cr_expect_str_eq(line_of(o.err, 0, first, sizeof first), line);
  snprintf(state, sizeof state, "%s/runs/ce-s2.state", out);
  cr_expect(!rp_exp_exists(state), "%s was made", state);
  outcome_free(&o);
  remove_tree(dir);
  free(dir);
}

/* A record's git_commit is the commit repro was built from, as `repro --version` says, not
 * that of the checkout it runs in: here an unrelated repository made for the test. */
Test(cli, a_record_names_the_commit_repro_was_built_from, .timeout = 300) {
  const char *fashion = fashion_or_skip();
  char *dir = make_tmpdir();
  char file[300], out[300], cmd[400], text[1200];
  snprintf(file, sizeof file, "%s/commit.json", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(cmd, sizeof cmd,
           "cd %s && git init -q && git -c user.name=t -c user.email=t@t commit -q "
           "--allow-empty -m t && git rev-parse HEAD > head",
           dir);
  if (system(cmd) != 0) cr_skip_test("no git to make a repository with");
  char path[320];
  snprintf(path, sizeof path, "%s/head", dir);
  char *other = read_file(path);
  other[strcspn(other, "\n")] = '\0';
  snprintf(text, sizeof text,
           "{\"name\": \"commit\", \"dataset\": {\"name\": \"fashion-mnist\", \"dir\": \"%s\", "
           "\"fraction\": 0.002, \"validation\": 0, \"test_images\": 32}, \"model\": "
           "\"mnist_cnn\", \"training\": {\"epochs\": 1, \"batch\": 32}, \"losses\": "
           "[{\"label\": \"ce\", \"loss\": \"ce\"}], \"seeds\": 1, \"evaluation\": "
           "{\"clean\": true}}",
           fashion);
  write_text(file, text);
  cr_assert_eq(chdir(dir), 0);
  outcome v = RUN("--version");
  const char *at = strstr(v.out, "(commit ");
  cr_assert(at, "no commit in: %s", v.out);
  char built[64];
  snprintf(built, sizeof built, "%.*s", (int)strcspn(at + 8, ")"), at + 8);
  outcome o = RUN("run", file, "--out", out);
  cr_assert_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  cJSON *record = read_json_in(out, "runs/ce-s1.json");
  const char *recorded = cJSON_GetStringValue(cJSON_GetObjectItem(record, "git_commit"));
  cr_assert(recorded, "no git_commit in the record");
  cr_expect_str_eq(recorded, built);
  cr_expect_str_neq(recorded, other, "the record names the commit of the directory run in");
  cJSON_Delete(record);
  outcome_free(&v), outcome_free(&o);
  free(other);
  remove_tree(dir);
  free(dir);
}

/* ---- repro bench --compare */

/* Two results files side by side: a column per device ('|' in a name escaped), the driver (its
 * version string, else its name), the math, the day, each benchmark once in the order first named
 * with its fraction of peak, "—" where a file lacks it, and the second over the first; measures
 * nothing (no device is opened). A damaged file is one line naming it and the JSON path. */
Test(cli, bench_compare_puts_results_files_side_by_side) {
  char *dir = make_tmpdir();
  char a[300], b[300], bad[300], expected[700];
  snprintf(a, sizeof a, "%s/a.json", dir);
  snprintf(b, sizeof b, "%s/b.json", dir);
  snprintf(bad, sizeof bad, "%s/bad.json", dir);
  write_text(a, "{\"repro_version\": \"0.1.0\", \"date\": \"2026-01-02T03:04:05Z\", \"device\": "
                "{\"name\": \"GPU|A\", \"driver_info\": \"d1\"}, \"results\": ["
                "{\"name\": \"peak_fma\", \"value\": 100, \"unit\": \"GFLOP/s\", "
                "\"fraction_of_peak\": 1}, {\"name\": \"gemm1024\", \"value\": 25, \"unit\": "
                "\"GFLOP/s\", \"fraction_of_peak\": 0.25}, {\"name\": \"train_x\", \"value\": "
                "1500.4, \"unit\": \"images/s\", \"batch\": 128}]}");
  write_text(b, "{\"device\": {\"name\": \"B\", \"driver_info\": \"\", \"driver_name\": \"drv\"}, "
                "\"results\": [{\"name\": \"gemm1024\", \"value\": 50, \"unit\": \"GFLOP/s\", "
                "\"fraction_of_peak\": 0.1}, {\"name\": \"peak_fma\", \"value\": 500, \"unit\": "
                "\"GFLOP/s\"}, {\"name\": \"copy\", \"value\": 3, \"unit\": \"GB/s\"}, "
                "{\"name\": \"x|y\\\\\", \"value\": 2e20, \"unit\": \"u\\nv\"}]}");
  outcome o = RUN_ENV("REPRO_DEVICE=no-such-device", "bench", "--compare", a, b);
  cr_expect_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  cr_expect_str_eq(o.out, "| | 1: GPU\\|A | 2: B | 2 / 1 |\n"
                          "|---|---:|---:|---:|\n"
                          "| software | repro 0.1.0 | ? | |\n"
                          "| driver | d1 | drv | |\n"
                          "| math | fp32 | ? | |\n"
                          "| date | 2026-01-02 | ? | |\n"
                          "| peak_fma (GFLOP/s) | 100 | 500 | 5 |\n"
                          "| gemm1024 (GFLOP/s) | 25 (25% of peak) | 50 (10% of peak) | 2 |\n"
                          "| train_x (images/s) | 1500 | — | — |\n"
                          "| copy (GB/s) | — | 3 | — |\n"
                          "| x\\|y\\\\ (u v) | — | 2e+20 | — |\n");
  cr_expect_str_eq(o.err, "");
  outcome_free(&o);

  /* A peer's file (bench/pytorch_peer.py's form): its software, driver and math as it names
   * them. */
  write_text(b, "{\"peer\": \"pytorch\", \"torch_version\": \"2.11.0\", \"date\": "
                "\"2026-01-03T00:00:00Z\", \"device\": {\"name\": \"B\", \"driver\": "
                "\"CUDA 13.0\", \"fp32_math\": {\"conv\": \"ieee\", \"matmul\": \"ieee\"}}, "
                "\"results\": [{\"name\": \"train_x\", \"value\": 750.2, \"unit\": "
                "\"images/s\", \"batch\": 128}]}");
  o = RUN("bench", "--compare", a, b);
  cr_expect_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  cr_expect(strstr(o.out, "| software | repro 0.1.0 | pytorch 2.11.0 | |\n"
                          "| driver | d1 | CUDA 13.0 | |\n"
                          "| math | fp32 | fp32 | |\n"
                          "| date | 2026-01-02 | 2026-01-03 | |\n"),
            "stdout:\n%s", o.out);
  cr_expect(strstr(o.out, "| train_x (images/s) | 1500 | 750.2 | 0.5 |\n"), "stdout:\n%s", o.out);
  cr_expect_null(strstr(o.out, "unlike"), "a note on like measurements:\n%s", o.out);
  outcome_free(&o);

  /* Unlike measurements are flagged: a step at another batch than file 1's (its "batch", or
   * the "batch N" of an older file's detail) and TF32 math against repro's fp32. */
  write_text(b, "{\"peer\": \"pytorch\", \"device\": {\"name\": \"B\", \"fp32_math\": "
                "{\"conv\": \"tf32\", \"matmul\": \"ieee\"}}, \"results\": [{\"name\": "
                "\"train_x\", \"value\": 3000, \"unit\": \"images/s\", \"detail\": "
                "\"PyTorch, batch 256, 20 steps per run\"}]}");
  o = RUN("bench", "--compare", a, b);
  cr_expect_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  cr_expect(strstr(o.out, "| math | fp32 | conv tf32, matmul ieee | |\n"), "stdout:\n%s", o.out);
  cr_expect(strstr(o.out, "| train_x (images/s) | 1500 | 3000 (batch 256) | 2† |\n"
                          "\n† measured at another batch than file 1's: the ratio compares "
                          "unlike work.\n"
                          "\nThe files differ in math: TF32 rounds fp32 inputs to a 10-bit "
                          "mantissa on tensor cores, so its rates are not full fp32's.\n"),
            "stdout:\n%s", o.out);
  outcome_free(&o);

  write_text(bad, "{\"device\": {\"name\": \"C\"}, \"results\": [{\"name\": \"peak_fma\", "
                  "\"value\": 1, \"unit\": \"GFLOP/s\"}, {\"name\": \"copy\", \"value\": 2}]}");
  o = RUN("bench", "--compare", a, bad);
  snprintf(expected, sizeof expected,
           "repro: %s: $.results[1].unit is missing or of the wrong type", bad);
  expect_error(&o, 2, expected);
  outcome_free(&o);
  /* A value no measure can have, and a measure given twice: damaged files. */
  write_text(bad, "{\"device\": {\"name\": \"C\"}, \"results\": [{\"name\": \"peak_fma\", "
                  "\"value\": -5, \"unit\": \"GFLOP/s\"}]}");
  o = RUN("bench", "--compare", a, bad);
  snprintf(expected, sizeof expected, "repro: %s: $.results[0].value is -5, not above 0", bad);
  expect_error(&o, 2, expected);
  outcome_free(&o);
  write_text(bad, "{\"device\": {\"name\": \"C\"}, \"results\": [{\"name\": \"copy\", "
                  "\"value\": 1, \"unit\": \"GB/s\"}, {\"name\": \"copy\", \"value\": 2, "
                  "\"unit\": \"GB/s\"}]}");
  o = RUN("bench", "--compare", a, bad);
  snprintf(expected, sizeof expected, "repro: %s: $.results[1] repeats copy of [0]", bad);
  expect_error(&o, 2, expected);
  outcome_free(&o);
  write_text(bad, "{\"results\": [");
  o = RUN("bench", "--compare", bad);
  snprintf(expected, sizeof expected, "repro: %s is not JSON", bad);
  expect_error(&o, 2, expected);
  outcome_free(&o);
  snprintf(expected, sizeof expected,
           "repro: cannot read %s/missing.json: No such file or directory", dir);
  char missing[320];
  snprintf(missing, sizeof missing, "%s/missing.json", dir);
  o = RUN("bench", "--compare", a, missing);
  expect_error(&o, 2, expected);
  outcome_free(&o);
  o = RUN("bench", "--compare", a, "--json", b);
  expect_error(&o, 2,
               "repro: --compare takes results files only, not '--json' (see repro bench --help)");
  outcome_free(&o);
  remove_tree(dir);
  free(dir);
}

/* ---- repro bench --profile */

/* One profiled training step: the table by kernel is the per-dispatch list summed (recomputed
 * here from that list), costliest first, and stdout prints a row per kernel; the JSON records
 * the step's batch. */
Test(cli, bench_profile_sums_dispatches_by_kernel, .timeout = 300) {
  char *dir = make_tmpdir();
  char json[300];
  snprintf(json, sizeof json, "%s/bench.json", dir);
  outcome o = RUN("bench", "--profile", "--batch", "8", "--repeats", "1", "--json", json,
                  "train_mnist_cnn");
  cr_assert_eq(o.status, 0, "exit status %d; stderr:\n%s", o.status, o.err);
  cJSON *root = read_json_in(dir, "bench.json"), *result = NULL, *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItem(root, "results")) {
    if (strcmp(cJSON_GetObjectItem(r, "name")->valuestring, "train_mnist_cnn") == 0) result = r;
  }
  cr_assert_not_null(result, "no train_mnist_cnn result in %s", json);
  const cJSON *batch = cJSON_GetObjectItem(result, "batch"); /* what bench --compare checks */
  cr_expect(cJSON_IsNumber(batch) && batch->valueint == 8, "the step's batch is not recorded");
  /* --repeats holds for training steps too (on CPU devices they default to fewer) */
  const cJSON *repeats = cJSON_GetObjectItem(result, "repeats");
  cr_expect(cJSON_IsNumber(repeats) && repeats->valueint == 1, "%d repeats, not 1",
            cJSON_IsNumber(repeats) ? repeats->valueint : -1);
  const cJSON *profile = cJSON_GetObjectItem(result, "profile");
  const cJSON *kernels = cJSON_GetObjectItem(profile, "kernels");
  const cJSON *dispatches = cJSON_GetObjectItem(profile, "dispatches");
  cr_assert(cJSON_GetArraySize(kernels) > 5 && cJSON_GetArraySize(dispatches) > 20,
            "%d kernels, %d dispatches", cJSON_GetArraySize(kernels),
            cJSON_GetArraySize(dispatches));
  double total = 0, previous = INFINITY;
  int counted = 0;
  const cJSON *k;
  cJSON_ArrayForEach(k, kernels) {
    const char *shader = cJSON_GetObjectItem(k, "shader")->valuestring;
    double ms = cJSON_GetObjectItem(k, "ms")->valuedouble, sum = 0;
    int n = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, dispatches) {
      if (strcmp(cJSON_GetArrayItem(d, 0)->valuestring, shader) == 0)
        sum += cJSON_GetArrayItem(d, 1)->valuedouble, n++;
    }
    cr_expect_eq(n, cJSON_GetObjectItem(k, "dispatches")->valueint, "%s", shader);
    cr_expect(fabs(sum - ms) <= 1e-9 * (1 + ms), "%s: %g ms in the table, %g in the list", shader,
              ms, sum);
    cr_expect(ms <= previous, "%s is out of order", shader);
    char row[80];
    snprintf(row, sizeof row, "    %-30s %4d dispatches ", shader, n);
    cr_expect(strstr(o.out, row) != NULL, "no row '%s' in stdout:\n%s", row, o.out);
    previous = ms, total += ms, counted += n;
  }
  cr_expect_eq(counted, cJSON_GetArraySize(dispatches));
  double total_ms = cJSON_GetObjectItem(profile, "total_ms")->valuedouble;
  cr_expect(fabs(total - total_ms) <= 1e-9 * (1 + total_ms), "%g against %g", total, total_ms);
  cr_expect(strstr(o.out, "  one profiled step, ") != NULL, "stdout:\n%s", o.out);
  cJSON_Delete(root);
  outcome_free(&o);
  remove_tree(dir);
  free(dir);
}

/* A dataset that is not there: one line (the test split's would repeat the training one's),
 * and nothing on stdout. */
Test(cli, data_info_of_a_missing_dataset_takes_one_line) {
  outcome o = RUN("data", "info", "cifar10", "--dir", "/nonexistent/cifar");
  cr_expect_eq(o.status, 1, "exit status %d; stderr:\n%s", o.status, o.err);
  cr_expect_eq(count_lines(o.err), 1, "stderr:\n%s", o.err);
  cr_expect(strstr(o.err, "repro: cifar10: no data_batch_1.bin in /nonexistent/cifar") == o.err,
            "stderr:\n%s", o.err);
  /* nothing on stdout, where a redirected description would be cut short */
  cr_expect_str_eq(o.out, "");
  outcome_free(&o);
}
