/* Executing an experiment's plan: for each run not yet done, train (through a backend), write
 * runs/<id>.json and runs/<id>.csv, and regenerate the reports. The backend is the trainer in
 * `repro run` (exp/runner.c) and a stand-in in the tests, so that everything here is testable
 * without a device. */
#ifndef RP_EXP_DRIVER_H
#define RP_EXP_DRIVER_H

#include "exp/experiment.h"
#include "meta/search.h"
#include "train/epoch_metrics.h"

struct cJSON;

/* One epoch's metrics, as the trainer measures them. NaN = not measured. */
typedef rp_epoch_metrics rp_exp_epoch;

typedef enum rp_exp_attack_kind { RP_EXP_FGSM, RP_EXP_PGD } rp_exp_attack_kind;
typedef struct rp_exp_attack_result {
  rp_exp_attack_kind kind;
  double eps, accuracy;
} rp_exp_attack_result;

#define RP_EXP_MAX_ATTACKS (2 * RP_EXP_MAX_EPS)

/* What a backend's train call fills. The driver owns `epochs` (malloc'd by the backend, freed
 * by the driver). */
typedef struct rp_exp_result {
  bool diverged;
  char error[256]; /* why it diverged */
  rp_exp_epoch *epochs;
  int epoch_count;
  double test_accuracy, test_loss; /* the clean evaluation after training (NaN if off) */
  rp_exp_attack_result attacks[RP_EXP_MAX_ATTACKS];
  int attack_count;
  double seconds;
  struct cJSON *data; /* where the data came from (dir, image counts, partial); the driver
                       * takes it into the record. NULL: none */
} rp_exp_result;

typedef enum rp_exp_event {
  RP_EXP_RUN_START,
  RP_EXP_RUN_DONE,
  RP_EXP_RUN_SKIPPED,
  RP_EXP_REPORT_FAILED, /* the report after a run could not be remade (rp_error_message) */
} rp_exp_event;

/* How far a search is, by its files. */
typedef struct rp_exp_search_progress {
  rp_search_position at; /* by state.json (all 0: no state) */
  /* The candidate whose training candidate.state holds, to be taken up after epochs_done of
   * its try `attempt` on `device`, where it was saved (-1: none, or an earlier trial's state,
   * to be discarded). */
  int candidate, attempt, epochs_done;
  char device[512];
} rp_exp_search_progress;

/* Progress of a search, for the command line: one of the pointers is set, by `kind`. */
typedef enum rp_exp_search_event_kind {
  RP_EXP_SEARCH_START,      /* where its files say it stands (progress) */
  RP_EXP_SEARCH_TRIAL,      /* a candidate's training begins (trial) */
  RP_EXP_SEARCH_RESUMED,    /* ...taken up from its saved state after epochs_done (trial) */
  RP_EXP_SEARCH_EPOCH,      /* an epoch of it finished (trial, epoch) */
  RP_EXP_SEARCH_CANDIDATE,  /* a candidate is settled: trained, failed or pruned (candidate) */
  RP_EXP_SEARCH_GENERATION, /* a generation finished and its state is saved (generation) */
  RP_EXP_SEARCH_DONE,       /* every generation is done (result) */
} rp_exp_search_event_kind;

typedef struct rp_exp_search_event {
  rp_exp_search_event_kind kind;
  const rp_exp_search *search;
  int generation, index;                  /* of the candidate */
  int epochs_done;                        /* RESUMED */
  const rp_exp_search_progress *progress; /* START */
  const rp_search_trial *trial;
  const rp_epoch_metrics *epoch;
  const rp_search_candidate *candidate;
  const rp_search_generation *generation_record;
  const rp_search_result *result;
} rp_exp_search_event;

typedef struct rp_exp_backend {
  /* Trains and evaluates one run. RP_OK with result->diverged for a diverged run; any other
   * failure stops the experiment (finished runs stay). `state_path` (runs/<id>.state) is where
   * the backend may keep the run's state between epochs and, finding it there, go on from it:
   * the driver removes it once the run's record is written. */
  rp_status (*train)(void *user, const rp_experiment *e, const rp_exp_run *run,
                     const char *state_path, rp_exp_result *result);
  /* The device block of the run records (rp_caps_to_json); NULL: none. Caller frees. */
  struct cJSON *(*device_json)(void *user);
  /* Progress, for the command line to print (may be NULL). `result` only with RUN_DONE. */
  void (*event)(void *user, rp_exp_event event, int index, int count, const rp_exp_run *run,
                const rp_exp_result *result);
  void *user;
  /* Trains one candidate of search `s`: the experiment's training with the search's epochs and
   * the candidate's genome and seed (rp_search_train_fn's contract). `state_path`
   * (search/<label>/candidate.state) is where the backend may keep the trial's state between
   * epochs, under rp_exp_candidate_fingerprint, and go on from it; a state there under another
   * fingerprint is an earlier trial's, to be discarded. The driver removes it once the
   * candidate is settled. NULL: this backend cannot run searches (an experiment with searches
   * is then an error). */
  rp_status (*train_candidate)(void *user, const rp_experiment *e, const rp_exp_search *s,
                               const rp_search_trial *trial, const char *state_path,
                               rp_search_outcome *out);
  /* Search progress (may be NULL). */
  void (*search_event)(void *user, const rp_exp_search_event *event);
} rp_exp_backend;

/* Runs every run of `plan` that `out_dir`/runs/ does not hold yet; a record made with another
 * configuration is an error (nothing is overwritten). `git_commit` goes into every record.
 * The report (rp_exp_report) is remade after each run, its failure ignored: the caller makes
 * the last one, whose error counts. */
rp_status rp_exp_execute(const rp_experiment *e, const rp_exp_plan *plan, const char *out_dir,
                         const rp_exp_backend *backend, const char *git_commit);

/* Checks every record in `out_dir`/runs before anything trains: readable, complete as the report
 * reads it (rp_exp_check_record), of experiment `e`, and one of `plan`'s runs. A record of
 * another experiment, or of a loss or seed the file no longer has, is an error (it would be
 * mixed into the summary). */
rp_status rp_exp_check_runs(const rp_experiment *e, const rp_exp_plan *plan, const char *out_dir);

/* Whether `out_dir`/runs/<run id>.json holds this run, finished (or diverged) with this
 * configuration: 1 yes, 0 no record, or an error for a record of another configuration that
 * names the first difference (JSON path, recorded and current values). Without a record,
 * *epochs_done is the epochs of the run's saved state (runs/<id>.state; 0: none), and a state
 * saved under another configuration, or damaged, is an error naming it the same way. */
rp_status rp_exp_run_done(const rp_experiment *e, const rp_exp_run *run, const char *out_dir,
                          bool *done, int *epochs_done);

/* What a run's saved state (runs/<id>.state) must have been saved under to be taken up: the
 * run's resolved configuration, as its record holds it, in compact JSON. Caller frees. */
char *rp_exp_state_fingerprint(const rp_experiment *e, const rp_exp_loss *loss, uint64_t seed);

/* The run record as written to runs/<id>.json. */
struct cJSON *rp_exp_run_json(const rp_experiment *e, const rp_exp_run *run, const rp_exp_result *r,
                              struct cJSON *device, const char *git_commit);

/* ---- searches (exp/search_driver.c) */

/* DIR/search/<label>: the search's state.json (rp_search_run's state, resumable) and
 * training.json (the candidates' training configuration, checked on resume). */
void rp_exp_search_dir(const char *out_dir, const rp_exp_search *s, char *out, size_t size);

/* The candidates' training configuration of search `s` as recorded in training.json: the
 * experiment's run configuration with the search's epochs, no seed, and the search block. */
struct cJSON *rp_exp_search_training_json(const rp_experiment *e, const rp_exp_search *s);

/* How far search `index` is in `out_dir`, and an error when its training.json shows another
 * configuration, its state another search's settings, or a file is damaged (nothing is
 * overwritten). */
rp_status rp_exp_search_done(const rp_experiment *e, int index, const char *out_dir,
                             rp_exp_search_progress *progress);

/* What a candidate's saved training (search/<label>/candidate.state) must have been saved
 * under to be taken up: the trial (generation, candidate, try, seed, genome), the device
 * (another's state is discarded, not refused: a search's records name no device, and one
 * partial candidate is little to lose) and the candidates' training as training.json compares
 * it, in compact JSON. Caller frees. */
char *rp_exp_candidate_fingerprint(const rp_experiment *e, const rp_exp_search *s,
                                   const rp_search_trial *trial, const char *device);

/* Where search `s` stands (rp_exp_search_done), in words for the command line: "3 of 100
 * generations done; 7 of 40 candidates of generation 4 settled; candidate 8 (try 1) saved after
 * epoch 5 of 20 on DEVICE" (taken up on that device; another discards it). */
void rp_exp_search_standing(const rp_exp_search *s, const rp_exp_search_progress *p, char *out,
                            size_t size);

/* An error for records of best_<label> while search `index` is unfinished: the best loss they
 * trained was the best of fewer generations (the search was extended), and the search may find
 * another. Said before the extension trains, rather than after it. Where the search's state is
 * missing, the error names it instead (the search would start again). */
rp_status rp_exp_search_check_best(const rp_experiment *e, int index, const char *out_dir);

/* Runs (or resumes) search `index` until its generations are done. `out` as rp_search_run's. */
rp_status rp_exp_run_search(const rp_experiment *e, int index, const char *out_dir,
                            const rp_exp_backend *backend, rp_search_result *out);

/* For every search with then_train_best whose state in `out_dir` has all its generations and
 * a best (rp_search_has_best: a candidate trained successfully, at accuracy 0 too), appends its
 * best loss to `e` (rp_exp_add_found_loss), once. A state that cannot be read fails it, but
 * only after the other searches' losses are added. */
rp_status rp_exp_add_found_losses(rp_experiment *e, const char *out_dir);

/* What rp_exp_run_all checks in `out_dir` before it trains anything, in its order, without
 * writing: each search's training.json and state (readable, made with this configuration),
 * records of best losses of unfinished searches, then every run record (rp_exp_check_runs,
 * rp_exp_run_done over `plan`, which holds the found losses). The first problem, as the run
 * would refuse with it: RP_ERR_INVALID_ARGUMENT for a damaged file or one of another
 * configuration, RP_ERR_IO for one that cannot be read. */
rp_status rp_exp_check_resume(const rp_experiment *e, const rp_exp_plan *plan, const char *out_dir);

/* The whole experiment: the listed losses' runs, then each search, then the best loss of each
 * search (then_train_best) with every seed. Resumes every part; checks every existing record
 * and search state before training anything. Appends the found losses to `e`. */
rp_status rp_exp_run_all(rp_experiment *e, const char *out_dir, const rp_exp_backend *backend,
                         const char *git_commit);

/* ---- reports: a pure function of DIR/runs/<id>.json (and DIR/experiment.json when present) */

/* Writes DIR/summary.md, DIR/results.json and DIR/figures/<name>.svg, first removing what
 * writers killed mid-write left there (NAME.PID.tmp). */
rp_status rp_exp_report(const char *dir);

/* The results part of DIR's summary.md, as it writes it: the test-accuracy table and the tables
 * under attack (for a terminal at the end of a run). It reads the run records again, once, after
 * the report that rp_exp_run_all makes inside the driver: a few kilobytes a run, against passing
 * the text out through every caller of the driver. *markdown: caller frees. */
rp_status rp_exp_report_results(const char *dir, char **markdown);

/* Checks the fields the report reads from run record `rec`, read from `path` (file `name` in
 * runs/): RP_ERR_INVALID_ARGUMENT naming the file and JSON path for a record damaged or edited
 * by hand. */
rp_status rp_exp_check_record(const char *path, const char *name, const struct cJSON *rec);

#endif
