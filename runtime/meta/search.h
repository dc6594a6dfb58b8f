/* The TaylorGLO metalearning search (docs/taylorglo.md §3, §5): CMA-ES over the
 * 8-entry genome [a1..a6, θ0, θ1] in the code convention, each candidate a loss function judged
 * by training a network with it.
 *
 * One generation:
 *   1. CMA-ES asks lambda candidates (from the zero vector and sigma0 1.2 at the start).
 *   2. Each candidate is rounded to 4 decimals (as the official pipeline does) before anything
 *      else; the rounded genome is what is checked and trained, the sample as asked is what
 *      CMA-ES is told (the rounding is the map from genotype to loss, as in the official code).
 *   3. Both invariants (code and softmax, taylorglo.h) are evaluated and recorded. With an
 *      invariant selected and pruning on, a violating candidate is not trained: it gets
 *      accuracy 0 and still enters the update. With pruning off, violations are only counted.
 *   4. The others are trained through an injectable function (search_train.c has the one that
 *      drives the trainer; tests inject a synthetic one). Fitness accuracy = validation accuracy
 *      at the last epoch, or FGSM accuracy on the validation split. A run that diverges (or
 *      reports a non-finite accuracy) gets accuracy 0 and is counted as failed: never the best
 *      loss, which any candidate trained successfully may be, at accuracy 0 too. Retry rule: a
 *      run whose validation accuracy at epoch retry_epoch is below retry_below is trained again
 *      with a new seed, at most `retries` times (so at most 1 + retries trainings: 2 gives the
 *      reference's "up to 3 tries", the official trainingAttempts = 3); the last allowed try is
 *      final whatever its accuracy. Off for adversarial fitness.
 *   5. CMA-ES is told 1 - accuracy (minimized); the generation's record is appended, the whole
 *      state written atomically to the state file, and the per-generation callback called.
 *      Each candidate trained before that is written to the state file too, with those settled
 *      before it, as the generation in progress (a pruned one costs nothing to settle again).
 *
 * Reproducibility: every training's seed follows from its identity, (experiment name, seed,
 * generation, candidate, try) through rp_seed_mix chains, never from the order of execution;
 * CMA-ES's own stream from (experiment name, seed). A search killed at any point resumes after
 * the last settled candidate in the state file (CMA-ES's ask does not change its state, so the
 * generation in progress is asked again exactly and its settled candidates are taken up, not
 * trained again) and, with deterministic training, produces exactly the records of an
 * uninterrupted run.
 *
 * This file and search.c are pure host logic (no Vulkan, no trainer); search_train.c adds the
 * trainer-backed training function, so a test can link the search without the trainer. */
#ifndef RP_SEARCH_H
#define RP_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/taylorglo.h"
#include "vk/status.h"

/* Which invariant prunes candidates (both are always recorded). */
typedef enum rp_search_invariant {
  RP_SEARCH_INV_OFF = 0, /* none: every candidate is trained */
  RP_SEARCH_INV_CODE,    /* the official code's test */
  RP_SEARCH_INV_SOFTMAX, /* the exact null-epoch test A > B */
} rp_search_invariant;

typedef enum rp_search_fitness {
  RP_SEARCH_FIT_ACCURACY = 0, /* validation accuracy after the last epoch */
  RP_SEARCH_FIT_FGSM,         /* FGSM accuracy on the validation split at attack_eps */
} rp_search_fitness;

/* "off" | "code" | "softmax", and "accuracy" | "fgsm". */
rp_status rp_search_parse_invariant(const char *text, rp_search_invariant *out);
const char *rp_search_invariant_name(rp_search_invariant inv);
rp_status rp_search_parse_fitness(const char *text, rp_search_fitness *out);
const char *rp_search_fitness_name(rp_search_fitness f);

struct rp_search_config;

/* One training the search asks for. */
typedef struct rp_search_trial {
  const struct rp_search_config *cfg; /* fitness kind and attack settings live there */
  int generation, candidate, attempt; /* all 0-based; attempt 0 is the first try */
  uint64_t seed;                      /* rp_search_seed of the above */
  double genome[RP_TGLO_GENOME];      /* rounded, code convention, [a1..a6, θ0, θ1] */
  /* > 0: a retry may follow, decided on the validation accuracy after this epoch (1-based):
   * report it in check_accuracy. The function may stop the run right after that epoch when
   * the accuracy is below check_below (the search then retries and ignores `accuracy`).
   * 0: this try is final; train the whole schedule. */
  int check_epoch;
  double check_below;
} rp_search_trial;

/* What a training produced. The search initializes accuracy and check_accuracy to NaN. */
typedef struct rp_search_outcome {
  double accuracy;       /* fitness accuracy in [0, 1] */
  double check_accuracy; /* validation accuracy after check_epoch; NaN when not reached */
  bool diverged;         /* NaN or Inf in training (returning RP_ERR_DIVERGED means the same) */
  double seconds;        /* wall seconds spent training (and evaluating) */
  int epochs;            /* epochs finished */
} rp_search_outcome;

/* Trains one candidate. Any status other than RP_OK and RP_ERR_DIVERGED aborts the search (its
 * state file keeps the candidates settled before). */
typedef rp_status (*rp_search_train_fn)(const rp_search_trial *trial, void *user,
                                        rp_search_outcome *out);

/* One candidate of a generation, as recorded. */
typedef struct rp_search_candidate {
  double sample[RP_TGLO_GENOME]; /* as CMA-ES asked it (and was told it back) */
  double genome[RP_TGLO_GENOME]; /* rounded to 4 decimals: checked and trained */
  /* Both invariants with their two sides (n = cfg->classes):
   * code: code_lhs >= code_rhs; softmax: A > B (A = f'(1,1/n), B = f'(0,1/n)). */
  double code_lhs, code_rhs, A, B;
  bool code_valid, softmax_valid;
  bool pruned;           /* not trained: violated the selected invariant with pruning on */
  bool failed;           /* trained but diverged or non-finite accuracy: accuracy 0 */
  int tries;             /* trainings run (0 when pruned); tries - 1 were retries */
  uint64_t seed;         /* seed of the last try (0 when pruned) */
  double check_accuracy; /* of the last try (NaN when none) */
  int epochs;            /* of the last try */
  double accuracy;       /* the fitness accuracy (0 when pruned or failed) */
  double seconds;        /* training seconds of all its tries */
} rp_search_candidate;

/* One finished generation. Statistics of accuracy are over all lambda candidates as told to
 * CMA-ES (pruned and failed count as 0). */
typedef struct rp_search_generation {
  int generation; /* 0-based */
  int lambda;
  double sigma;      /* the step size the generation was sampled with */
  double sigma_next; /* after its update */
  double best, mean, min;
  double mean_trained; /* mean accuracy of the trained, non-failed candidates (NaN: none) */
  int best_candidate;  /* index of the first with accuracy == best */
  int trained;         /* candidates trained (not pruned), failed ones included */
  int pruned, failed;
  int retries; /* extra trainings caused by the retry rule */
  int code_violations, softmax_violations;
  double seconds;       /* training wall seconds of this generation */
  double total_seconds; /* of all generations so far */
  /* Best candidate trained successfully so far, neither pruned nor failed, whatever its
   * accuracy (0 included: strictly better replaces; ties keep the earlier). */
  double best_genome[RP_TGLO_GENOME];
  double best_accuracy;            /* NaN while none has trained successfully */
  int best_generation, best_index; /* -1 while none has trained successfully */
  rp_search_candidate *candidates; /* lambda of them */
} rp_search_generation;

typedef struct rp_search_config {
  const char *experiment; /* name, part of every seed (NULL = "") */
  uint64_t seed;
  int generations; /* run until this many have finished (a resumed search may extend it) */
  int lambda;      /* 0: 4 + floor(3 ln 8) = 10 */
  double sigma0;   /* 1.2 */
  int classes;     /* n of the invariants, 10 */
  rp_search_invariant invariant;
  bool prune; /* false: record violations only */
  rp_search_fitness fitness;
  double attack_eps;      /* FGSM: eps (0.1) */
  bool attack_normalized; /* FGSM: eps in normalized units, the official code's quirk */
  int retry_epoch;        /* 10 (0: no retry rule) */
  double retry_below;     /* 0.15 */
  int retries;            /* 2: three trainings at most */
  const char *state_path; /* NULL: nothing saved; an existing file is resumed */
  rp_search_train_fn train;
  void *train_user;
  /* Optional: before each training (progress display). */
  void (*on_trial)(const rp_search_trial *trial, void *user);
  /* Optional: after each candidate is settled (trained, failed or pruned) and saved in the
   * state file. Not called again for the candidates a resumed search takes up. */
  void (*on_candidate)(int generation, int index, const rp_search_candidate *c, void *user);
  /* Optional: after each finished generation, once its state is saved. Returning nonzero
   * stops the search there (resumable). */
  int (*on_generation)(const rp_search_generation *g, void *user);
  void *user;
} rp_search_config;

/* The defaults above; experiment "", seed 1, 100 generations, no state file, no train function
 * (set cfg->train: rp_search_train_candidate from search_train.c, or a test's own). */
void rp_search_config_defaults(rp_search_config *cfg);

typedef struct rp_search_result {
  /* The best loss found: the best candidate trained successfully (neither pruned nor failed),
   * as the generations' best_* say; rp_search_has_best tells whether there is one. */
  double genome[RP_TGLO_GENOME]; /* its rounded genome */
  double accuracy;               /* its fitness accuracy, 0 possible (NaN: none) */
  int best_generation, best_index;
  int resumed_from;     /* generations found in the state file (0: a fresh start) */
  int generation_count; /* generations finished, records below */
  bool stopped_by_callback;
  rp_search_generation *generations; /* owned: rp_search_result_free */
  /* The generation in progress (number generation_count) when the search stopped, or as the
   * state file holds it: its first `settled` candidates (0: none), in `in_progress` (lambda
   * slots, owned; NULL when the state holds no generation in progress). */
  int settled;
  rp_search_candidate *in_progress;
  /* Tries of the candidate after them (in_progress[settled]) found stuck under the retry rule
   * so far: a resumed search trains its next try (0: none). */
  int stuck_tries;
} rp_search_result;

/* Runs (or resumes) the search until cfg->generations have finished or the callback stops it.
 * *out is filled also on failure with what finished (free it either way). */
rp_status rp_search_run(const rp_search_config *cfg, rp_search_result *out);
void rp_search_result_free(rp_search_result *r);

/* Whether the search has a best loss: its best names a candidate of its records that trained
 * successfully (neither pruned nor failed), at any accuracy, 0 included. False while none has,
 * and for the state of an earlier version whose best names a failed candidate. */
bool rp_search_has_best(const rp_search_result *r);

/* Reads a state file's records and best (for reports), without a config. */
rp_status rp_search_read_state(const char *path, rp_search_result *out);

/* Where a search stands in its state file: as rp_search_result's counts of the same names. */
typedef struct rp_search_position {
  int generations, settled, stuck_tries;
} rp_search_position;

/* Whether cfg->state_path holds a state this config may resume: where it stands (all 0 with no
 * file), or an error naming the settings that differ or the member that is damaged (the
 * generation in progress is checked against what its CMA-ES state asks). Trains nothing. */
rp_status rp_search_check_state(const rp_search_config *cfg, rp_search_position *at);

/* ---- the pure pieces, exposed for tests and reports */

/* x rounded to 4 decimals, correctly (the decimal nearest to x, ties to even as printf does:
 * the same as Python's round(x, 4) and the official code's "%.4f"). */
double rp_search_round4(double x);

/* Seeds: root = mix(seed, hash(experiment)); CMA-ES = mix(root, 1);
 * training = mix(mix(mix(mix(root, 2), generation), candidate), attempt). */
uint64_t rp_search_cmaes_seed(const char *experiment, uint64_t seed);
uint64_t rp_search_trial_seed(const char *experiment, uint64_t seed, int generation, int candidate,
                              int attempt);

/* Lambda's default for the 8-entry genome: 4 + floor(3 ln 8) = 10. */
int rp_search_default_lambda(void);

#endif
