/* Experiment files: a declarative description of a set of training runs (losses x seeds on one
 * model and dataset, evaluated clean and under FGSM/PGD), parsed and validated in full before
 * anything runs. docs/experiments.md documents every key.
 *
 * This file and its .c files (schema, plan) depend on no trainer code: the model's recipe (the
 * defaults of the training block) comes in through a callback, so the parser can be tested
 * without the training engine. */
#ifndef RP_EXPERIMENT_H
#define RP_EXPERIMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/loss.h"
#include "vk/status.h"

#define RP_EXP_MAX_LR_STEPS 8 /* = RP_MAX_LR_STEPS of the trainer */
#define RP_EXP_MAX_EPS 32
#define RP_EXP_NAME_MAX 64

/* The training block: what rp_train_config holds besides model, dataset, loss and seed. */
typedef struct rp_exp_training {
  int epochs, batch;
  double lr, lr_gamma;
  int lr_steps[RP_EXP_MAX_LR_STEPS], lr_step_count;
  double momentum, weight_decay;
  bool nesterov;
  bool crop, flip, cutout; /* crop: 4-pixel padding; cutout: one 16x16 hole */
  int64_t max_steps;       /* 0: no limit */
} rp_exp_training;

/* The model's recipe: training defaults and the default validation hold-out. */
typedef void (*rp_exp_recipe_fn)(const char *model, const char *dataset, rp_exp_training *training,
                                 int64_t *validation);

typedef struct rp_exp_loss {
  char label[RP_EXP_NAME_MAX]; /* unique within the experiment; part of run ids */
  char spec[256];              /* as written in the file */
  bool paper;                  /* TaylorGLO parameters were in the paper's convention */
  rp_loss loss;
  char canonical[256]; /* rp_loss_format: code convention */
  /* Not in the file: the best loss a search found, trained as "best_<search label>"
   * (rp_exp_add_found_losses). experiment.json leaves such losses out. */
  bool from_search;
  int search_index;
} rp_exp_loss;

typedef struct rp_exp_eval {
  bool clean;
  double fgsm[RP_EXP_MAX_EPS];
  int fgsm_count;
  double pgd[RP_EXP_MAX_EPS];
  int pgd_count;
  int pgd_steps;
  double pgd_step_size; /* 0: 2.5 eps / steps for each eps (rp_pgd_default_step) */
  bool normalized;      /* eps_mode "normalized" (the official code's units) */
} rp_exp_eval;

typedef enum rp_exp_invariant {
  RP_EXP_INVARIANT_OFF,
  RP_EXP_INVARIANT_CODE,
  RP_EXP_INVARIANT_SOFTMAX
} rp_exp_invariant;
typedef enum rp_exp_fitness { RP_EXP_FITNESS_VAL_ACCURACY, RP_EXP_FITNESS_FGSM } rp_exp_fitness;

/* The loss-function search (CMA-ES over TaylorGLO parameters): parsed and validated here, run
 * by the search engine. */
typedef struct rp_exp_search {
  char label[RP_EXP_NAME_MAX]; /* names the search's outputs; "search" for a lone block */
  int population, generations;
  double sigma0;
  rp_exp_invariant invariant;
  bool prune; /* false: violations are recorded, the candidates still trained */
  rp_exp_fitness fitness;
  double fitness_eps;
  int epochs; /* per candidate */
  double retry_below;
  int retry_epoch, retries;
  bool then_train_best; /* train the best loss found with the full schedule, all seeds */
  int seed; /* with the experiment's name, the identity of the CMA-ES stream and of every
             * candidate's seed: searches of one file that share it sample the same first
             * generation, so their variants (invariant on, off) compare paired */
} rp_exp_search;

typedef struct rp_experiment {
  char name[RP_EXP_NAME_MAX];
  char dataset[32];
  char data_dir[1024]; /* "" = the default search */
  double fraction;
  int64_t validation;
  int64_t test_images; /* 0: the whole test set */
  char model[RP_EXP_NAME_MAX];
  rp_exp_training training;
  rp_exp_loss *losses;
  int loss_count;
  int *seeds; /* seed numbers (identities), not the seeds the runs use */
  int seed_count;
  rp_exp_eval eval;
  /* "search": one block, or a list of labelled blocks (variants of one search, e.g. with the
   * invariant on, off and record-only). */
  rp_exp_search *searches;
  int search_count;
} rp_experiment;

/* Parses and validates `text` (the contents of `file`, which only names it in messages). A
 * failure gives RP_ERR_INVALID_ARGUMENT and one message "FILE: $.json.path: what is wrong".
 * `recipe` fills the training defaults for the file's model and dataset. */
rp_status rp_exp_parse(const char *text, const char *file, rp_exp_recipe_fn recipe,
                       rp_experiment *out);
/* Reads `path` and parses it. */
rp_status rp_exp_load(const char *path, rp_exp_recipe_fn recipe, rp_experiment *out);
void rp_exp_free(rp_experiment *exp);

/* The resolved experiment (every default filled in) as JSON. */
struct cJSON;
struct cJSON *rp_exp_to_json(const rp_experiment *exp);
/* The resolved training configuration of one run, as `repro train --json` writes it. */
struct cJSON *rp_exp_config_json(const rp_experiment *exp, const rp_exp_loss *loss, uint64_t seed);

/* ---- the plan: one run per (loss, seed number) */

/* The seed a run trains with: a hash of its identity (experiment name, loss label, seed
 * number), never of the order runs execute in, so adding, removing or reordering losses or
 * seeds changes no other run. Below 2^53, so JSON numbers hold it exactly. */
uint64_t rp_exp_derive_seed(const char *experiment, const char *loss_label, int seed_number);

/* The seed of the train/validation split, the same for every run of an experiment (so that all
 * losses and seeds train on the same images): the derivation above with an empty label, which
 * no loss can have. */
uint64_t rp_exp_split_seed(const char *experiment);

typedef struct rp_exp_run {
  char id[2 * RP_EXP_NAME_MAX + 16]; /* "<loss label>-s<seed number>": file names */
  int loss_index, seed_number;
  uint64_t seed;
} rp_exp_run;

typedef struct rp_exp_plan {
  rp_exp_run *runs;
  int run_count;
  /* Totals over all runs, in double: the schema's limits multiplied together overflow 64 bits
   * (256 losses x 1000 seeds x 2^31 epochs), and an estimate needs no more than 53 bits. */
  double epochs;        /* training epochs */
  double image_steps;   /* estimated images through forward + backward, training only */
  double eval_images;   /* estimated images through evaluation and attacks */
  int64_t train_images; /* per epoch, the estimate used (from the dataset's size) */
} rp_exp_plan;

rp_status rp_exp_make_plan(const rp_experiment *exp, rp_exp_plan *out);
void rp_exp_plan_free(rp_exp_plan *plan);

/* Sizes of the standard datasets (train, test), for cost estimates; false if unknown. */
bool rp_exp_dataset_size(const char *dataset, int64_t *train, int64_t *test);
/* Number of classes of a dataset (10, or 100 for CIFAR-100). */
int rp_exp_dataset_classes(const char *dataset);

/* Whether the retry rule can fire in search `s`: validation fitness, retries > 0, and a check
 * epoch its candidates reach. */
bool rp_exp_search_retries(const rp_exp_search *s);

/* The search block as the experiment file spells it (every default filled in). */
struct cJSON *rp_exp_search_json(const rp_exp_search *s);

/* Appends the loss "best_<label of search `index`>" with TaylorGLO genome `genome` (code
 * convention), marked as found by that search. */
rp_status rp_exp_add_found_loss(rp_experiment *e, int index, const double genome[8]);
/* The index in e->losses of the loss search `index` found, or -1 when none was added. */
int rp_exp_found_loss(const rp_experiment *e, int index);

#endif
