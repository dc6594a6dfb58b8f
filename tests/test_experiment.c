/* Experiment files and their outputs, without a device: the schema's validation (every
 * malformed case names its JSON path, and nothing is written), defaults, seeds and plans,
 * Welch's t-test against independently computed values, and the whole `repro run` flow
 * (run records, resume, summary, results.json, figures) driven by a stand-in backend whose
 * results are known in advance. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exp/driver.h"
#include "exp/experiment.h"
#include "exp/figures.h"
#include "exp/files.h"
#include "exp/stats.h"
#include "io/file.h"
#include "io/json.h"
#include "support/tmpfiles.h"
#include "train/loss_spec.h"
#include "train/safetensors.h"

TestSuite(experiment);

#define ASSERT_OK(expr)                                                                            \
  do {                                                                                             \
    rp_status st_ = (expr);                                                                        \
    cr_assert_eq(st_, RP_OK, "%s failed: %s", #expr, rp_error_message());                          \
  } while (0)

/* ---- helpers */

/* A recipe with values no real recipe has, so a test can tell a default from a given value. */
static void fake_recipe(const char *model, const char *dataset, rp_exp_training *t,
                        int64_t *validation) {
  *t = (rp_exp_training){.epochs = 7,
                         .batch = 64,
                         .lr = 0.05,
                         .lr_gamma = 0.2,
                         .lr_steps = {3, 5},
                         .lr_step_count = 2,
                         .momentum = 0.8,
                         .weight_decay = 3e-4,
                         .crop = true,
                         .flip = true};
  *validation = strncmp(dataset, "cifar", 5) == 0 ? 500 : 0;
}

static char *temp_dir(void) {
  char *dir = strdup("/tmp/rp_test_experiment_XXXXXX");
  cr_assert(mkdtemp(dir), "mkdtemp");
  return dir;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static const char minimal[] = "{\"name\": \"t\", \"dataset\": {\"name\": \"mnist\"}, \"model\": "
                              "\"mnist_cnn\", \"losses\": [{\"label\": \"ce\", \"loss\": \"ce\"}]}";

/* ---- validation: one malformed file per case, each with its exact message */

typedef struct bad_case {
  const char *json;
  const char *message; /* after "FILE: " */
} bad_case;

#define BASE "\"name\": \"t\", \"dataset\": {\"name\": \"mnist\"}, \"model\": \"mnist_cnn\""
#define LOSSES "\"losses\": [{\"label\": \"ce\", \"loss\": \"ce\"}]"
/* BASE with a validation split, which searches need. */
#define BASE_V                                                                                     \
  "\"name\": \"t\", \"dataset\": {\"name\": \"mnist\", \"validation\": 1000}, \"model\": "         \
  "\"mnist_cnn\""

static const bad_case bad_cases[] = {
    {"{\"name\": \"t\",", "not valid JSON (line 1, column 14)"},
    {"{\n\"name\": \"t\"\n\"model\": 1}", "not valid JSON (line 3, column 1)"},
    {"{\"name\": \"t\", \"seeds\": 3,}", "not valid JSON (line 1, column 27)"},
    {"[1, 2]", "$: expected an object, got [1,2]"},
    /* cJSON would end the string at the NUL: the model mnist_cnn, unseen */
    {"{\"name\": \"t\", \"dataset\": {\"name\": \"mnist\"}, \"model\": "
     "\"mnist_cnn\\u0000x\", " LOSSES "}",
     "a string holds \\u0000 (line 1, column 64), which no name, model or loss may"},
    {"{" BASE ", " LOSSES ", \"extra\": 1}",
     "$.extra: unknown key (expected one of: name, dataset, model, training, losses, seeds, "
     "evaluation, search)"},
    {"{" BASE ", " LOSSES ", \"name\": \"u\"}", "$.name: duplicate key"},
    {"{\"dataset\": {\"name\": \"mnist\"}, \"model\": \"mnist_cnn\", " LOSSES "}",
     "$.name: required key is missing"},
    {"{\"name\": \"t\", \"model\": \"mnist_cnn\", " LOSSES "}",
     "$.dataset: required key is missing"},
    {"{\"name\": \"t\", \"dataset\": {\"name\": \"mnist\"}, " LOSSES "}",
     "$.model: required key is missing"},
    {"{" BASE "}", "$.losses: required key is missing"},
    {"{\"name\": \"a b\", \"dataset\": {\"name\": \"mnist\"}, \"model\": \"mnist_cnn\", " LOSSES
     "}",
     "$.name: expected a name of 1..63 letters, digits, '.', '_' or '-' (not starting with '.'), "
     "got \"a b\""},
    {"{\"name\": \"../x\", \"dataset\": {\"name\": \"mnist\"}, \"model\": \"mnist_cnn\", " LOSSES
     "}",
     "$.name: expected a name of 1..63 letters, digits, '.', '_' or '-' (not starting with '.'), "
     "got \"../x\""},
    {"{\"name\": 3, \"dataset\": {\"name\": \"mnist\"}, \"model\": \"mnist_cnn\", " LOSSES "}",
     "$.name: expected a name of 1..63 letters, digits, '.', '_' or '-' (not starting with '.'), "
     "got 3"},
    {"{\"name\": \"t\", \"dataset\": \"mnist\", \"model\": \"mnist_cnn\", " LOSSES "}",
     "$.dataset: expected an object, got \"mnist\""},
    {"{\"name\": \"t\", \"dataset\": {\"name\": \"imagenet\"}, \"model\": \"mnist_cnn\", " LOSSES
     "}",
     "$.dataset.name: expected one of \"cifar10\", \"cifar100\", \"mnist\", \"fashion-mnist\", got "
     "\"imagenet\""},
    {"{\"name\": \"t\", \"dataset\": {\"name\": \"mnist\", \"size\": 3}, \"model\": "
     "\"mnist_cnn\", " LOSSES "}",
     "$.dataset.size: unknown key (expected one of: name, dir, fraction, validation, "
     "test_images)"},
    {"{\"name\": \"t\", \"dataset\": {\"name\": \"mnist\", \"fraction\": 0}, \"model\": "
     "\"mnist_cnn\", " LOSSES "}",
     "$.dataset.fraction: expected a number in (0, 1], got 0"},
    {"{\"name\": \"t\", \"dataset\": {\"name\": \"mnist\", \"fraction\": 1.5}, \"model\": "
     "\"mnist_cnn\", " LOSSES "}",
     "$.dataset.fraction: expected a number in (0, 1], got 1.5"},
    /* 0.001 of MNIST's 60,000 (no validation by the recipe) is 60 images, and a batch 64 */
    {"{\"name\": \"t\", \"dataset\": {\"name\": \"mnist\", \"fraction\": 0.001}, \"model\": "
     "\"mnist_cnn\", " LOSSES "}",
     "$.dataset.fraction: expected a fraction leaving at least one batch ($.training.batch 64) "
     "of the 60000 training images (it leaves 60), got 0.001"},
    {"{\"name\": \"t\", \"dataset\": {\"name\": \"mnist\", \"validation\": -1}, \"model\": "
     "\"mnist_cnn\", " LOSSES "}",
     "$.dataset.validation: expected an integer in 0..1000000, got -1"},
    {"{\"name\": \"t\", \"dataset\": {\"name\": \"mnist\", \"test_images\": -5}, \"model\": "
     "\"mnist_cnn\", " LOSSES "}",
     "$.dataset.test_images: expected an integer in 0..1000000, got -5"},
    {"{\"name\": \"t\", \"dataset\": {\"name\": \"mnist\", \"validation\": 60000}, \"model\": "
     "\"mnist_cnn\", " LOSSES "}",
     "$.dataset.validation: expected fewer than the 60000 training images, got 60000"},
    {"{\"name\": \"t\", \"dataset\": {\"name\": \"mnist\", \"dir\": \"\"}, \"model\": "
     "\"mnist_cnn\", " LOSSES "}",
     "$.dataset.dir: expected a non-empty path (string), got \"\""},
    {"{\"name\": \"t\", \"dataset\": {\"name\": \"cifar10\"}, \"model\": \"resnet21\", " LOSSES "}",
     "$.model: expected a model: mnist_cnn, allcnn_c, resnetD or preresnetD (D = 6n+2 in "
     "8..10000), wrn-D-K (D = 6n+4 in 10..10000, K in 1..10000), got \"resnet21\""},
    {"{" BASE ", " LOSSES ", \"training\": {\"epochs\": -3}}",
     "$.training.epochs: expected an integer in 1..100000, got -3"},
    {"{" BASE ", " LOSSES ", \"training\": {\"epochs\": 2.5}}",
     "$.training.epochs: expected an integer in 1..100000, got 2.5"},
    {"{" BASE ", " LOSSES ", \"training\": {\"epochs\": \"10\"}}",
     "$.training.epochs: expected an integer in 1..100000, got \"10\""},
    {"{" BASE ", " LOSSES ", \"training\": {\"epoch\": 10}}",
     "$.training.epoch: unknown key (expected one of: epochs, batch, lr, lr_steps, lr_gamma, "
     "momentum, weight_decay, nesterov, augment, max_steps)"},
    {"{" BASE ", " LOSSES ", \"training\": {\"fo\\no\": 10}}",
     "$.training[\"fo\\no\"]: unknown key (expected one of: epochs, batch, lr, lr_steps, "
     "lr_gamma, momentum, weight_decay, nesterov, augment, max_steps)"},
    {"{" BASE ", " LOSSES ", \"training\": []}", "$.training: expected an object, got []"},
    {"{" BASE ", " LOSSES ", \"training\": {\"batch\": 0}}",
     "$.training.batch: expected an integer in 1..4096, got 0"},
    {"{" BASE ", " LOSSES ", \"training\": {\"lr\": 0}}",
     "$.training.lr: expected a number in (0, 100], got 0"},
    {"{" BASE ", " LOSSES ", \"training\": {\"lr\": -0.1}}",
     "$.training.lr: expected a number in (0, 100], got -0.1"},
    {"{" BASE ", " LOSSES ", \"training\": {\"lr\": 1e400}}",
     "$.training.lr: expected a number in (0, 100], got inf (out of range)"},
    {"{" BASE ", " LOSSES ", \"training\": {\"momentum\": 1}}",
     "$.training.momentum: expected a number in [0, 1), got 1"},
    {"{" BASE ", " LOSSES ", \"training\": {\"weight_decay\": -1e-4}}",
     "$.training.weight_decay: expected a number in [0, 1], got -0.0001"},
    {"{" BASE ", " LOSSES ", \"training\": {\"nesterov\": \"yes\"}}",
     "$.training.nesterov: expected true or false, got \"yes\""},
    {"{" BASE ", " LOSSES ", \"training\": {\"lr_steps\": [5, 3]}}",
     "$.training.lr_steps[1]: expected an integer epoch in 6..100000, got 3"},
    {"{" BASE ", " LOSSES ", \"training\": {\"lr_steps\": [1,2,3,4,5,6,7,8,9]}}",
     "$.training.lr_steps: expected a list of at most 8 increasing epochs >= 1, got "
     "[1,2,3,4,5,6,7,8,9]"},
    {"{" BASE ", " LOSSES ", \"training\": {\"lr_steps\": 100}}",
     "$.training.lr_steps: expected a list of at most 8 increasing epochs >= 1, got 100"},
    {"{" BASE ", " LOSSES ", \"training\": {\"augment\": [\"crop\", \"rotate\"]}}",
     "$.training.augment[1]: expected one of \"crop\", \"flip\", \"cutout\", got \"rotate\""},
    {"{" BASE ", " LOSSES ", \"training\": {\"augment\": [\"flip\", \"flip\"]}}",
     "$.training.augment[1]: listed twice"},
    {"{" BASE ", " LOSSES ", \"training\": {\"augment\": \"crop\"}}",
     "$.training.augment: expected a list of \"crop\", \"flip\", \"cutout\", got \"crop\""},
    {"{" BASE ", " LOSSES ", \"training\": {\"max_steps\": -1}}",
     "$.training.max_steps: expected an integer in 0..9007199254740991, got -1"},
    /* 2^53: a JSON number holds every integer below it, printed whole */
    {"{" BASE ", " LOSSES ", \"training\": {\"max_steps\": 9007199254740992}}",
     "$.training.max_steps: expected an integer in 0..9007199254740991, got 9007199254740992"},
    {"{" BASE ", \"losses\": []}", "$.losses: expected a list of 1..256 losses, got []"},
    {"{" BASE ", \"losses\": {\"label\": \"ce\"}}",
     "$.losses: expected a list of 1..256 losses, got {\"label\":\"ce\"}"},
    {"{" BASE ", \"losses\": [{\"label\": \"ce\", \"loss\": \"ce\"}, {\"loss\": \"ce\"}]}",
     "$.losses[1].label: required key is missing"},
    {"{" BASE ", \"losses\": [{\"label\": \"ce\"}]}", "$.losses[0].loss: required key is missing"},
    {"{" BASE ", \"losses\": [\"ce\"]}", "$.losses[0]: expected an object, got \"ce\""},
    {"{" BASE ", \"losses\": [{\"label\": \"ce\", \"loss\": \"ce\"}, {\"label\": \"m\", "
     "\"loss\": \"mse\"}]}",
     "$.losses[1].loss: unknown loss 'mse' (ce, ls:ALPHA or taylorglo:a1,a2,a3,a4,a5,a6,t0,t1)"},
    {"{" BASE ", \"losses\": [{\"label\": \"ls\", \"loss\": \"ls:1.5\"}]}",
     "$.losses[0].loss: loss 'ls:1.5': alpha must be in [0, 1)"},
    {"{" BASE ", \"losses\": [{\"label\": \"tg\", \"loss\": \"taylorglo:1e308,0,0,0,0,0,0,0\"}]}",
     "$.losses[0].loss: loss 'taylorglo:1e308,0,0,0,0,0,0,0': '1e308' is beyond the range of a "
     "float (magnitude at most 3.4e38)"},
    {"{" BASE ", \"losses\": [{\"label\": \"ls\", \"loss\": \"ls:1e-320\"}]}",
     "$.losses[0].loss: loss 'ls:1e-320': '1e-320' is too close to 0 to represent"},
    {"{" BASE ", \"losses\": [{\"label\": \"ls\", \"loss\": \"ls:nan\"}]}",
     "$.losses[0].loss: loss 'ls:nan': 'nan' is not a number"},
    {"{" BASE ", \"losses\": [{\"label\": \"ls\", \"loss\": \"ls:0x1p-4\"}]}",
     "$.losses[0].loss: loss 'ls:0x1p-4': '0x1p-4' is not a number"},
    {"{" BASE ", \"losses\": [{\"label\": \"ls\", \"loss\": \"ls: 0.1\"}]}",
     "$.losses[0].loss: loss 'ls: 0.1': ' 0.1' is not a number"},
    {"{" BASE ", \"losses\": [{\"label\": \"tg\", \"loss\": \"taylorglo:1,2,3\"}]}",
     "$.losses[0].loss: loss 'taylorglo:1,2,3': a TaylorGLO loss has 8 parameters a1..a6,t0,t1"},
    {"{" BASE ", \"losses\": [{\"label\": \"ce\", \"loss\": 1}]}",
     "$.losses[0].loss: expected a loss: \"ce\", \"ls:ALPHA\" or \"taylorglo:a1,...,a6,t0,t1\", "
     "got 1"},
    {"{" BASE ", \"losses\": [{\"label\": \"ce\", \"loss\": \"ce\"}, {\"label\": \"ce\", \"loss\": "
     "\"ls:0.1\"}]}",
     "$.losses[1].label: label \"ce\" is already used by $.losses[0]"},
    {"{" BASE ", \"losses\": [{\"label\": \"a/b\", \"loss\": \"ce\"}]}",
     "$.losses[0].label: expected a name of 1..63 letters, digits, '.', '_' or '-' (not starting "
     "with '.'), got \"a/b\""},
    {"{" BASE ", \"losses\": [{\"label\": \"ce\", \"loss\": \"ce\", \"convention\": \"paper\"}]}",
     "$.losses[0].convention: \"paper\" applies only to a taylorglo loss"},
    {"{" BASE ", \"losses\": [{\"label\": \"ce\", \"loss\": \"ce\", \"convention\": \"math\"}]}",
     "$.losses[0].convention: expected one of \"code\", \"paper\", got \"math\""},
    {"{" BASE ", \"losses\": [{\"label\": \"ce\", \"loss\": \"ce\", \"weight\": 1}]}",
     "$.losses[0].weight: unknown key (expected one of: label, loss, convention)"},
    {"{" BASE ", " LOSSES ", \"seeds\": 0}",
     "$.seeds: expected a count in 1..1000 or a list of 1..1000 distinct integers in 0..1000000, "
     "got 0"},
    {"{" BASE ", " LOSSES ", \"seeds\": \"3\"}",
     "$.seeds: expected a count in 1..1000 or a list of 1..1000 distinct integers in 0..1000000, "
     "got \"3\""},
    {"{" BASE ", " LOSSES ", \"seeds\": [1, -1]}",
     "$.seeds[1]: expected an integer in 0..1000000, got -1"},
    {"{" BASE ", " LOSSES ", \"seeds\": [4, 2, 4]}",
     "$.seeds[2]: seed 4 is already listed at $.seeds[0]"},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"fgsm\": [0, 1.5]}}",
     "$.evaluation.fgsm[1]: expected an epsilon in [0, 1]: a number or a fraction \"N/D\", got "
     "1.5"},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"fgsm\": [\"8/0\"]}}",
     "$.evaluation.fgsm[0]: expected an epsilon in [0, 1]: a number or a fraction \"N/D\", got "
     "\"8/0\""},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"fgsm\": [\"8/255\", \"8/255x\"]}}",
     "$.evaluation.fgsm[1]: expected an epsilon in [0, 1]: a number or a fraction \"N/D\", got "
     "\"8/255x\""},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"fgsm\": [\" 8/255\"]}}",
     "$.evaluation.fgsm[0]: expected an epsilon in [0, 1]: a number or a fraction \"N/D\", got "
     "\" 8/255\""},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"fgsm\": [0.1, 0.1]}}",
     "$.evaluation.fgsm[1]: epsilon listed twice"},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"fgsm\": 0.1}}",
     "$.evaluation.fgsm: expected a list of at most 32 epsilons, got 0.1"},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"clean\": 1}}",
     "$.evaluation.clean: expected true or false, got 1"},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"eps_mode\": \"linf\"}}",
     "$.evaluation.eps_mode: expected one of \"pixel\", \"normalized\", got \"linf\""},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"pgd\": {\"steps\": 10}}}",
     "$.evaluation.pgd.eps: required key is missing"},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"pgd\": {\"eps\": [0.1], \"steps\": 0}}}",
     "$.evaluation.pgd.steps: expected an integer in 1..1000, got 0"},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"pgd\": {\"eps\": [0.1], \"step_size\": 0}}}",
     "$.evaluation.pgd.step_size: expected a number in (0, 1], got 0"},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"pgd\": {\"eps\": [0.1], \"restarts\": 1}}}",
     "$.evaluation.pgd.restarts: unknown key (expected one of: eps, steps, step_size)"},
    {"{" BASE ", " LOSSES ", \"evaluation\": {\"cw\": []}}",
     "$.evaluation.cw: unknown key (expected one of: clean, fgsm, pgd, eps_mode)"},
    {"{" BASE_V ", " LOSSES ", \"search\": {\"population\": 1}}",
     "$.search.population: expected an integer in 2..10000, got 1"},
    {"{" BASE_V ", " LOSSES ", \"search\": {\"sigma0\": 0}}",
     "$.search.sigma0: expected a number in (0, 1000], got 0"},
    {"{" BASE_V ", " LOSSES ", \"search\": {\"invariant\": \"both\"}}",
     "$.search.invariant: expected one of \"off\", \"code\", \"softmax\", got \"both\""},
    {"{" BASE_V ", " LOSSES ", \"search\": {\"fitness_eps\": \"0/255\"}}",
     "$.search.fitness_eps: expected an epsilon in (0, 1]: a number or a fraction \"N/D\", got "
     "\"0/255\""},
    {"{" BASE_V ", " LOSSES ", \"search\": {\"fitness\": \"loss\"}}",
     "$.search.fitness: expected one of \"val_accuracy\", \"fgsm\", got \"loss\""},
    {"{" BASE_V ", " LOSSES ", \"search\": {\"invariant\": \"off\", \"prune\": true}}",
     "$.search.prune: true needs an invariant (\"code\" or \"softmax\")"},
    {"{" BASE_V ", " LOSSES ", \"training\": {\"epochs\": 5}, \"search\": {\"epochs\": 6}}",
     "$.search.epochs: expected at most the 5 training epochs, got 6"},
    {"{" BASE_V ", " LOSSES ", \"search\": {\"retry_below\": 1.5}}",
     "$.search.retry_below: expected a number in [0, 1], got 1.5"},
    {"{" BASE_V ", " LOSSES ", \"search\": {\"then_train_best\": \"no\"}}",
     "$.search.then_train_best: expected true or false, got \"no\""},
    {"{" BASE_V ", " LOSSES ", \"search\": {\"generation\": 3}}",
     "$.search.generation: unknown key (expected one of: label, population, generations, sigma0, "
     "invariant, prune, fitness, fitness_eps, epochs, retry_below, retry_epoch, retries, "
     "then_train_best, seed)"},
    {"{" BASE ", " LOSSES ", \"search\": {\"population\": 4}}",
     "$.search: a search needs a validation split: set $.dataset.validation above 0"},
    {"{" BASE_V ", \"losses\": [{\"label\": \"best_inv\", \"loss\": \"ce\"}], \"search\": "
     "{\"label\": \"inv\"}}",
     "$.search.label: the best loss of this search is trained as \"best_inv\", which $.losses[0] "
     "already uses"},
    {"{" BASE_V ", " LOSSES ", \"search\": {\"seed\": 0}}",
     "$.search.seed: expected an integer in 1..1000000, got 0"},
    {"{" BASE_V ", " LOSSES ", \"search\": true}",
     "$.search: expected a search object or a list of 1..16 of them, got true"},
    {"{" BASE_V ", " LOSSES ", \"search\": []}",
     "$.search: expected a search object or a list of 1..16 of them, got []"},
    {"{" BASE_V ", " LOSSES ", \"search\": [{\"label\": \"a\"}, {\"population\": 4}]}",
     "$.search[1].label: required key is missing"},
    {"{" BASE_V ", " LOSSES ", \"search\": [{\"label\": \"a\"}, {\"label\": \"a\"}]}",
     "$.search[1].label: label \"a\" is already used by $.search[0]"},
    {"{" BASE_V ", " LOSSES ", \"search\": [{\"label\": \"a\"}, {\"label\": \"b\", \"invariant\": "
     "\"off\", \"prune\": true}]}",
     "$.search[1].prune: true needs an invariant (\"code\" or \"softmax\")"},
};

Test(experiment, every_malformed_file_names_its_path_and_writes_nothing) {
  char *dir = temp_dir();
  char file[256];
  snprintf(file, sizeof file, "%s/bad.json", dir);
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    write_file(file, bad_cases[i].json);
    rp_experiment e;
    rp_status st = rp_exp_load(file, fake_recipe, &e);
    cr_assert_eq(st, RP_ERR_INVALID_ARGUMENT, "case %zu (%s) was accepted", i, bad_cases[i].json);
    char expected[1024];
    snprintf(expected, sizeof expected, "%s: %s", file, bad_cases[i].message);
    cr_assert_str_eq(rp_error_message(), expected, "case %zu", i);
    cr_assert_null(e.losses, "case %zu left allocations", i);
    /* Nothing written: the directory holds the experiment file only. */
    cr_assert_eq(count_entries(dir), 1, "case %zu wrote something", i);
  }
  /* A missing file, and a directory given as the file: bad input, and the message says why. */
  rp_experiment e;
  cr_assert_eq(rp_exp_load("/nonexistent/x.json", fake_recipe, &e), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(),
                   "cannot read /nonexistent/x.json: No such file or directory");
  cr_assert_eq(rp_exp_load(dir, fake_recipe, &e), RP_ERR_INVALID_ARGUMENT);
  char expected[300];
  snprintf(expected, sizeof expected, "cannot read %s: Is a directory", dir);
  cr_assert_str_eq(rp_error_message(), expected);
  /* A device, which would never end, and a file too large to be an experiment's: refused
   * before reading. */
  cr_assert_eq(rp_exp_load("/dev/zero", fake_recipe, &e), RP_ERR_INVALID_ARGUMENT);
  cr_assert_str_eq(rp_error_message(), "/dev/zero: not a regular file");
  char big[200];
  snprintf(big, sizeof big, "%s/big.json", dir);
  FILE *f = fopen(big, "w");
  cr_assert(f && ftruncate(fileno(f), (off_t)17 << 20) == 0 && fclose(f) == 0);
  cr_assert_eq(rp_exp_load(big, fake_recipe, &e), RP_ERR_INVALID_ARGUMENT);
  snprintf(expected, sizeof expected, "%s: larger than 16 MiB", big);
  cr_assert_str_eq(rp_error_message(), expected);
  remove_tree(dir);
  free(dir);
}

/* The schema's good cases in the same form: each parses. */
Test(experiment, well_formed_variants_parse) {
  static const char *const good[] = {
      "{" BASE ", " LOSSES ", \"seeds\": [0, 7, 3]}",
      "{" BASE ", " LOSSES ", \"training\": {\"lr_steps\": [], \"augment\": []}}",
      "{" BASE ", " LOSSES ", \"evaluation\": {\"fgsm\": [0, \"1/255\", 0.3], \"pgd\": {\"eps\": "
      "[\"8/255\"], \"steps\": 7, \"step_size\": 0.01}, \"eps_mode\": \"normalized\"}}",
      "{" BASE ", \"losses\": [{\"label\": \"tg\", \"loss\": \"taylorglo:1,2,3,4,5,6,7,8\", "
      "\"convention\": \"paper\"}]}",
      "{" BASE_V ", " LOSSES ", \"search\": {\"invariant\": \"off\"}}",
      "{\"name\": \"w\", \"dataset\": {\"name\": \"cifar100\"}, \"model\": \"wrn-16-8\", " LOSSES
      "}",
      "{\"name\": \"p\", \"dataset\": {\"name\": \"cifar10\"}, \"model\": \"preresnet56\", " LOSSES
      "}",
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    rp_experiment e;
    rp_status st = rp_exp_parse(good[i], "good.json", fake_recipe, &e);
    cr_assert_eq(st, RP_OK, "case %zu: %s", i, rp_error_message());
    rp_exp_free(&e);
  }
}

Test(experiment, defaults_come_from_the_recipe_and_the_schema) {
  rp_experiment e;
  ASSERT_OK(rp_exp_parse(minimal, "m.json", fake_recipe, &e));
  cr_assert_str_eq(e.name, "t");
  cr_assert_str_eq(e.dataset, "mnist");
  cr_assert_str_eq(e.model, "mnist_cnn");
  cr_assert_str_eq(e.data_dir, "");
  cr_assert_eq(e.fraction, 1.0);
  cr_assert_eq(e.validation, 0);
  cr_assert_eq(e.training.epochs, 7);
  cr_assert_eq(e.training.batch, 64);
  cr_assert_eq(e.training.lr, 0.05);
  cr_assert_eq(e.training.lr_gamma, 0.2);
  cr_assert_eq(e.training.lr_step_count, 2);
  cr_assert_eq(e.training.lr_steps[1], 5);
  cr_assert_eq(e.training.momentum, 0.8);
  cr_assert_eq(e.training.weight_decay, 3e-4);
  cr_assert(e.training.crop && e.training.flip && !e.training.cutout && !e.training.nesterov);
  cr_assert_eq(e.training.max_steps, 0);
  cr_assert_eq(e.seed_count, 1);
  cr_assert_eq(e.seeds[0], 1);
  cr_assert_eq(e.loss_count, 1);
  cr_assert_str_eq(e.losses[0].canonical, "ce");
  cr_assert(e.eval.clean);
  cr_assert_eq(e.eval.fgsm_count, 0);
  cr_assert_eq(e.eval.pgd_count, 0);
  cr_assert_eq(e.eval.pgd_steps, 10);
  cr_assert_eq(e.eval.pgd_step_size, 0);
  cr_assert(!e.eval.normalized);
  cr_assert_eq(e.search_count, 0);
  rp_exp_free(&e);

  /* Given values override, others keep the recipe's; CIFAR's validation default. */
  const char *text =
      "{\"name\": \"c\", \"dataset\": {\"name\": \"cifar10\", \"fraction\": 0.1, \"dir\": "
      "\"/data/c\"}, \"model\": \"resnet20\", \"training\": {\"epochs\": 3, \"augment\": "
      "[\"cutout\"], \"nesterov\": true, \"lr_steps\": [2]}, \"losses\": [{\"label\": \"tg\", "
      "\"loss\": \"taylorglo:2,4,6,8,10,12,7,8\", \"convention\": \"paper\"}], \"seeds\": 4, "
      "\"evaluation\": {\"clean\": false, \"fgsm\": [\"8/255\", 0.05], \"pgd\": {\"eps\": "
      "[0.1]}}, \"search\": {\"population\": 40, \"invariant\": \"softmax\"}}";
  ASSERT_OK(rp_exp_parse(text, "c.json", fake_recipe, &e));
  cr_assert_eq(e.validation, 500);
  cr_assert_eq(e.fraction, 0.1);
  cr_assert_str_eq(e.data_dir, "/data/c");
  cr_assert_eq(e.training.epochs, 3);
  cr_assert_eq(e.training.batch, 64);
  cr_assert_eq(e.training.lr_step_count, 1);
  cr_assert(!e.training.crop && !e.training.flip && e.training.cutout && e.training.nesterov);
  cr_assert_eq(e.seed_count, 4);
  cr_assert_eq(e.seeds[3], 4);
  /* Paper convention: a2, a3, a5, a6 divided by 2, 6, 2, 2 (taylorglo.md §1). */
  cr_assert_str_eq(e.losses[0].canonical, "taylorglo:2,2,1,8,5,6,7,8");
  cr_assert(!e.eval.clean);
  cr_assert_eq(e.eval.fgsm_count, 2);
  cr_assert_float_eq(e.eval.fgsm[0], 8.0 / 255, 1e-15);
  cr_assert_eq(e.eval.pgd_count, 1);
  cr_assert_eq(e.search_count, 1);
  const rp_exp_search *s = &e.searches[0];
  cr_assert_str_eq(s->label, "search");
  cr_assert_eq(s->population, 40);
  cr_assert_eq(s->generations, 100);
  cr_assert_eq(s->sigma0, 1.2);
  cr_assert_eq(s->invariant, RP_EXP_INVARIANT_SOFTMAX);
  cr_assert(s->prune);
  cr_assert_eq(s->fitness, RP_EXP_FITNESS_VAL_ACCURACY);
  cr_assert_eq(s->fitness_eps, 0.1);
  cr_assert_eq(s->epochs, 3); /* the training epochs */
  cr_assert_eq(s->retry_below, 0.15);
  cr_assert_eq(s->retry_epoch, 10);
  cr_assert_eq(s->retries, 2); /* three tries in all (taylorglo.md §5) */
  cr_assert(s->then_train_best);

  /* The resolved experiment is itself a valid file that resolves to the same thing. */
  cJSON *j = rp_exp_to_json(&e);
  char *printed = cJSON_Print(j);
  rp_experiment again;
  ASSERT_OK(rp_exp_parse(printed, "resolved.json", fake_recipe, &again));
  cJSON *j2 = rp_exp_to_json(&again);
  cr_assert(cJSON_Compare(j, j2, true), "resolved experiment does not round-trip:\n%s", printed);
  cJSON_Delete(j);
  cJSON_Delete(j2);
  free(printed);
  rp_exp_free(&again);
  rp_exp_free(&e);

  /* A search's epochs default to the training's, whose largest is also the largest a search
   * takes, so the resolved file parses again (200,000 training epochs were once let through and
   * written as the search's, which its own limit refused). */
  ASSERT_OK(rp_exp_parse("{" BASE_V ", " LOSSES ", \"training\": {\"epochs\": 100000}, "
                         "\"search\": {}}",
                         "s.json", fake_recipe, &e));
  cr_assert_eq(e.searches[0].epochs, 100000);
  j = rp_exp_to_json(&e);
  printed = cJSON_Print(j);
  ASSERT_OK(rp_exp_parse(printed, "resolved.json", fake_recipe, &again));
  cJSON_Delete(j);
  free(printed);
  rp_exp_free(&again);
  rp_exp_free(&e);

  /* Invariant off turns pruning off (nothing to prune by). */
  ASSERT_OK(rp_exp_parse("{" BASE_V ", " LOSSES ", \"search\": {\"invariant\": \"off\"}}", "s.json",
                         fake_recipe, &e));
  cr_assert(!e.searches[0].prune);
  rp_exp_free(&e);

  /* Several searches: a list of labelled blocks, each with its own defaults. */
  ASSERT_OK(rp_exp_parse("{" BASE_V ", " LOSSES ", \"search\": [{\"label\": \"on\"}, {\"label\": "
                         "\"off\", \"invariant\": \"off\"}, {\"label\": \"record\", \"prune\": "
                         "false, \"population\": 40}]}",
                         "s.json", fake_recipe, &e));
  cr_assert_eq(e.search_count, 3);
  cr_assert(e.searches[0].prune && e.searches[0].invariant == RP_EXP_INVARIANT_CODE);
  cr_assert(!e.searches[1].prune && e.searches[1].invariant == RP_EXP_INVARIANT_OFF);
  cr_assert(!e.searches[2].prune && e.searches[2].invariant == RP_EXP_INVARIANT_CODE);
  cr_assert_eq(e.searches[2].population, 40);
  cr_assert_eq(e.searches[1].population, 10);
  j = rp_exp_to_json(&e);
  printed = cJSON_Print(j);
  ASSERT_OK(rp_exp_parse(printed, "resolved.json", fake_recipe, &again));
  j2 = rp_exp_to_json(&again);
  cr_assert(cJSON_Compare(j, j2, true), "resolved searches do not round-trip:\n%s", printed);
  cJSON_Delete(j);
  cJSON_Delete(j2);
  free(printed);
  rp_exp_free(&again);
  rp_exp_free(&e);
}

/* What changed between a record and the experiment now: the first difference's JSON path, a
 * key that is not a plain name quoted (as the schema's errors quote it), and both values. */
/* A loss's canonical text reads back as the same loss, bit for bit: records and states are
 * matched by it, so two losses must never share one (0.1000001 and 0.1000002 printed as
 * 0.1 would make runs of either count as the other's). Short values keep their short text. */
Test(experiment, loss_text_reads_back_as_the_same_loss) {
  static const char *const same[] = {
      "ce",           "ls:0.1",
      "ls:0",         "taylorglo:8.2896,0.2415,7.8726,8.9666,2.0184,7.0513,-10.9408,7.5216",
      "ls:0.1000001", "taylorglo:1,0.5,1.3333334,2,-3.4028235e+38,1.4013e-45,0,-0"};
  char text[256];
  for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
    rp_loss l;
    ASSERT_OK(rp_loss_parse(same[i], false, &l));
    rp_loss_format(&l, text, sizeof text);
    cr_expect_str_eq(text, same[i]);
  }
  rp_loss a, b;
  ASSERT_OK(rp_loss_parse("ls:0.1000001", false, &a));
  ASSERT_OK(rp_loss_parse("ls:0.1000002", false, &b));
  char text_b[256];
  rp_loss_format(&a, text, sizeof text);
  rp_loss_format(&b, text_b, sizeof text_b);
  cr_expect(a.alpha != b.alpha && strcmp(text, text_b) != 0, "%s and %s", text, text_b);
  /* the paper's a3 = 8 is the code's 8/6, in full */
  ASSERT_OK(rp_loss_parse("taylorglo:1,1,8,2,1,1,0,0", true, &a));
  rp_loss_format(&a, text, sizeof text);
  cr_expect_str_eq(text, "taylorglo:1,0.5,1.3333334,2,0.5,0.5,0,0");
  /* Every float: random bit patterns of finite values, each parameter read back exactly. */
  uint32_t x = 12345;
  for (int i = 0; i < 20000; i++) {
    rp_loss l = {.kind = RP_LOSS_TAYLORGLO};
    for (int k = 0; k < 8; k++) {
      do {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        memcpy(&l.theta[k], &x, sizeof x);
      } while (!isfinite(l.theta[k]));
    }
    rp_loss_format(&l, text, sizeof text);
    rp_loss back;
    ASSERT_OK(rp_loss_parse(text, false, &back));
    /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison): the bits, on purpose (-0 is not 0) */
    cr_assert(memcmp(back.theta, l.theta, sizeof l.theta) == 0, "%s read back otherwise", text);
  }
}

Test(experiment, differences_name_their_json_path) {
  cJSON *was = cJSON_Parse("{\"lr\": 0.1, \"a.b\": {\"x[0]\": [1, 2]}, \"gone\": true}");
  cJSON *now = cJSON_Parse("{\"lr\": 0.1, \"a.b\": {\"x[0]\": [1, 3]}, \"new\": 1}");
  char path[128], a[32], b[32];
  cr_assert(rp_exp_json_difference(was, now, "$.config", path, sizeof path, a, b, sizeof a));
  cr_expect_str_eq(path, "$.config[\"a.b\"][\"x[0]\"][1]");
  cr_expect_str_eq(a, "2");
  cr_expect_str_eq(b, "3");
  cJSON_ReplaceItemInObject(now, "a.b", cJSON_Parse("{\"x[0]\": [1, 2]}"));
  cr_assert(rp_exp_json_difference(was, now, "$.config", path, sizeof path, a, b, sizeof a));
  cr_expect_str_eq(path, "$.config.gone");
  cr_expect_str_eq(a, "true");
  cr_expect_str_eq(b, "absent");
  cJSON_AddTrueToObject(now, "gone");
  cr_assert(rp_exp_json_difference(was, now, "$.config", path, sizeof path, a, b, sizeof a));
  cr_expect_str_eq(path, "$.config.new");
  cr_expect_str_eq(a, "absent");
  cr_expect_str_eq(b, "1");
  cJSON_DeleteItemFromObject(now, "new");
  cr_expect_not(rp_exp_json_difference(was, now, "$.config", path, sizeof path, a, b, sizeof a));
  cJSON_Delete(was);
  cJSON_Delete(now);
}

/* ---- seeds and plans */

Test(experiment, seeds_follow_identity_not_order) {
  /* Pinned, with values from an independent Python transcription of the derivation (FNV-1a 64
   * over "name\0label\0number\0", SplitMix64 finalizer, low 53 bits): changing the derivation
   * silently would change every experiment's runs. */
  cr_assert_eq(rp_exp_derive_seed("cifar10_adv", "ce", 1), UINT64_C(0xf95baa5302632));
  cr_assert_eq(rp_exp_derive_seed("cifar10_adv", "taylorglo_mnist", 3), UINT64_C(0x98dea14fc088b));
  uint64_t a = rp_exp_derive_seed("exp", "ce", 1);
  cr_assert_eq(a, rp_exp_derive_seed("exp", "ce", 1));
  cr_assert_neq(a, rp_exp_derive_seed("exp", "ce", 2));
  cr_assert_neq(a, rp_exp_derive_seed("exp", "ls", 1));
  cr_assert_neq(a, rp_exp_derive_seed("exp2", "ce", 1));
  /* Field boundaries matter: ("ab", "c") is not ("a", "bc"). */
  cr_assert_neq(rp_exp_derive_seed("ab", "c", 1), rp_exp_derive_seed("a", "bc", 1));
  for (int s = 0; s < 100; s++) cr_assert_lt(rp_exp_derive_seed("x", "y", s), UINT64_C(1) << 53);

  const char *one =
      "{\"name\": \"o\", \"dataset\": {\"name\": \"mnist\"}, \"model\": \"mnist_cnn\", "
      "\"losses\": [{\"label\": \"ce\", \"loss\": \"ce\"}, {\"label\": \"ls\", "
      "\"loss\": \"ls:0.1\"}], \"seeds\": 3}";
  const char *other =
      "{\"name\": \"o\", \"dataset\": {\"name\": \"mnist\"}, \"model\": \"mnist_cnn\", "
      "\"losses\": [{\"label\": \"tg\", \"loss\": \"taylorglo:1,1,1,1,1,1,0,0\"}, {\"label\": "
      "\"ls\", \"loss\": \"ls:0.1\"}, {\"label\": \"ce\", \"loss\": \"ce\"}], \"seeds\": [3, 2, "
      "1]}";
  rp_experiment e1, e2;
  ASSERT_OK(rp_exp_parse(one, "1.json", fake_recipe, &e1));
  ASSERT_OK(rp_exp_parse(other, "2.json", fake_recipe, &e2));
  rp_exp_plan p1, p2;
  ASSERT_OK(rp_exp_make_plan(&e1, &p1));
  ASSERT_OK(rp_exp_make_plan(&e2, &p2));
  cr_assert_eq(p1.run_count, 6);
  cr_assert_eq(p2.run_count, 9);
  cr_assert_str_eq(p1.runs[0].id, "ce-s1");
  cr_assert_str_eq(p1.runs[5].id, "ls-s3");
  int matched = 0;
  for (int i = 0; i < p1.run_count; i++)
    for (int j = 0; j < p2.run_count; j++)
      if (strcmp(p1.runs[i].id, p2.runs[j].id) == 0) {
        cr_assert_eq(p1.runs[i].seed, p2.runs[j].seed, "%s", p1.runs[i].id);
        cr_assert_eq(p1.runs[i].seed,
                     rp_exp_derive_seed("o", e1.losses[p1.runs[i].loss_index].label,
                                        p1.runs[i].seed_number));
        matched++;
      }
  cr_assert_eq(matched, 6);
  /* Every seed goes into the records as the integer it is, all 16 digits of it (cJSON alone
   * prints 15, a different seed for whoever copies one into repro train --seed). */
  for (int i = 0; i < p1.run_count; i++) {
    const rp_exp_run *r = &p1.runs[i];
    cJSON *config = rp_exp_config_json(&e1, &e1.losses[r->loss_index], r->seed);
    char *text = rp_json_print(config, false);
    char want[64];
    snprintf(want, sizeof want, "\"seed\":%llu,", (unsigned long long)r->seed);
    cr_assert(strstr(text, want), "%s: no %s in %s", r->id, want, text);
    cJSON *back = cJSON_Parse(text);
    cr_assert_eq(cJSON_GetObjectItem(back, "seed")->valuedouble, (double)r->seed);
    cJSON_Delete(back);
    cJSON_free(text);
    cJSON_Delete(config);
  }
  /* Cost: mnist, 60000 images, batch 64 -> 938 batches x 7 epochs x 64 x 6 runs. */
  cr_assert_eq(p1.train_images, 60000);
  cr_assert_eq(p1.image_steps, 938.0 * 7 * 64 * 6);
  cr_assert_eq(p1.epochs, 42);
  /* per run: 7 epochs x 10000 test images + 10000 clean. */
  cr_assert_eq(p1.eval_images, (7.0 * 10000 + 10000) * 6);
  rp_exp_plan_free(&p1);
  rp_exp_plan_free(&p2);
  rp_exp_free(&e1);
  rp_exp_free(&e2);

  /* The schema's largest counts multiplied: 256 losses x 1000 seeds x 100,000 epochs of
   * 60,000 single-image steps, 1.5e15 image-steps, far beyond 32 bits. */
  static char text[16384];
  int n = snprintf(text, sizeof text,
                   "{\"name\": \"huge\", \"dataset\": {\"name\": \"mnist\"}, \"model\": "
                   "\"mnist_cnn\", \"training\": {\"epochs\": 100000, \"batch\": 1}, "
                   "\"seeds\": 1000, \"losses\": [");
  for (int l = 0; l < 256; l++)
    n += snprintf(text + n, sizeof text - (size_t)n, "%s{\"label\": \"l%d\", \"loss\": \"ce\"}",
                  l ? ", " : "", l);
  snprintf(text + n, sizeof text - (size_t)n, "]}");
  rp_experiment huge;
  ASSERT_OK(rp_exp_parse(text, "huge.json", fake_recipe, &huge));
  rp_exp_plan p3;
  ASSERT_OK(rp_exp_make_plan(&huge, &p3));
  double expected = 60000.0 * 100000.0 * 256000.0;
  cr_assert(fabs(p3.image_steps - expected) <= 1e-12 * expected, "%g image-steps, not %g",
            p3.image_steps, expected);
  cr_assert_eq(p3.epochs, 100000.0 * 256000.0);
  rp_exp_plan_free(&p3);
  rp_exp_free(&huge);

  /* max_steps ends the runs early: 2,000 steps of 938 a epoch are 3 epochs, not the 7 asked
   * for, in the epochs as in the cost. */
  rp_experiment capped;
  ASSERT_OK(rp_exp_parse("{\"name\": \"capped\", \"dataset\": {\"name\": \"mnist\"}, "
                         "\"model\": \"mnist_cnn\", \"training\": {\"epochs\": 7, \"batch\": 64, "
                         "\"max_steps\": 2000}, \"seeds\": 2, \"losses\": [{\"label\": \"ce\", "
                         "\"loss\": \"ce\"}]}",
                         "capped.json", fake_recipe, &capped));
  rp_exp_plan p4;
  ASSERT_OK(rp_exp_make_plan(&capped, &p4));
  cr_assert_eq(p4.image_steps, 2000.0 * 64 * 2);
  cr_assert_eq(p4.epochs, 3.0 * 2, "%g epochs", p4.epochs);
  rp_exp_plan_free(&p4);
  rp_exp_free(&capped);
}

/* ---- Welch's t-test */

/* Reference values: tests/data/welch_reference.py (a pure-Python computation independent of
 * GSL: statistics by hand, the t tail as the regularized incomplete beta function integrated
 * by Simpson's rule with 2e6 intervals). The first sample pair is Wikipedia's "Welch's t-test"
 * example 1 (t = -2.46, df = 24.9, p = 0.021 there, to the digits shown). */
Test(experiment, welch_matches_independent_values) {
  static const double a1[] = {27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1,
                              21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4};
  static const double a2[] = {27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0,
                              24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4};
  rp_welch w = rp_welch_test(a1, 15, a2, 15);
  cr_assert_float_eq(w.t, -2.45535639829, 1e-9);
  cr_assert_float_eq(w.df, 24.9885292902, 1e-8);
  cr_assert_float_eq(w.p, 0.0213780014629, 1e-9);
  static const double b1[] = {0.91, 0.92, 0.905}, b2[] = {0.88, 0.90, 0.87, 0.89};
  w = rp_welch_test(b1, 3, b2, 4);
  cr_assert_float_eq(w.t, 3.41121146169, 1e-9);
  cr_assert_float_eq(w.df, 4.86432160804, 1e-9);
  cr_assert_float_eq(w.p, 0.0198584808148, 1e-9);
  /* Symmetric in the samples up to the sign of t. */
  rp_welch r = rp_welch_test(b2, 4, b1, 3);
  cr_assert_float_eq(r.t, -3.41121146169, 1e-9);
  cr_assert_float_eq(r.p, w.p, 1e-15);
  /* Undefined cases. */
  cr_assert(isnan(rp_welch_test(b1, 1, b2, 4).p));
  static const double same[] = {0.5, 0.5, 0.5};
  cr_assert(isnan(rp_welch_test(same, 3, same, 3).p));
  cr_assert_float_eq(rp_mean(b2, 4), 0.885, 1e-15);
  cr_assert_float_eq(rp_sample_std(b2, 4), sqrt(0.0005 / 3), 1e-15);
  cr_assert(isnan(rp_sample_std(b2, 1)));
}

/* ---- the run flow with a stand-in backend */

/* Known results: test accuracy base[loss] + 0.01 * seed number; FGSM and PGD from tables; the
 * loss labelled "boom" diverges in its second epoch. */
typedef struct fake {
  int calls;
  int events[4];
  /* Searches: candidate trainings in all and per search, and the one that fails (0: none);
   * trainings that found a candidate's state left at their state path. */
  int candidates, per_search[4], fail_at, found_states;
  /* Runs of this seed find part of the training set (0: none do). */
  int partial_seed;
  /* Every search candidate trains normally (neither failed nor pruned) and scores fitness 0. */
  bool zero_fitness;
} fake;

static double fake_accuracy(const char *label, int seed) {
  /* "stuck": two seeds below the at-chance bound of 10 classes (15%), one at it, which is not
   * below (1.5 * 0.1 is 0.15000000000000002 in double, and counted it). */
  static const double stuck[] = {0.10, 0.1499, 0.15};
  if (strcmp(label, "stuck") == 0) return stuck[(seed - 1) % 3];
  return (strcmp(label, "ce") == 0 ? 0.89 : 0.91) + 0.01 * seed;
}

static rp_status fake_train(void *user, const rp_experiment *e, const rp_exp_run *run,
                            const char *state_path, rp_exp_result *out) {
  fake *f = user;
  f->calls++;
  const char *label = e->losses[run->loss_index].label;
  bool ce = strcmp(label, "ce") == 0;
  /* "boom" diverges in every run, "shaky" in its third seed's alone */
  bool boom = strcmp(label, "boom") == 0 || (strcmp(label, "shaky") == 0 && run->seed_number == 3);
  int epochs = boom ? 1 : e->training.epochs;
  out->epochs = calloc((size_t)epochs, sizeof *out->epochs);
  out->epoch_count = epochs;
  double final = fake_accuracy(label, run->seed_number);
  for (int i = 0; i < epochs; i++)
    out->epochs[i] = (rp_exp_epoch){
        .epoch = i + 1,
        .lr = 0.01,
        /* "stuck" stands for a TaylorGLO loss whose values are thousands of times larger. */
        .train_loss = 2.0 / (i + 1) + run->loss_index + (strcmp(label, "stuck") ? 0 : 9e4),
        .train_accuracy = fmin(0.5 + 0.1 * i, 1), /* an accuracy at any length */
        .train_true_prob = (ce ? 0.95 : 0.80) + 0.01 * run->seed_number - 0.1 * (epochs - 1 - i),
        .val_loss = NAN,
        .val_accuracy = e->validation > 0 ? final - 0.02 * (epochs - i) : NAN,
        .test_loss = 0.3,
        .test_accuracy = final - 0.05 * (epochs - 1 - i),
        .seconds = 1,
        .images_per_second = 1000};
  if (boom) {
    out->diverged = true;
    snprintf(out->error, sizeof out->error, "loss became NaN at epoch 2");
    return RP_OK;
  }
  out->test_accuracy = final;
  out->test_loss = 0.25;
  static const double fgsm_ce[] = {0.40, 0.42, 0.47}, fgsm_ls[] = {0.52, 0.55, 0.61};
  for (int k = 0; k < e->eval.fgsm_count; k++) {
    double eps = e->eval.fgsm[k];
    double acc = eps == 0 ? final : (ce ? fgsm_ce : fgsm_ls)[(run->seed_number - 1) % 3];
    out->attacks[out->attack_count++] = (rp_exp_attack_result){RP_EXP_FGSM, eps, acc};
  }
  for (int k = 0; k < e->eval.pgd_count; k++)
    out->attacks[out->attack_count++] =
        (rp_exp_attack_result){RP_EXP_PGD, e->eval.pgd[k], ce ? 0.1 : 0.2};
  out->seconds = 3;
  out->data = cJSON_CreateObject();
  cJSON_AddStringToObject(out->data, "dir", "/fake");
  bool partial = run->seed_number == ((fake *)user)->partial_seed;
  cJSON_AddNumberToObject(out->data, "train_images", partial ? 200 : 1000);
  cJSON_AddBoolToObject(out->data, "partial", partial);
  return RP_OK;
}

static cJSON *fake_device(void *user) {
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "name", "Fake Device");
  cJSON_AddStringToObject(d, "driver_info", "fake 1.0");
  return d;
}

static void fake_event(void *user, rp_exp_event event, int index, int count, const rp_exp_run *run,
                       const rp_exp_result *result) {
  fake *f = user;
  f->events[event]++;
}

static const char synthetic[] =
    "{\"name\": \"synthetic\", \"dataset\": {\"name\": \"fashion-mnist\", \"fraction\": 0.1}, "
    "\"model\": \"mnist_cnn\", \"training\": {\"epochs\": 3}, \"losses\": [{\"label\": \"ce\", "
    "\"loss\": \"ce\"}, {\"label\": \"ls\", \"loss\": \"ls:0.1\"}, {\"label\": \"boom\", \"loss\": "
    "\"taylorglo:1,2,3,4,5,6,7,8\"}], \"seeds\": 3, \"evaluation\": {\"fgsm\": [0, 0.1], \"pgd\": "
    "{\"eps\": [\"8/255\"], \"steps\": 3}}}";

/* DIR/summary.md, which must be there. */
static char *read_summary(const char *dir) {
  char path[1024];
  snprintf(path, sizeof path, "%s/summary.md", dir);
  char *summary = read_file(path);
  cr_assert(summary, "no %s", path);
  return summary;
}

/* The text of an SVG with PLplot's character references (&#x61;) decoded. */
static char *svg_text(const char *path) {
  char *s = read_file(path);
  cr_assert(s, "%s missing", path);
  char *out = malloc(strlen(s) + 1), *o = out;
  for (const char *p = s; *p;) {
    unsigned c;
    int n;
    if (sscanf(p, "&#x%x;%n", &c, &n) == 1 && c < 128)
      *o++ = (char)c, p += n;
    else
      *o++ = *p++;
  }
  *o = '\0';
  free(s);
  return out;
}

static void run_synthetic(const char *dir, const char *text, fake *f, rp_status expect) {
  rp_experiment e;
  ASSERT_OK(rp_exp_parse(text, "synthetic.json", fake_recipe, &e));
  rp_exp_plan plan;
  ASSERT_OK(rp_exp_make_plan(&e, &plan));
  rp_exp_backend b = {
      .train = fake_train, .device_json = fake_device, .event = fake_event, .user = f};
  rp_status st = rp_exp_execute(&e, &plan, dir, &b, "0123456789abcdef0123456789abcdef01234567");
  if (!st) st = rp_exp_report(dir); /* the last report, as rp_exp_run_all makes it */
  cr_assert_eq(st, expect, "execute: %s", rp_error_message());
  rp_exp_plan_free(&plan);
  rp_exp_free(&e);
}

/* A run of `text` into `dir` refused with `status` before any training, its message holding
 * `fragment`. */
static void expect_refused(const char *dir, const char *text, rp_status status,
                           const char *fragment) {
  fake f = {0};
  run_synthetic(dir, text, &f, status);
  cr_assert_eq(f.calls, 0);
  cr_assert(strstr(rp_error_message(), fragment), "%s", rp_error_message());
}

/* `record` in `dir` rewritten as `edited` (which this frees): the report refuses it, saying
 * exactly `want`. */
static void expect_record_refused(const char *dir, const char *record, cJSON *edited,
                                  const char *want) {
  char *text = cJSON_Print(edited);
  write_file(record, text);
  free(text);
  cJSON_Delete(edited);
  cr_assert_eq(rp_exp_report(dir), RP_ERR_INVALID_ARGUMENT, "accepted: %s", want);
  cr_assert_str_eq(rp_error_message(), want);
}

Test(experiment, run_records_summary_figures_and_resume) {
  char *root = temp_dir();
  char dir[512], path[1024];
  snprintf(dir, sizeof dir, "%s/out/synthetic", root);
  fake f = {0};
  run_synthetic(dir, synthetic, &f, RP_OK);
  cr_assert_eq(f.calls, 9);
  cr_assert_eq(f.events[RP_EXP_RUN_START], 9);
  cr_assert_eq(f.events[RP_EXP_RUN_DONE], 9);

  /* A finished run's record. */
  cJSON *rec = read_json_in(dir, "runs/ls-s2.json");
  cr_assert_str_eq(cJSON_GetObjectItem(rec, "status")->valuestring, "done");
  cr_assert_str_eq(cJSON_GetObjectItem(rec, "loss")->valuestring, "ls:0.1");
  cr_assert_eq(cJSON_GetObjectItem(rec, "seed")->valuedouble,
               (double)rp_exp_derive_seed("synthetic", "ls", 2));
  cr_assert_str_eq(cJSON_GetObjectItem(rec, "git_commit")->valuestring,
                   "0123456789abcdef0123456789abcdef01234567");
  cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "device"), "name")->valuestring,
                   "Fake Device");
  cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "data"), "dir")->valuestring,
                   "/fake");
  const cJSON *cfg = cJSON_GetObjectItem(rec, "config");
  cr_assert_eq(cJSON_GetObjectItem(cfg, "epochs")->valuedouble, 3);
  cr_assert_eq(cJSON_GetObjectItem(cfg, "fraction")->valuedouble, 0.1);
  cr_assert_eq(cJSON_GetObjectItem(cfg, "split_seed")->valuedouble,
               (double)rp_exp_split_seed("synthetic"));
  cr_assert_neq(rp_exp_split_seed("synthetic"), rp_exp_split_seed("synthetic2"));
  cr_assert_float_eq(
      cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "final"), "test_accuracy")->valuedouble, 0.93,
      1e-12);
  cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "epochs")), 3);
  cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "attacks")), 3);
  cJSON_Delete(rec);
  snprintf(path, sizeof path, "%s/runs/ls-s2.csv", dir);
  char *csv = read_file(path);
  cr_assert(csv && strncmp(csv, "epoch,lr,train_loss,", 20) == 0);
  cr_assert(strstr(csv, "\n3,0.01,1.66666667,0.7,0.82,,,0.3,0.93,1,1000\n"), "csv:\n%s", csv);
  free(csv);

  /* A diverged run: recorded, accuracy 0 everywhere. */
  rec = read_json_in(dir, "runs/boom-s1.json");
  cr_assert_str_eq(cJSON_GetObjectItem(rec, "status")->valuestring, "diverged");
  cr_assert_str_eq(cJSON_GetObjectItem(rec, "error")->valuestring, "loss became NaN at epoch 2");
  cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "final"), "test_accuracy")->valuedouble,
               0);
  /* No validation split in this experiment: no validation accuracy, not 0. */
  cr_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "final"), "val_accuracy")));
  const cJSON *a;
  cJSON_ArrayForEach(a, cJSON_GetObjectItem(rec, "attacks"))
      cr_assert_eq(cJSON_GetObjectItem(a, "accuracy")->valuedouble, 0);
  cJSON_Delete(rec);

  /* summary.md: the numbers follow from the known results (p-values: see
   * welch_matches_independent_values for the reference computation: ls vs ce test accuracy
   * t = 2.449, df = 4, p = 0.07048; FGSM eps 0.1: p = 0.02004). */
  char *summary = read_summary(dir);
  cr_assert(
      strstr(summary, "# synthetic\n\nmnist_cnn on fashion-mnist, epochs: 3, runs: 9 (losses: 3)."),
      "%s", summary);
  cr_assert(strstr(summary, "Device: Fake Device (fake 1.0). repro " REPRO_VERSION
                            ", commit 0123456789abcdef0123456789abcdef01234567."),
            "%s", summary);
  cr_assert(strstr(summary, "| ce | `ce` | 3 | 0 | 91.00 ± 1.00 | — | 0.9700 ± 0.0100 |\n"), "%s",
            summary);
  cr_assert(
      strstr(summary, "| ls | `ls:0.1` | 3 | 0 | 93.00 ± 1.00 | 0.0705 | 0.8200 ± 0.0100 |\n"),
      "%s", summary);
  cr_assert(strstr(summary, "| boom | `taylorglo:1,2,3,4,5,6,7,8` | 3 | 3 | 0.00 ± 0.00 |"), "%s",
            summary);
  cr_assert(strstr(summary, "| loss | ε = 0 | ε = 0.1 |\n"), "%s", summary);
  cr_assert(strstr(summary, "| ce | 91.00 ± 1.00 | 43.00 ± 3.61 |\n"), "%s", summary);
  cr_assert(strstr(summary, "| ls | 93.00 ± 1.00 (p 0.0705) | 56.00 ± 4.58 (p 0.0200) |\n"), "%s",
            summary);
  cr_assert(strstr(summary, "## PGD accuracy (%) by ε"), "%s", summary);
  /* Training losses within 10 times of each other: drawn as they are. */
  cr_assert(strstr(summary, "- [training loss](figures/train_loss.svg)\n"), "%s", summary);
  cr_assert(strstr(summary, "- validation accuracy: none recorded (no validation split)\n"), "%s",
            summary);
  cr_assert(strstr(summary, "| loss | ε = 8/255 |\n"), "%s", summary);

  /* results.json: every run, and the summary with its statistics. */
  cJSON *res = read_json_in(dir, "results.json");
  cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(res, "runs")), 9);
  cr_assert_str_eq(cJSON_GetObjectItem(res, "baseline")->valuestring, "ce");
  cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(res, "experiment"), "name")->valuestring,
                   "synthetic");
  const cJSON *ls = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "summary"), 1);
  cr_assert_str_eq(cJSON_GetObjectItem(ls, "label")->valuestring, "ls");
  const cJSON *ta = cJSON_GetObjectItem(ls, "test_accuracy");
  cr_assert_float_eq(cJSON_GetObjectItem(ta, "mean")->valuedouble, 0.93, 1e-12);
  cr_assert_float_eq(cJSON_GetObjectItem(ta, "std")->valuedouble, 0.01, 1e-12);
  cr_assert_float_eq(
      cJSON_GetObjectItem(cJSON_GetObjectItem(ta, "welch_vs_baseline"), "p")->valuedouble,
      0.0704839969102, 1e-9);
  const cJSON *fg = cJSON_GetArrayItem(cJSON_GetObjectItem(ls, "fgsm"), 1);
  cr_assert_float_eq(
      cJSON_GetObjectItem(cJSON_GetObjectItem(fg, "welch_vs_baseline"), "p")->valuedouble,
      0.0200428840537, 1e-9);
  cJSON_Delete(res);

  /* Figures: SVG files with their titles and legends; none of the validation accuracy, which
   * this experiment has not (and summary.md says so). */
  snprintf(path, sizeof path, "%s/figures/val_accuracy.svg", dir);
  cr_assert(!rp_exp_exists(path), "%s drawn without a validation split", path);
  static const char *const figures[][2] = {
      {"train_loss.svg", "Training loss per epoch"},
      {"test_accuracy.svg", "Test accuracy per epoch"},
      {"true_class_probability.svg", "Mean true-class probability per epoch"},
      {"fgsm_accuracy.svg", "FGSM test accuracy vs epsilon"},
      {"pgd_accuracy.svg", "PGD test accuracy vs epsilon"}};
  for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++) {
    snprintf(path, sizeof path, "%s/figures/%s", dir, figures[i][0]);
    char *svg = svg_text(path);
    cr_assert(strstr(svg, "<svg"), "%s is not an SVG", path);
    cr_assert(strstr(svg, figures[i][1]), "%s lacks its title", path);
    cr_assert(strstr(svg, ">ce<") && strstr(svg, ">ls<") && strstr(svg, ">boom<"),
              "%s lacks a legend entry", path);
    cr_assert(strstr(svg, "<polyline"), "%s has no lines", path);
    free(svg);
  }
  /* Three epochs: a tick at each whole epoch, none at 1.5 or 2.5. */
  snprintf(path, sizeof path, "%s/figures/test_accuracy.svg", dir); /* y: 80 ... 95 (%) */
  char *epochs_svg = svg_text(path);
  cr_assert(strstr(epochs_svg, ">2</tspan>") && !strstr(epochs_svg, ">1.5</tspan>"), "%s", path);
  free(epochs_svg);
  /* The attack figures' ε axis: one tick per ε, labelled as in the tables (a linear axis
   * would label 0.00, 0.05, 0.10, and never 8/255). */
  snprintf(path, sizeof path, "%s/figures/fgsm_accuracy.svg", dir);
  char *svg = svg_text(path);
  cr_assert(strstr(svg, ">0</tspan>") && strstr(svg, ">0.1</tspan>"), "%s", path);
  cr_assert(!strstr(svg, ">0.05</tspan>") && !strstr(svg, ">0.10</tspan>"), "%s", path);
  free(svg);
  snprintf(path, sizeof path, "%s/figures/pgd_accuracy.svg", dir);
  svg = svg_text(path);
  cr_assert(strstr(svg, ">8/255</tspan>"), "%s", path);
  free(svg);

  /* The reports are a pure function of the run records: regenerated, they are the same. */
  snprintf(path, sizeof path, "%s/summary.md", dir);
  remove(path);
  snprintf(path, sizeof path, "%s/results.json", dir);
  char *results_before = read_file(path);
  remove(path);
  ASSERT_OK(rp_exp_report(dir));
  snprintf(path, sizeof path, "%s/summary.md", dir);
  char *again = read_file(path);
  cr_assert_str_eq(again, summary);
  free(again);
  snprintf(path, sizeof path, "%s/results.json", dir);
  again = read_file(path);
  cr_assert_str_eq(again, results_before);
  free(again);
  free(results_before);
  /* The results part, which `repro run` and `repro report` print at the end, is summary.md's
   * own text, from the test accuracy to the last table under attack. */
  char *results = NULL;
  ASSERT_OK(rp_exp_report_results(dir, &results));
  cr_assert(strncmp(results, "\n## Test accuracy\n", 18) == 0, "%s", results);
  cr_assert(strstr(results, "| ce | `ce` | 3 | 0 | 91.00 ± 1.00 | — |"), "%s", results);
  cr_assert(strstr(results, "## FGSM accuracy (%) by ε"), "%s", results);
  cr_assert(strstr(summary, results), "not summary.md's text:\n%s", results);
  free(results);
  free(summary);

  /* A damaged or duplicated record fails the report, naming its file and JSON path, instead
   * of dropping out of (or counting twice in) a mean. */
  char record[600], copy[600];
  snprintf(record, sizeof record, "%s/runs/ce-s1.json", dir);
  snprintf(copy, sizeof copy, "%s/runs/zzz.json", dir);
  char *original = read_file(record);
  write_file(copy, original);
  cr_assert_neq(rp_exp_report(dir), RP_OK);
  cr_assert(strstr(rp_error_message(), copy) && strstr(rp_error_message(), "$.run_id"), "%s",
            rp_error_message());
  remove(copy);
  cJSON *damaged = cJSON_Parse(original);
  cJSON_ReplaceItemInObject(cJSON_GetObjectItem(damaged, "final"), "test_accuracy",
                            cJSON_CreateString("high"));
  char *text = cJSON_Print(damaged);
  write_file(record, text);
  cr_assert_neq(rp_exp_report(dir), RP_OK);
  cr_assert(strstr(rp_error_message(), record) &&
                strstr(rp_error_message(),
                       "$.final.test_accuracy: expected a number in [0, 1], got \"high\""),
            "%s", rp_error_message());
  free(text);
  /* A number, but no accuracy: it would show as 750% in the summary. */
  cJSON_ReplaceItemInObject(cJSON_GetObjectItem(damaged, "final"), "test_accuracy",
                            cJSON_CreateNumber(7.5));
  text = cJSON_Print(damaged);
  write_file(record, text);
  cr_assert_neq(rp_exp_report(dir), RP_OK);
  cr_assert(
      strstr(rp_error_message(), "$.final.test_accuracy: expected a number in [0, 1], got 7.5"),
      "%s", rp_error_message());
  free(text);
  /* A record edited by hand in one place: its loss or its label no longer what it was trained as,
   * which would count it under another loss (and the one it trained as short of a run). */
  cJSON *hand_edited = cJSON_Parse(original);
  cJSON_ReplaceItemInObject(hand_edited, "loss", cJSON_CreateString("ls:0.1"));
  text = cJSON_Print(hand_edited);
  write_file(record, text);
  free(text);
  cr_assert_eq(rp_exp_report(dir), RP_ERR_INVALID_ARGUMENT);
  char want[1400];
  snprintf(want, sizeof want, "%s: $.loss is \"ls:0.1\", but $.config.loss is \"ce\"", record);
  cr_assert_str_eq(rp_error_message(), want);
  cJSON_Delete(hand_edited);
  hand_edited = cJSON_Parse(original);
  cJSON_ReplaceItemInObject(hand_edited, "loss_label", cJSON_CreateString("ls"));
  text = cJSON_Print(hand_edited);
  write_file(record, text);
  free(text);
  cJSON_Delete(hand_edited);
  cr_assert_eq(rp_exp_report(dir), RP_ERR_INVALID_ARGUMENT);
  snprintf(want, sizeof want,
           "%s: $.run_id is \"ce-s1\", but $.loss_label and $.seed_number make \"ls-s1\"", record);
  cr_assert_str_eq(rp_error_message(), want);
  /* Its attacks or epochs disagreeing with its own evaluation, or out of range: a gap in the
   * tables, an epsilon the experiment never asked for, an axis stretched to 200%. */
  hand_edited = cJSON_Parse(original);
  const cJSON *fgsm = cJSON_GetObjectItem(cJSON_GetObjectItem(hand_edited, "evaluation"), "fgsm");
  double first_eps = cJSON_GetArrayItem(fgsm, 0)->valuedouble;
  int attack_count = cJSON_GetArraySize(cJSON_GetObjectItem(hand_edited, "attacks"));
  cJSON_ReplaceItemInObject(hand_edited, "attacks", cJSON_CreateArray());
  snprintf(want, sizeof want, "%s: $.attacks: 0 results for the %d epsilons of $.evaluation",
           record, attack_count);
  expect_record_refused(dir, record, hand_edited, want);
  hand_edited = cJSON_Parse(original);
  cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(hand_edited, "attacks"), 0),
                            "eps", cJSON_CreateNumber(0.07));
  snprintf(want, sizeof want,
           "%s: $.attacks[0]: expected fgsm at eps %.9g, as $.evaluation lists them", record,
           first_eps);
  expect_record_refused(dir, record, hand_edited, want);
  hand_edited = cJSON_Parse(original);
  cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(hand_edited, "epochs"), 0),
                            "test_accuracy", cJSON_CreateNumber(2));
  snprintf(want, sizeof want,
           "%s: $.epochs[0].test_accuracy: expected a number in [0, 1] or null, got 2", record);
  expect_record_refused(dir, record, hand_edited, want);
  /* The experiment file beside the records is checked as repro run checks one. */
  char experiment[600];
  snprintf(experiment, sizeof experiment, "%s/experiment.json", dir);
  char *kept_experiment = read_file(experiment);
  write_file(record, original);
  cJSON *with_bogus = cJSON_Parse(kept_experiment);
  cJSON_AddNumberToObject(with_bogus, "bogus", 1);
  text = cJSON_Print(with_bogus);
  write_file(experiment, text);
  free(text);
  cJSON_Delete(with_bogus);
  cr_assert_eq(rp_exp_report(dir), RP_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(rp_error_message(), experiment) &&
                strstr(rp_error_message(), "$.bogus: unknown key"),
            "%s", rp_error_message());
  /* An experiment.json whose training is not the records' (edited since, or the records
   * copied in from a run of another configuration): refused as repro run refuses it, rather
   * than reported under the file's settings, or averaged in with records that match them. */
  cJSON *other = cJSON_Parse(kept_experiment);
  cJSON_ReplaceItemInObject(cJSON_GetObjectItem(other, "training"), "lr", cJSON_CreateNumber(0.5));
  text = cJSON_Print(other);
  write_file(experiment, text);
  free(text);
  cJSON_Delete(other);
  cr_assert_eq(rp_exp_report(dir), RP_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(rp_error_message(), "/runs/") &&
                strstr(rp_error_message(), "($.config.lr: 0.05 in the record, 0.5 now)"),
            "%s", rp_error_message());
  write_file(experiment, kept_experiment);
  free(kept_experiment);
  cJSON_Delete(damaged);
  free(original);
  ASSERT_OK(rp_exp_report(dir));

  /* Resume: everything done, nothing trained; the temporary of a process killed while
   * writing a record is removed (pid 999999999 exceeds any pid_max), a live one's kept. */
  char stale[700], live[700];
  snprintf(stale, sizeof stale, "%s/runs/ce-s2.json.999999999.tmp", dir);
  snprintf(live, sizeof live, "%s/runs/ce-s2.json.%ld.tmp", dir, (long)getpid());
  write_file(stale, "{");
  write_file(live, "{");
  fake g = {0};
  run_synthetic(dir, synthetic, &g, RP_OK);
  cr_assert_eq(g.calls, 0);
  cr_assert_neq(access(stale, F_OK), 0, "%s was left behind", stale);
  cr_assert_eq(access(live, F_OK), 0, "%s, of a live process, was removed", live);
  remove(live);
  cr_assert_eq(g.events[RP_EXP_RUN_SKIPPED], 9);
  /* One record gone: only that run again. */
  snprintf(path, sizeof path, "%s/runs/ce-s3.json", dir);
  remove(path);
  fake h = {0};
  run_synthetic(dir, synthetic, &h, RP_OK);
  cr_assert_eq(h.calls, 1);
  cr_assert_eq(h.events[RP_EXP_RUN_SKIPPED], 8);
  cr_assert(rp_exp_exists(path));

  /* A changed configuration with old records in place: an error before any training, and no
   * record touched. */
  char synthetic5[sizeof synthetic + 8];
  snprintf(synthetic5, sizeof synthetic5, "%s", synthetic);
  char *epochs = strstr(synthetic5, "\"epochs\": 3");
  cr_assert(epochs);
  epochs[10] = '5';
  snprintf(path, sizeof path, "%s/runs/ce-s1.json", dir);
  char *before = read_file(path);
  snprintf(path, sizeof path, "%s/runs", dir);
  int entries = count_entries(path);
  fake k = {0};
  run_synthetic(dir, synthetic5, &k, RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(k.calls, 0);
  cr_assert(strstr(rp_error_message(), "/runs/ce-s1.json was made with another training "
                                       "configuration than the experiment's now ($.config.epochs: "
                                       "3 in the record, 5 now)"),
            "%s", rp_error_message());
  cr_assert_eq(count_entries(path), entries);
  snprintf(path, sizeof path, "%s/runs/ce-s1.json", dir);
  char *after = read_file(path);
  cr_assert_str_eq(after, before);
  free(before);
  free(after);

  /* More seeds later: only the new ones run. */
  char synthetic4[sizeof synthetic + 8];
  snprintf(synthetic4, sizeof synthetic4, "%s", synthetic);
  char *seeds = strstr(synthetic4, "\"seeds\": 3");
  cr_assert(seeds);
  seeds[9] = '4';
  fake m = {0};
  run_synthetic(dir, synthetic4, &m, RP_OK);
  cr_assert_eq(m.calls, 3);

  /* Fewer seeds again: the fourth seed's records would be mixed into the summary of three. An
   * error before any training (ce-s3 is missing, and not trained). */
  snprintf(path, sizeof path, "%s/runs/ce-s3.json", dir);
  remove(path);
  expect_refused(dir, synthetic, RP_ERR_INVALID_ARGUMENT,
                 "-s4.json is not a run of synthetic as the file has it now");
  snprintf(path, sizeof path, "%s/runs", dir);
  DIR *d = opendir(path);
  cr_assert(d);
  for (struct dirent *ent; (ent = readdir(d));) {
    char file[1400];
    snprintf(file, sizeof file, "%s/%.255s", path, ent->d_name);
    if (strstr(ent->d_name, "-s4.")) remove(file);
  }
  closedir(d);

  /* A record of another experiment, and one damaged where only the report reads: errors
   * before any training, from `repro report` too, naming the file and JSON path. */
  snprintf(path, sizeof path, "%s/runs/ce-s1.json", dir);
  char *kept = read_file(path);
  cJSON *edited = cJSON_Parse(kept);
  cJSON_ReplaceItemInObject(edited, "experiment", cJSON_CreateString("other"));
  char *printed = cJSON_Print(edited);
  write_file(path, printed);
  cJSON_free(printed);
  expect_refused(dir, synthetic, RP_ERR_INVALID_ARGUMENT,
                 "ce-s1.json: $.experiment is \"other\", not \"synthetic\": a record of "
                 "another experiment");
  cr_assert_eq(rp_exp_report(dir), RP_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(rp_error_message(), "a record of another experiment"), "%s", rp_error_message());
  cJSON_ReplaceItemInObject(edited, "experiment", cJSON_CreateString("synthetic"));
  cJSON_ReplaceItemInObject(cJSON_GetObjectItem(edited, "final"), "test_accuracy",
                            cJSON_CreateString("x"));
  printed = cJSON_Print(edited);
  write_file(path, printed);
  cJSON_free(printed);
  cJSON_Delete(edited);
  expect_refused(dir, synthetic, RP_ERR_INVALID_ARGUMENT,
                 "ce-s1.json: $.final.test_accuracy: expected a number");
  write_file(path, kept);
  free(kept);

  /* What a report killed mid-write left, in the directory and in figures/: removed by the
   * next report. */
  char summary_tmp[700], figure_tmp[700];
  snprintf(summary_tmp, sizeof summary_tmp, "%s/summary.md.999999999.tmp", dir);
  snprintf(figure_tmp, sizeof figure_tmp, "%s/figures/accuracy.svg.999999999.tmp", dir);
  write_file(summary_tmp, "#");
  write_file(figure_tmp, "<");
  fake s = {0};
  run_synthetic(dir, synthetic, &s, RP_OK);
  cr_assert_eq(s.calls, 1); /* ce-s3 */
  cr_assert_neq(access(summary_tmp, F_OK), 0, "%s was left behind", summary_tmp);
  cr_assert_neq(access(figure_tmp, F_OK), 0, "%s was left behind", figure_tmp);

  /* A summary of fewer runs than the file lists says so. */
  snprintf(path, sizeof path, "%s/summary.md", dir);
  char *md = read_file(path);
  cr_assert(!strstr(md, "Partial"), "%s", md);
  free(md);
  snprintf(path, sizeof path, "%s/runs/ls-s1.json", dir);
  remove(path);
  ASSERT_OK(rp_exp_report(dir));
  snprintf(path, sizeof path, "%s/summary.md", dir);
  md = read_file(path);
  cr_assert(strstr(md, "**Partial: 8 of the 9 runs the file lists (losses × seeds) have "
                       "finished.**"),
            "%s", md);
  free(md);
  remove_tree(root);
  free(root);
}

/* ---- searches inside an experiment */

/* A smooth fitness landscape over the genome with its top at a known point, in (0, 1). */
static double fake_fitness(const double *g) {
  static const double top[8] = {1, -1, 0.5, 2, 0, -0.5, 0.3, 0.7};
  double d = 0;
  for (int k = 0; k < 8; k++) d += (g[k] - top[k]) * (g[k] - top[k]);
  return 0.1 + 0.8 * exp(-d / 16);
}

static rp_status fake_candidate(void *user, const rp_experiment *e, const rp_exp_search *s,
                                const rp_search_trial *trial, const char *state_path,
                                rp_search_outcome *out) {
  fake *f = user;
  /* Where the candidate's training state is kept: its search's directory. A backend saves it
   * there part-way (as the runner does after an epoch); the driver removes it once the
   * candidate is settled. */
  char tail[256];
  snprintf(tail, sizeof tail, "/search/%s/candidate.state", s->label);
  cr_assert(strlen(state_path) > strlen(tail) &&
                strcmp(state_path + strlen(state_path) - strlen(tail), tail) == 0,
            "%s", state_path);
  if (access(state_path, F_OK) == 0) f->found_states++;
  /* A training state as the trainer writes one, less the weights: under the trial's
   * fingerprint, after its first epoch, with that epoch's history (epoch, lr, train loss and
   * accuracy, true-class probability, validation and test loss and accuracy, seconds, images
   * per second). */
  char *fingerprint = rp_exp_candidate_fingerprint(e, s, trial, "Fake GPU (1.0)");
  const char *keys[] = {"training_state", "epochs_done", "global_step"};
  const char *values[] = {fingerprint, "1", "3"};
  static const double epoch_one[11] = {1, 0.1, 2.3, 0.1, 0.1, 2.3, 0.1, 2.3, 0.1, 1, 100};
  rp_named_tensor history = {
      .name = "history", .dtype = "F64", .ndim = 2, .shape = {1, 11}, .data = epoch_one};
  ASSERT_OK(rp_safetensors_write(state_path, &history, 1, keys, values, 3));
  free(fingerprint);
  if (++f->candidates == f->fail_at) return rp_fail(RP_ERR_IO, "device lost (injected)");
  f->per_search[s - e->searches]++;
  /* The search judges candidates as its file says, under the experiment's eps mode. */
  const rp_search_config *c = trial->cfg;
  cr_assert_eq(c->fitness,
               s->fitness == RP_EXP_FITNESS_FGSM ? RP_SEARCH_FIT_FGSM : RP_SEARCH_FIT_ACCURACY);
  cr_assert_eq(c->attack_eps, s->fitness_eps);
  cr_assert_eq(c->attack_normalized, e->eval.normalized);
  for (int k = 0; k < 8; k++) /* the search trains rounded genomes */
    cr_assert_float_eq(trial->genome[k] * 1e4, round(trial->genome[k] * 1e4), 1e-6);
  out->accuracy = f->zero_fitness ? 0 : fake_fitness(trial->genome);
  out->epochs = s->epochs;
  out->seconds = 1;
  return RP_OK;
}

static const char searched[] =
    "{\"name\": \"searched\", \"dataset\": {\"name\": \"fashion-mnist\", \"fraction\": 0.1, "
    "\"validation\": 1000}, \"model\": \"mnist_cnn\", \"training\": {\"epochs\": 3}, \"losses\": "
    "[{\"label\": \"ce\", \"loss\": \"ce\"}], \"seeds\": 2, \"search\": [{\"label\": \"pruned\", "
    "\"invariant\": \"code\", \"population\": 6, \"generations\": 3, \"epochs\": 2, \"retries\": "
    "0}, {\"label\": \"recorded\", \"invariant\": \"code\", \"prune\": false, \"population\": 6, "
    "\"generations\": 3, \"epochs\": 2, \"retries\": 0}]}";

static rp_status run_searched(const char *dir, const char *text, fake *f) {
  rp_experiment e;
  ASSERT_OK(rp_exp_parse(text, "searched.json", fake_recipe, &e));
  rp_exp_backend b = {.train = fake_train,
                      .device_json = fake_device,
                      .event = fake_event,
                      .user = f,
                      .train_candidate = fake_candidate};
  rp_status st = rp_exp_run_all(&e, dir, &b, "0123456789abcdef0123456789abcdef01234567");
  rp_exp_free(&e);
  return st;
}

/* A search with FGSM fitness in an experiment of normalized eps: its candidates are judged so
 * (fake_candidate checks each trial's settings against the file). */
Test(experiment, a_search_takes_its_fitness_and_the_experiments_eps_mode) {
  char *root = temp_dir();
  char dir[512];
  snprintf(dir, sizeof dir, "%s/out/fgsm", root);
  fake f = {0};
  ASSERT_OK(run_searched(dir,
                         "{" BASE_V ", " LOSSES ", \"evaluation\": {\"eps_mode\": \"normalized\", "
                         "\"fgsm\": [0, 0.1]}, \"search\": {\"population\": 4, \"generations\": 1, "
                         "\"epochs\": 1, \"fitness\": \"fgsm\", \"fitness_eps\": \"1/5\", "
                         "\"retries\": 0}}",
                         &f));
  cr_assert_gt(f.candidates, 0, "no candidate trained: the test proves nothing");
  /* The report says the ε are in normalized units: the table, its figure, the search. */
  char path[600];
  snprintf(path, sizeof path, "%s/summary.md", dir);
  char *summary = read_file(path);
  cr_assert(summary && strstr(summary, "## FGSM accuracy (%) by ε\n\nε in normalized units") &&
                strstr(summary, "FGSM ε = 0.2 in normalized units (the experiment's eps_mode)."),
            "summary.md:\n%s", summary);
  free(summary);
  snprintf(path, sizeof path, "%s/figures/fgsm_accuracy.svg", dir);
  char *svg = svg_text(path);
  cr_assert(svg && strstr(svg, "epsilon in normalized units"), "%s says nothing of the units",
            path);
  free(svg);
  remove_tree(root);
  free(root);
}

static cJSON *state_of(const char *dir, const char *label) {
  char name[256];
  snprintf(name, sizeof name, "search/%s/state.json", label);
  return read_json_in(dir, name);
}

static int state_sum(const cJSON *state, const char *key) {
  int n = 0;
  const cJSON *g;
  cJSON_ArrayForEach(g, cJSON_GetObjectItem(state, "generations")) {
    n += cJSON_GetObjectItem(g, key)->valueint;
  }
  return n;
}

/* The figures' scaling of lines on unrelated scales. */
Test(experiment, series_scale_to_unit_and_tell_scales_apart) {
  double y[] = {2, 4, NAN, 6, -INFINITY}, flat[] = {3, 3};
  rp_series_scale_to_unit(y, 5);
  cr_assert_float_eq(y[0], 0, 1e-15);
  cr_assert_float_eq(y[1], 0.5, 1e-15);
  cr_assert(isnan(y[2]));
  cr_assert_float_eq(y[3], 1, 1e-15);
  cr_assert(isinf(y[4]), "a non-finite value is left as it is");
  rp_series_scale_to_unit(flat, 2);
  cr_assert(flat[0] == 0 && flat[1] == 0);
  /* Largest magnitudes 2 (from -2) and 30: apart by more than 10 times; 2 and 19 not. */
  double a[] = {1, -2}, b[] = {30, 5}, c[] = {19, NAN}, zero[] = {0, 0};
  rp_series s[] = {{"a", a, a, 2}, {"b", b, b, 2}, {"c", c, c, 2}, {"zero", zero, zero, 2}};
  cr_assert(rp_series_scales_differ(s, 2, 10));
  cr_assert(!rp_series_scales_differ((rp_series[]){s[0], s[2]}, 2, 10));
  cr_assert(!rp_series_scales_differ((rp_series[]){s[0], s[3]}, 2, 10), "zeros have no scale");
  cr_assert(!rp_series_scales_differ(s, 1, 10));
}

/* A figure is replaced only by a whole one. PLplot reports no write error, so a disk that
 * fills up mid-figure (here: a file-size limit of 2 KiB, its signal ignored so that writes fail
 * instead) would leave an SVG cut short; the plot must fail instead, naming the file, and
 * leave the figure that was there as it was. */
Test(experiment, figures_are_replaced_only_by_whole_ones) {
  if (!rp_plot_available()) cr_skip_test("PLplot has no SVG driver here");
  char *root = temp_dir(), path[600];
  snprintf(path, sizeof path, "%s/figure.svg", root);
  double x[] = {1, 2, 3}, y[] = {0.5, 0.25, 0.125};
  rp_series s = {"ce", x, y, 3};
  ASSERT_OK(rp_plot_lines(path, "Before", "epoch", "loss", &s, 1));
  char *before = read_file(path);
  cr_assert(before && strlen(before) > 4096, "the figure holds %zu bytes",
            before ? strlen(before) : 0);

  struct rlimit saved;
  cr_assert_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = {2048, saved.rlim_max}; /* the soft limit only: it can be raised again */
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
  rp_status st = rp_plot_lines(path, "After", "epoch", "loss", &s, 1);
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &saved), 0); /* as it was, before any assertion */
  signal(SIGXFSZ, SIG_DFL);
  cr_assert_eq(st, RP_ERR_IO);
  char expected[700];
  snprintf(expected, sizeof expected, "cannot write %s: PLplot's SVG came out incomplete", path);
  cr_assert(strncmp(rp_error_message(), expected, strlen(expected)) == 0, "%s", rp_error_message());
  char *after = read_file(path);
  cr_assert_str_eq(after, before, "the figure changed");
  free(before);
  free(after);
  remove_tree(root);
  free(root);
}

/* A loss whose runs finish at chance is named under the test-accuracy table, with how many of
 * its runs did; a diverged run (accuracy 0, counted as diverged) and a run just above the bound
 * are not counted. */
/* The per-epoch means of results.json (the figures' lines) average the runs that reached an
 * epoch: after a run of the loss diverged in epoch 2, its later epochs are the other runs'. */
Test(experiment, epoch_means_are_over_the_runs_that_reached_the_epoch) {
  char *root = temp_dir();
  char dir[512];
  snprintf(dir, sizeof dir, "%s/out/shaky", root);
  fake f = {0};
  run_synthetic(dir,
                "{\"name\": \"shaky\", \"dataset\": {\"name\": \"fashion-mnist\"}, \"model\": "
                "\"mnist_cnn\", \"training\": {\"epochs\": 3}, \"losses\": [{\"label\": "
                "\"shaky\", \"loss\": \"ls:0.1\"}], \"seeds\": 3}",
                &f, RP_OK);
  cJSON *res = read_json_in(dir, "results.json");
  const cJSON *means = cJSON_GetObjectItem(
      cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "summary"), 0),
                          "epoch_means"),
      "test_accuracy");
  cr_assert_eq(cJSON_GetArraySize(means), 3);
  /* fake_train: test accuracy 0.91 + 0.01 seed - 0.05 (epochs - 1 - epoch); seed 3 ran 1 epoch */
  double want[3] = {(0.82 + 0.83 + 0.94) / 3, (0.87 + 0.88) / 2, (0.92 + 0.93) / 2};
  for (int k = 0; k < 3; k++)
    cr_expect_float_eq(cJSON_GetArrayItem(means, k)->valuedouble, want[k], 1e-12,
                       "epoch %d: %.15g, want %.15g", k + 1,
                       cJSON_GetArrayItem(means, k)->valuedouble, want[k]);
  cJSON_Delete(res);
  remove_tree(root);
  free(root);
}

Test(experiment, runs_at_chance_are_named_in_the_summary) {
  char *root = temp_dir();
  char dir[512], path[1024], text[1024];
  /* 3 epochs with a validation split, then 2 epochs (too few for a scaled training-loss
   * figure) without one. */
  for (int epochs = 3; epochs >= 2; epochs--) {
    snprintf(dir, sizeof dir, "%s/out/stuck%d", root, epochs);
    snprintf(text, sizeof text,
             "{\"name\": \"stuck\", \"dataset\": {\"name\": \"fashion-mnist\", \"validation\": "
             "%d}, \"model\": \"mnist_cnn\", \"training\": {\"epochs\": %d}, \"losses\": "
             "[{\"label\": \"ce\", \"loss\": \"ce\"}, {\"label\": \"stuck\", \"loss\": "
             "\"taylorglo:1,2,3,4,5,6,7,8\"}, {\"label\": \"boom\", \"loss\": "
             "\"taylorglo:1,2,3,4,5,6,7,9\"}], \"seeds\": 3}",
             epochs == 3 ? 100 : 0, epochs);
    fake f = {0};
    run_synthetic(dir, text, &f, RP_OK);
    char *summary = read_summary(dir);
    cr_assert(strstr(summary, "\n**stuck: 2 of 3 runs ended at chance** (test accuracy below "
                              "1.5 / classes)"),
              "%s", summary);
    cr_assert(!strstr(summary, "**ce:") && !strstr(summary, "**boom:"), "%s", summary);
    /* Its training loss is 9e4 where the others' are near 2: with 3 epochs each is drawn scaled
     * to [0, 1], its legend naming its first and last value; 2 epochs are too few to show a
     * course that way, and one axis would flatten the others: no figure, and summary.md says
     * why (a figure of an earlier report is removed). */
    cr_assert(!strstr(summary, "- [training loss](figures/train_loss.svg)\n"), "%s", summary);
    snprintf(path, sizeof path, "%s/figures/train_loss.svg", dir);
    if (epochs == 3) {
      cr_assert(strstr(summary, "- [training loss](figures/train_loss.svg) (each loss scaled to "
                                "[0, 1] over its epochs: their values differ by more than 10 "
                                "times)\n"),
                "%s", summary);
      char *svg = svg_text(path);
      cr_assert(strstr(svg, "Training loss per epoch (each scaled to [0, 1])"), "%s", path);
      /* 2/(e+1) + the loss's index, and 9e4 for "stuck" */
      cr_assert(strstr(svg, ">ce: 2 to 0.6667<") && strstr(svg, ">stuck: 90003 to 90002<"), "%s",
                path);
      free(svg);
      /* the validation accuracy in percent, as the tables give it (a tick at 80, where ce's is,
       * 0.89 + 0.01 seed - 0.02 (4 - epoch)) */
      snprintf(path, sizeof path, "%s/figures/val_accuracy.svg", dir);
      svg = svg_text(path);
      cr_assert(strstr(svg, "Validation accuracy per epoch") && strstr(svg, "accuracy (%)") &&
                    strstr(svg, ">80<"),
                "%s", path);
      free(svg);
    } else {
      cr_assert(strstr(summary, "- training loss: not drawn (the losses' values differ by more "
                                "than 10 times, too much for one axis, and 2 epochs are too few "
                                "to compare their courses scaled; `results.json` has them)\n"),
                "%s", summary);
      cr_assert(!rp_exp_exists(path), "%s drawn", path);
      const char *earlier = "<svg>an earlier report's</svg>";
      ASSERT_OK(rp_exp_write_atomic(path, earlier, strlen(earlier)));
      ASSERT_OK(rp_exp_report(dir));
      cr_assert(!rp_exp_exists(path), "%s of an earlier report left", path);
    }
    free(summary);
    cJSON *res = read_json_in(dir, "results.json");
    static const int expected[] = {0, 2, 0}; /* ce, stuck, boom */
    for (int i = 0; i < 3; i++) {
      const cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "summary"), i);
      cr_assert_eq(cJSON_GetObjectItem(g, "at_chance")->valuedouble, expected[i], "%s",
                   cJSON_GetObjectItem(g, "label")->valuestring);
    }
    cr_assert_eq(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "summary"), 2), "diverged")
            ->valuedouble,
        3);
    cJSON_Delete(res);
  }
  remove_tree(root);
  free(root);
}

/* One run per output directory: a second lock names the first's pid; after unlocking, the
 * lock is free again and its file gone. */
Test(experiment, one_run_per_output_directory) {
  char *root = temp_dir(), dir[512];
  snprintf(dir, sizeof dir, "%s/out", root);
  rp_exp_lock first, second;
  ASSERT_OK(rp_exp_lock_dir(dir, &first));
  cr_assert_eq(rp_exp_lock_dir(dir, &second), RP_ERR_INVALID_ARGUMENT);
  char expected[700];
  snprintf(expected, sizeof expected,
           "%s is in use by another repro run (pid %ld): wait for it to end, or choose another "
           "output directory",
           dir, (long)getpid());
  cr_assert_str_eq(rp_error_message(), expected);
  cr_assert_eq(second.fd, -1);
  rp_exp_unlock_dir(&first);
  cr_assert(!rp_exp_exists(first.path), "%s is left behind", first.path);
  ASSERT_OK(rp_exp_lock_dir(dir, &second));
  rp_exp_unlock_dir(&second);
  remove_tree(root);
  free(root);
}

/* A report that cannot be written (here summary.md is a directory) stops no training: every
 * run is trained and recorded, and the error comes at the end. */
Test(experiment, a_failing_report_stops_no_training) {
  char *root = temp_dir(), dir[512], blocker[600];
  snprintf(dir, sizeof dir, "%s/out", root);
  snprintf(blocker, sizeof blocker, "%s/summary.md", dir);
  cr_assert(mkdir(dir, 0755) == 0 && mkdir(blocker, 0755) == 0);
  fake f = {0};
  run_synthetic(dir, synthetic, &f, RP_ERR_IO);
  cr_assert_eq(f.calls, 9, "%d of 9 runs trained", f.calls);
  cr_assert_eq(f.events[RP_EXP_REPORT_FAILED], 9, "the failures were not told after each run");
  cr_assert(strstr(rp_error_message(), "summary.md"), "%s", rp_error_message());
  char record[700];
  snprintf(record, sizeof record, "%s/runs/boom-s3.json", dir);
  cr_assert(access(record, R_OK) == 0, "the last run's record is missing");
  /* With searches after the listed runs: both searches and their best losses' runs as well. */
  char searched_dir[600], searched_blocker[700];
  snprintf(searched_dir, sizeof searched_dir, "%s/searched", root);
  snprintf(searched_blocker, sizeof searched_blocker, "%s/summary.md", searched_dir);
  cr_assert(mkdir(searched_dir, 0755) == 0 && mkdir(searched_blocker, 0755) == 0);
  fake g = {0};
  cr_assert_eq(run_searched(searched_dir, searched, &g), RP_ERR_IO, "%s", rp_error_message());
  for (int k = 0; k < 2; k++) {
    cJSON *state = state_of(searched_dir, k ? "recorded" : "pruned");
    cr_assert_eq(cJSON_GetObjectItem(state, "generations_done")->valueint, 3);
    cJSON_Delete(state);
  }
  cr_assert_eq(g.calls, 6, "%d of 6 runs trained (ce and both best losses, 2 seeds)", g.calls);
  remove_tree(root);
  free(root);
}

/* Runs that found only part of the training set are counted and named, in summary.md and
 * results.json, and their different image counts said to be mixed into the means. */
Test(experiment, runs_on_part_of_the_training_set_are_named) {
  char *root = temp_dir(), dir[512];
  snprintf(dir, sizeof dir, "%s/out", root);
  fake f = {.partial_seed = 2};
  run_synthetic(dir, synthetic, &f, RP_OK);
  char *summary = read_summary(dir);
  /* boom's runs diverge before they report their data */
  cr_assert(strstr(summary, "\n**Part of the training set: 2 of 9 runs** found only some of the "
                            "dataset's training files"),
            "%s", summary);
  cr_assert(strstr(summary, "\n**Runs trained on different data.** Training images an epoch: "
                            "1000 (ce-s1, ce-s3, ls-s1, ls-s3); 200 (ce-s2, ls-s2). The data "
                            "changed between runs; the means below mix them.\n"),
            "%s", summary);
  free(summary);
  cJSON *res = read_json_in(dir, "results.json");
  const cJSON *partial = cJSON_GetObjectItem(res, "runs_on_part_of_the_training_set");
  cr_assert_eq(cJSON_GetArraySize(partial), 2);
  cr_assert_str_eq(cJSON_GetArrayItem(partial, 0)->valuestring, "ce-s2");
  cr_assert_str_eq(cJSON_GetArrayItem(partial, 1)->valuestring, "ls-s2");
  cJSON_Delete(res);
  remove_tree(root);
  free(root);
}

Test(experiment, searches_run_resume_and_train_their_best) {
  char *root = temp_dir();
  char a[512], b[512], path[1024];
  snprintf(a, sizeof a, "%s/a", root);
  snprintf(b, sizeof b, "%s/b", root);

  /* Uninterrupted: the listed runs, both searches, then each best loss with both seeds. */
  fake f = {0};
  ASSERT_OK(run_searched(a, searched, &f));
  cJSON *pruned = state_of(a, "pruned"), *recorded = state_of(a, "recorded");
  cr_assert_eq(cJSON_GetObjectItem(pruned, "generations_done")->valueint, 3);
  int pruned_count = state_sum(pruned, "pruned");
  cr_assert(pruned_count > 0 && pruned_count < 18, "pruned %d of 18", pruned_count);
  cr_assert_eq(state_sum(recorded, "pruned"), 0);
  cr_assert_eq(state_sum(recorded, "trained"), 18);
  /* Record-only trains every candidate; pruning skips the violators. */
  cr_assert_eq(f.per_search[1], 18);
  cr_assert_eq(f.per_search[0], 18 - pruned_count);
  cr_assert_eq(f.calls, 2 + 2 + 2, "ce, best_pruned and best_recorded, 2 seeds each");
  /* One seed: both searches sample the same first generation (a paired comparison). */
  const cJSON *c0 = cJSON_GetObjectItem(
      cJSON_GetArrayItem(cJSON_GetObjectItem(pruned, "generations"), 0), "candidates");
  const cJSON *c1 = cJSON_GetObjectItem(
      cJSON_GetArrayItem(cJSON_GetObjectItem(recorded, "generations"), 0), "candidates");
  for (int k = 0; k < 6; k++)
    cr_assert(cJSON_Compare(cJSON_GetObjectItem(cJSON_GetArrayItem(c0, k), "sample"),
                            cJSON_GetObjectItem(cJSON_GetArrayItem(c1, k), "sample"), true),
              "candidate %d of generation 1 differs between the searches", k);

  /* The best loss is trained as best_<label>, with the genome the state names. */
  rp_loss best = {.kind = RP_LOSS_TAYLORGLO};
  const cJSON *genome = cJSON_GetObjectItem(cJSON_GetObjectItem(pruned, "best"), "genome");
  for (int k = 0; k < 8; k++) best.theta[k] = (float)cJSON_GetArrayItem(genome, k)->valuedouble;
  char canonical[256];
  rp_loss_format(&best, canonical, sizeof canonical);
  cJSON *rec = read_json_in(a, "runs/best_pruned-s2.json");
  cr_assert_str_eq(cJSON_GetObjectItem(rec, "loss")->valuestring, canonical);
  cJSON_Delete(rec);
  /* experiment.json stays the file as written: no found losses in it. */
  rec = read_json_in(a, "experiment.json");
  cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "losses")), 1);
  cJSON_Delete(rec);

  /* The report: a section per search with a row per generation, the states in results.json,
   * the loss shapes of the found losses, the search figure. */
  snprintf(path, sizeof path, "%s/summary.md", a);
  char *summary = read_file(path);
  cr_assert(strstr(summary, "## Search `pruned`") && strstr(summary, "## Search `recorded`"));
  cr_assert(strstr(summary, "| seconds | best so far (%) |\n|---|"), "no generation table");
  cr_assert(strstr(summary, "|\n| 3 | "), "no row for generation 3:\n%s", summary);
  /* the search's best loss as the tables name its runs, so that one finds the other */
  char named[300];
  snprintf(named, sizeof named, "| best_pruned | `%s` |", canonical);
  cr_assert(strstr(summary, named), "no '%s' in:\n%s", named, summary);
  snprintf(named, sizeof named, "), `%s`. Invariants: ", canonical);
  cr_assert(strstr(summary, named), "no '%s' in:\n%s", named, summary);
  cr_assert(strstr(summary, "## TaylorGLO loss shapes"));
  /* The comparison row of the record-only search: 3 generations, 18 trained, none pruned. */
  cr_assert(strstr(summary, "| recorded | code, record-only | 3 | 18 | 0 | 0 |"), "%s", summary);
  free(summary);
  rec = read_json_in(a, "results.json");
  const cJSON *searches = cJSON_GetObjectItem(rec, "searches");
  cr_assert_eq(cJSON_GetArraySize(searches), 2);
  cr_assert_eq(
      cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(searches, 1), "generations")), 3);
  cr_assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(searches, 0), "cmaes"));
  cJSON_Delete(rec);
  if (rp_plot_available()) {
    snprintf(path, sizeof path, "%s/figures/search_progress.svg", a);
    char *svg = svg_text(path);
    cr_assert(strstr(svg, "recorded: best so far"), "the figure lacks its legend");
    free(svg);
    snprintf(path, sizeof path, "%s/figures/loss_shapes.svg", a);
    svg = svg_text(path);
    cr_assert(strstr(svg, "best_recorded"));
    free(svg);
  }

  cr_assert_eq(f.found_states, 0, "a settled candidate's state was left behind");
  snprintf(path, sizeof path, "%s/search/pruned/candidate.state", a);
  cr_assert_neq(access(path, F_OK), 0, "%s is left after the search", path);

  /* Again: everything is done, nothing trains. */
  fake again = {0};
  ASSERT_OK(run_searched(a, searched, &again));
  cr_assert_eq(again.calls + again.candidates, 0);

  /* Interrupted in the second generation of the first search, after two of its candidates
   * were trained, then resumed: neither the finished generation nor those two candidates are
   * trained again, the interrupted one's state is found, and the records equal the
   * uninterrupted ones. */
  int gen1_trained =
      cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(pruned, "generations"), 0),
                          "trained")
          ->valueint;
  fake broken = {.fail_at = gen1_trained + 3}; /* the third training of generation 2 */
  cr_assert_eq(run_searched(b, searched, &broken), RP_ERR_IO);
  cJSON *partial = state_of(b, "pruned");
  int finished = cJSON_GetObjectItem(partial, "generations_done")->valueint;
  cr_assert_eq(finished, 1, "the failure came in generation %d", finished + 1);
  int first_generation =
      cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(partial, "generations"), 0),
                          "trained")
          ->valueint;
  const cJSON *in_progress = cJSON_GetObjectItem(partial, "in_progress");
  cr_assert_eq(cJSON_GetObjectItem(in_progress, "generation")->valueint, 1);
  int settled = cJSON_GetArraySize(cJSON_GetObjectItem(in_progress, "candidates"));
  cr_assert_geq(settled, 2, "two trained (and any pruned among them) are saved");
  cJSON_Delete(partial);
  /* Where the search stands, as --dry-run tells it: the interrupted candidate's training is
   * the one its state holds. */
  rp_experiment parsed;
  ASSERT_OK(rp_exp_parse(searched, "searched.json", fake_recipe, &parsed));
  rp_exp_search_progress standing;
  ASSERT_OK(rp_exp_search_done(&parsed, 0, b, &standing));
  cr_assert_eq(standing.at.generations, 1);
  cr_assert_eq(standing.at.settled, settled);
  cr_assert_eq(standing.candidate, settled, "the state is not the interrupted candidate's");
  cr_assert_eq(standing.attempt, 0);
  cr_assert_eq(standing.epochs_done, 1);
  cr_assert_str_eq(standing.device, "Fake GPU (1.0)");
  char said[1024], expected[1024];
  rp_exp_search_standing(&parsed.searches[0], &standing, said, sizeof said);
  snprintf(expected, sizeof expected,
           "1 of 3 generations done; %d of 6 candidates of generation 2 settled; candidate %d "
           "(try 1) saved after epoch 1 of 2 on Fake GPU (1.0)",
           settled, settled + 1);
  cr_assert_str_eq(said, expected);
  /* A try stuck before, as a search with the retry rule leaves it, and a state of none. */
  standing.at.stuck_tries = 2;
  standing.candidate = -1;
  rp_exp_search_standing(&parsed.searches[0], &standing, said, sizeof said);
  snprintf(expected, sizeof expected,
           "1 of 3 generations done; %d of 6 candidates of generation 2 settled; candidate %d "
           "stuck in 2 tries so far",
           settled, settled + 1);
  cr_assert_str_eq(said, expected);
  /* A damaged one is in the way, named, before anything trains (the search would stop on it). */
  snprintf(path, sizeof path, "%s/search/pruned/candidate.state", b);
  char *state_bytes;
  size_t state_size;
  ASSERT_OK(rp_file_read(path, &state_bytes, &state_size));
  FILE *sf = fopen(path, "wb");
  fputs("not a state", sf);
  fclose(sf);
  cr_assert_neq(rp_exp_search_done(&parsed, 0, b, &standing), RP_OK);
  cr_assert(strstr(rp_error_message(), "search/pruned/candidate.state"), "%s", rp_error_message());
  sf = fopen(path, "wb");
  fwrite(state_bytes, 1, state_size, sf);
  fclose(sf);
  free(state_bytes);
  rp_exp_free(&parsed);
  /* The report tells the generation under way. */
  ASSERT_OK(rp_exp_report(b));
  snprintf(path, sizeof path, "%s/summary.md", b);
  summary = read_file(path);
  char under_way[128];
  snprintf(under_way, sizeof under_way,
           "1 generation(s) done (the file asks for 3), and %d candidate(s) of generation 2",
           settled);
  cr_assert(strstr(summary, under_way), "no \"%s\" in:\n%s", under_way, summary);
  free(summary);
  fake resumed = {0};
  ASSERT_OK(run_searched(b, searched, &resumed));
  cr_assert_eq(resumed.candidates, f.candidates - first_generation - 2);
  cr_assert_eq(resumed.found_states, 1, "the interrupted candidate's state was not kept");
  cr_assert_eq(resumed.calls, 4, "ce was done before the search; the best losses were not");
  for (int k = 0; k < 2; k++) {
    const char *label = k ? "recorded" : "pruned";
    cJSON *x = state_of(a, label), *y = state_of(b, label);
    cr_assert(cJSON_Compare(cJSON_GetObjectItem(x, "generations"),
                            cJSON_GetObjectItem(y, "generations"), true),
              "search %s: resumed records differ", label);
    cr_assert(cJSON_Compare(cJSON_GetObjectItem(x, "best"), cJSON_GetObjectItem(y, "best"), true));
    cJSON_Delete(x);
    cJSON_Delete(y);
  }

  /* Another population: an error naming training.json before anything trains (ce-s1 is
   * removed so that a check made only after the listed runs would train it first). */
  char *changed = strdup(searched);
  char *at = strstr(changed, "\"population\": 6");
  at[strlen("\"population\": ")] = '8';
  snprintf(path, sizeof path, "%s/runs/ce-s1.json", a);
  cr_assert_eq(remove(path), 0);
  fake refused = {0};
  cr_assert_eq(run_searched(a, changed, &refused), RP_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(rp_error_message(), "search/pruned/training.json was made with another"), "%s",
            rp_error_message());
  cr_assert_eq(refused.calls + refused.candidates, 0);
  /* The same without training.json: the state's own settings still refuse it. */
  snprintf(path, sizeof path, "%s/search/pruned/training.json", a);
  cr_assert_eq(remove(path), 0);
  cr_assert_eq(run_searched(a, changed, &refused), RP_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(rp_error_message(),
                   "was made with other settings ($.config.lambda: 6 in the state, 8 now): move "
                   "its directory away or choose another output directory"),
            "%s", rp_error_message());
  cr_assert_eq(refused.calls + refused.candidates, 0);
  free(changed);

  /* Extending a search whose best loss was trained: an error before the extension trains. */
  changed = strdup(searched);
  at = strstr(changed, "\"generations\": 3");
  at[strlen("\"generations\": ")] = '4';
  cr_assert_eq(run_searched(b, changed, &refused), RP_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(rp_error_message(), "runs/best_pruned-s1.json trained the best loss of search"),
            "%s", rp_error_message());
  cr_assert_eq(refused.calls + refused.candidates, 0);
  free(changed);

  cJSON_Delete(pruned);
  cJSON_Delete(recorded);
  remove_tree(root);
  free(root);
}

/* A search whose every trained candidate scores 0 (trained, neither failed nor pruned) has a
 * best loss all the same, the first of them: planned and trained in full as best_<label>, and
 * the report says so under a generation row of no failure. */
Test(experiment, a_search_whose_candidates_all_score_0_has_a_best_loss) {
  char *dir = temp_dir();
  static const char text[] =
      "{" BASE_V ", " LOSSES ", \"seeds\": 2, \"search\": {\"label\": \"z\", \"invariant\": "
      "\"off\", \"population\": 2, \"generations\": 1, \"epochs\": 1, \"retries\": 0}}";
  fake f = {.zero_fitness = true};
  ASSERT_OK(run_searched(dir, text, &f));
  cr_assert_eq(f.candidates, 2);
  cr_assert_eq(f.calls, 2 + 2, "ce and best_z, 2 seeds each");

  /* The state's best is the first candidate, at 0. */
  cJSON *state = state_of(dir, "z");
  const cJSON *best = cJSON_GetObjectItem(state, "best");
  cr_assert_eq(cJSON_GetObjectItem(best, "generation")->valueint, 0);
  cr_assert_eq(cJSON_GetObjectItem(best, "index")->valueint, 0);
  cr_assert_eq(cJSON_GetObjectItem(best, "accuracy")->valuedouble, 0);
  cr_assert_eq(state_sum(state, "trained"), 2);
  cr_assert_eq(state_sum(state, "failed") + state_sum(state, "pruned"), 0);
  cJSON_Delete(state);

  /* Planned as a found loss (what --dry-run lists), and trained with both seeds. */
  rp_experiment e;
  ASSERT_OK(rp_exp_parse(text, "zero.json", fake_recipe, &e));
  ASSERT_OK(rp_exp_add_found_losses(&e, dir));
  cr_assert_geq(rp_exp_found_loss(&e, 0), 0, "best_z was left out of the plan");
  rp_exp_free(&e);
  for (int seed = 1; seed <= 2; seed++) {
    char name[64];
    snprintf(name, sizeof name, "runs/best_z-s%d.json", seed);
    cJSON *rec = read_json_in(dir, name);
    cr_assert(rec, "no %s", name);
    cJSON_Delete(rec);
  }

  /* The report: trained 2, pruned 0, failed 0, best so far 0.00; a best, not a failure. */
  char *summary = read_summary(dir);
  cr_assert(strstr(summary, "| 0.00 | 0.00 | 0.00 | 2 | 0 | 0 | 0 |"), "%s", summary);
  cr_assert(strstr(summary, " | 0.00 |\n\nBest: **0.00%** (generation 1, candidate 1), "), "%s",
            summary);
  cr_assert(strstr(summary, "every seed as `best_z`, whose finished runs are in the tables"), "%s",
            summary);
  cr_assert_null(strstr(summary, "failed (diverged)"), "%s", summary);
  cr_assert_null(strstr(summary, "no best loss"), "%s", summary);
  free(summary);
  remove_tree(dir);
  free(dir);
}

/* Records of a search's best loss whose state is gone (its state.json removed, or the whole
 * search/ directory): an error naming the missing state before anything trains (nothing was
 * extended); with the records moved away, the search starts again and its best trains. */
Test(experiment, best_records_without_their_search_state_name_it) {
  char *dir = temp_dir();
  fake f = {0};
  ASSERT_OK(run_searched(dir, searched, &f));
  char state[700], search_dir[700], expected[2400];
  snprintf(state, sizeof state, "%s/search/pruned/state.json", dir);
  snprintf(search_dir, sizeof search_dir, "%s/search", dir);
  snprintf(expected, sizeof expected,
           "%s/runs/best_pruned-s1.json trained the best loss of search \"pruned\", whose "
           "state %s is missing: restore it, or move %s/runs/best_pruned-s*.* away to start the "
           "search again",
           dir, state, dir);
  cr_assert_eq(remove(state), 0);
  for (int k = 0; k < 2; k++) {
    if (k) remove_tree(search_dir);
    fake refused = {0};
    cr_assert_eq(run_searched(dir, searched, &refused), RP_ERR_INVALID_ARGUMENT);
    cr_assert_str_eq(rp_error_message(), expected);
    cr_assert_eq(refused.calls + refused.candidates, 0);
  }

  /* As it says: the records moved away, both searches start again and their bests train. */
  for (int k = 0; k < 2; k++)
    for (int seed = 1; seed <= 2; seed++) {
      char path[800];
      snprintf(path, sizeof path, "%s/runs/best_%s-s%d.json", dir, k ? "recorded" : "pruned", seed);
      cr_assert_eq(remove(path), 0, "%s", path);
    }
  fake again = {0};
  ASSERT_OK(run_searched(dir, searched, &again));
  cr_assert_eq(again.candidates, f.candidates);
  cr_assert_eq(again.calls, 4, "ce was done; the best losses were not");
  remove_tree(dir);
  free(dir);
}

/* A damaged run record and a damaged search state are the same kind of bad input
 * (RP_ERR_INVALID_ARGUMENT, exit status 2 as a malformed experiment file), each named with its
 * file before anything trains. */
Test(experiment, damaged_records_and_states_are_bad_input_alike) {
  char *dir = temp_dir();
  fake f = {0};
  ASSERT_OK(run_searched(dir, searched, &f));
  char record[700], state[700];
  snprintf(record, sizeof record, "%s/runs/ce-s1.json", dir);
  snprintf(state, sizeof state, "%s/search/pruned/state.json", dir);
  char *kept_record = read_file(record), *kept_state = read_file(state);
  cr_assert(kept_record && kept_state);

  /* Each cut short, as a full disk or a copy gone wrong leaves it. */
  write_file(record, "{\"schema\": ");
  fake a = {0};
  cr_assert_eq(run_searched(dir, searched, &a), RP_ERR_INVALID_ARGUMENT, "%s", rp_error_message());
  cr_assert(strstr(rp_error_message(), record), "%s", rp_error_message());
  cr_assert_eq(a.calls + a.candidates, 0);
  cr_assert_eq(rp_exp_report(dir), RP_ERR_INVALID_ARGUMENT, "%s", rp_error_message());
  write_file(record, kept_record);
  write_file(state, "{\"format\": ");
  fake b = {0};
  cr_assert_eq(run_searched(dir, searched, &b), RP_ERR_INVALID_ARGUMENT, "%s", rp_error_message());
  cr_assert(strstr(rp_error_message(), state), "%s", rp_error_message());
  cr_assert_eq(b.calls + b.candidates, 0);

  /* The other search's found loss still joins (the dry run plans it beside the error), and the
   * error is the damaged state's. */
  rp_experiment e;
  ASSERT_OK(rp_exp_parse(searched, "searched.json", fake_recipe, &e));
  cr_assert_eq(rp_exp_add_found_losses(&e, dir), RP_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(rp_error_message(), state), "%s", rp_error_message());
  cr_assert_lt(rp_exp_found_loss(&e, 0), 0);
  cr_assert_geq(rp_exp_found_loss(&e, 1), 0, "best_recorded was left out of the plan");
  rp_exp_free(&e);

  /* Only CMA-ES's part damaged: found by the checks before anything trains too (ce-s1 removed,
   * so that a check made only on resuming the search would train it first), naming the file. */
  cJSON *j = cJSON_Parse(kept_state);
  cJSON_ReplaceItemInObject(j, "cmaes", cJSON_CreateString("{"));
  char *text = cJSON_Print(j);
  write_file(state, text);
  cJSON_free(text);
  cJSON_Delete(j);
  cr_assert_eq(remove(record), 0);
  fake c = {0};
  cr_assert_eq(run_searched(dir, searched, &c), RP_ERR_INVALID_ARGUMENT, "%s", rp_error_message());
  cr_assert(strstr(rp_error_message(), state) && strstr(rp_error_message(), "$.cmaes"), "%s",
            rp_error_message());
  cr_assert_eq(c.calls + c.candidates, 0);

  /* The state whole but its training.json gone: how its candidates were trained is unknown,
   * so nothing trains (the state would otherwise resume under whatever the file says now). */
  write_file(state, kept_state);
  char training[700];
  snprintf(training, sizeof training, "%s/search/pruned/training.json", dir);
  char *kept_training = read_file(training);
  cr_assert(kept_training);
  cr_assert_eq(remove(training), 0);
  fake g = {0};
  cr_assert_eq(run_searched(dir, searched, &g), RP_ERR_INVALID_ARGUMENT, "%s", rp_error_message());
  char expected[1600];
  snprintf(expected, sizeof expected,
           "%s has no training.json beside it, which says how its candidates were trained: "
           "restore it, or move %s/search/pruned away to start search \"pruned\" again",
           state, dir);
  cr_assert_str_eq(rp_error_message(), expected);
  cr_assert_eq(g.calls + g.candidates, 0);
  write_file(training, kept_training);
  free(kept_training);

  /* Mended: the run goes on, training only the missing record. */
  fake d = {0};
  ASSERT_OK(run_searched(dir, searched, &d));
  cr_assert_eq(d.calls, 1);
  cr_assert_eq(d.candidates, 0);
  free(kept_record);
  free(kept_state);
  remove_tree(dir);
  free(dir);
}

Test(experiment, report_of_an_empty_directory) {
  char *dir = temp_dir();
  ASSERT_OK(rp_exp_report(dir));
  char path[600];
  snprintf(path, sizeof path, "%s/summary.md", dir);
  char *s = read_file(path);
  cr_assert(s && strstr(s, "No finished runs yet."));
  free(s);
  remove_tree(dir);
  free(dir);
}

/* The epochs of the paper's recipes (taylorglo.md §7), the one default that decides validity
 * (search epochs <= training epochs); the rest as the stand-in recipe. */
static void paper_recipe(const char *model, const char *dataset, rp_exp_training *t,
                         int64_t *validation) {
  fake_recipe(model, dataset, t, validation);
  *validation = strncmp(dataset, "cifar", 5) == 0 ? 5000 : 0;
  t->epochs = strcmp(model, "mnist_cnn") == 0 ? 40 : strcmp(model, "allcnn_c") == 0 ? 350 : 200;
}

/* Every experiment file shipped in experiments/ is valid. */
static void source_dir(char *out, size_t size) {
  /* CMake compiles this file by its absolute path: the source tree is two levels up. */
  snprintf(out, size, "%s", __FILE__);
  for (int i = 0; i < 2; i++) {
    char *slash = strrchr(out, '/');
    cr_assert(slash, "__FILE__ is not an absolute path: %s", __FILE__);
    *slash = '\0';
  }
}

Test(experiment, shipped_experiment_files_are_valid) {
  char root[1024];
  source_dir(root, sizeof root);
  char experiments[1100];
  snprintf(experiments, sizeof experiments, "%s/experiments", root);
  DIR *d = opendir(experiments);
  cr_assert(d, "no experiments/ directory");
  int n = 0;
  for (struct dirent *f; (f = readdir(d));) {
    size_t len = strlen(f->d_name);
    if (len < 6 || strcmp(f->d_name + len - 5, ".json") != 0) continue;
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", experiments, f->d_name);
    rp_experiment e;
    rp_status st = rp_exp_load(path, paper_recipe, &e);
    cr_assert_eq(st, RP_OK, "%s", rp_error_message());
    rp_exp_plan plan;
    ASSERT_OK(rp_exp_make_plan(&e, &plan));
    rp_exp_plan_free(&plan);
    rp_exp_free(&e);
    n++;
  }
  closedir(d);
  cr_assert_geq(n, 9, "only %d experiment files", n);
}
