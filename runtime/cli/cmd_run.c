/* repro run FILE [--out DIR] [--device D] [--dry-run]: every run of an experiment file (losses x
 * seeds) that DIR does not hold yet, each trained, evaluated and written to DIR/runs/; then each
 * search (DIR/search/<label>/) and the best loss it found; the reports (summary.md,
 * results.json, figures/) regenerated after each run and search. The file is validated in full
 * first; a bad file writes nothing. So are DIR's records and search states, after the plan is
 * printed and before a device is made (--dry-run too): a damaged one, or one of another
 * configuration, is bad input, exit status 2; then, where anything is left to train, that the
 * dataset's files are there (status 1 if not, as a missing file is) and whole (2 if not).
 * docs/experiments.md describes files and outputs. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "exp/driver.h"
#include "exp/experiment.h"
#include "exp/files.h"
#include "exp/runner.h"
#include "train/trainer.h"

static void usage(FILE *out) {
  fprintf(out, "usage: repro run FILE [--out DIR] [--device D] [--dry-run]\n"
               "  FILE       an experiment file (docs/experiments.md)\n"
               "  --out DIR  output directory (default results/<experiment name>)\n"
               "  --dry-run  print the plan and its estimated cost; write nothing. Status 2\n"
               "             when DIR holds a damaged record or search state, or one made\n"
               "             with another configuration, as the run would refuse;\n"
               "             when runs are left to train, 1 when the dataset is not found,\n"
               "             2 when a file of it is damaged\n"
               "  --device D device to use (index or part of its name; see repro devices)\n"
               "  Runs already in DIR/runs/ are skipped, the run in progress goes on after its\n"
               "  last saved epoch (DIR/runs/<id>.state, saved at most once a minute:\n"
               "  REPRO_STATE_INTERVAL), and searches after their last settled candidate\n"
               "  (DIR/search/<label>/state.json), the candidate in training after its last\n"
               "  saved epoch.\n");
}

static void human(double v, char *out, size_t size) {
  const char *units[] = {"", "k", "M", "G", "T", "P"};
  int u = 0;
  while (fabs(v) >= 1000 && u < 5) v /= 1000, u++;
  snprintf(out, size, "%.3g%s", v, units[u]);
}

static void print_plan(const rp_experiment *e, const rp_exp_plan *plan, const char *out_dir) {
  char steps[32], evals[32];
  human(plan->image_steps, steps, sizeof steps);
  human(plan->eval_images, evals, sizeof evals);
  printf("experiment %s: %s on %s, %d losses x %d seeds = %d runs (trainings), %.0f epochs in "
         "all\n",
         e->name, e->model, e->dataset, e->loss_count, e->seed_count, plan->run_count,
         plan->epochs);
  printf("estimated cost: %s image-steps of training (%" PRId64 " images an epoch), %s images "
         "evaluated (per-epoch val/test, clean, FGSM, PGD x steps)\n",
         steps, plan->train_images, evals);
  printf("output: %s\n", out_dir);
  int width = 0;
  for (int i = 0; i < plan->run_count; i++)
    if ((int)strlen(plan->runs[i].id) > width) width = (int)strlen(plan->runs[i].id);
  for (int i = 0; i < plan->run_count; i++) {
    const rp_exp_run *r = &plan->runs[i];
    bool done = false;
    int epochs_done = 0;
    rp_status st = rp_exp_run_done(e, r, out_dir, &done, &epochs_done);
    /* What is wrong with a record or state in the way (another configuration, damaged,
     * unfinished): the real run refuses to start on it with the same message. */
    char note[1200], resumes[64];
    snprintf(resumes, sizeof resumes, "  (resumes after epoch %d of %d)", epochs_done,
             e->training.epochs);
    snprintf(note, sizeof note, "%s%s%s",
             st            ? "  (in the way: "
             : done        ? "  (done)"
             : epochs_done ? resumes
                           : "",
             st ? rp_error_message() : "", st ? ")" : "");
    printf("  %-*s  seed %16" PRIu64 "%s\n", width, r->id, r->seed, note);
  }
  /* Records that are no run of the plan, or damaged beyond what the lines above show. */
  if (rp_exp_check_runs(e, plan, out_dir)) printf("  in the way: %s\n", rp_error_message());
}

/* The searches: candidates, cost and progress so far, and what follows each. */
static void print_searches(const rp_experiment *e, const rp_exp_plan *plan, const char *out_dir) {
  static const char *const invariants[] = {"off", "code", "softmax"};
  for (int i = 0; i < e->search_count; i++) {
    const rp_exp_search *s = &e->searches[i];
    rp_exp_search_progress progress;
    rp_status st = rp_exp_search_done(e, i, out_dir, &progress);
    int done = progress.at.generations;
    if (!st) st = rp_exp_search_check_best(e, i, out_dir);
    int64_t candidates = (int64_t)s->population * s->generations;
    int64_t batches = (plan->train_images + e->training.batch - 1) / e->training.batch;
    int tries = rp_exp_search_retries(s) ? 1 + s->retries : 1; /* each to the end, at most */
    /* a candidate trains as a run does: training.max_steps stops it too */
    double per_try = (double)batches * s->epochs;
    if (e->training.max_steps && (double)e->training.max_steps < per_try)
      per_try = (double)e->training.max_steps;
    char steps[32];
    /* in double: the schema's largest counts multiplied overflow 64 bits (as rp_exp_make_plan) */
    human((double)candidates * tries * per_try * e->training.batch, steps, sizeof steps);
    printf("search %s: CMA-ES, population %d x %d generations = %" PRId64
           " candidates of %d epochs (at most %s image-steps: pruned candidates are not "
           "trained), invariant %s%s, fitness %s, retry rule %s, seed %d%s%s%s\n",
           s->label, s->population, s->generations, candidates, s->epochs, steps,
           invariants[s->invariant],
           s->invariant == RP_EXP_INVARIANT_OFF ? "" : (s->prune ? " (pruning)" : " (record-only)"),
           s->fitness == RP_EXP_FITNESS_FGSM ? "FGSM accuracy" : "validation accuracy",
           tries > 1 ? "on" : "off", s->seed, st ? "  (in the way: " : "",
           st ? rp_error_message() : "", st ? ")" : "");
    if (done > s->generations)
      printf("  %d generations done, more than the %d the file asks for\n", done, s->generations);
    else if (done || progress.at.settled || progress.at.stuck_tries || progress.candidate >= 0) {
      char standing[1024];
      rp_exp_search_standing(s, &progress, standing, sizeof standing);
      printf("  %s\n", standing);
    }
    bool found = rp_exp_found_loss(e, i) >= 0;
    if (s->then_train_best && !found && !st && done >= s->generations)
      printf("  no best loss to train: no candidate was trained successfully\n");
    else if (s->then_train_best && !found)
      printf("  then best_%s x %d seeds with the full schedule (the loss is known once the "
             "search has finished)\n",
             s->label, e->seed_count);
  }
}

typedef struct progress {
  const rp_experiment *e;
  rp_cli_progress line; /* within epochs; cleared before each whole line */
  /* Runs and search generations trained by this command, and their time: the pace of the rest
   * (runs of an experiment share their schedule, as a search's candidates do theirs). */
  int runs_timed, generations_timed;
  double run_seconds, generation_seconds;
  /* Runs skipped because a record made on another device was there (results committed from
   * a GPU, say), which this device did not train: said for each, and counted for the end. */
  const char *out_dir, *device;
  int skipped_elsewhere;
} progress;

/* The device (and day) `run`'s record was made on, in `out`, where that is not `p->device`. */
static bool recorded_elsewhere(const progress *p, const rp_exp_run *run, char *out, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/runs/%s.json", p->out_dir, run->id);
  cJSON *record = NULL;
  if (rp_exp_read_json(path, &record)) return false; /* checked already: cannot happen */
  const cJSON *device = cJSON_GetObjectItemCaseSensitive(record, "device");
  const char *name = rp_exp_json_string(device, "name", NULL);
  bool elsewhere = name && strcmp(name, p->device) != 0;
  if (elsewhere)
    snprintf(out, size, "%s, %.10s", name, rp_exp_json_string(record, "date", "undated"));
  cJSON_Delete(record);
  return elsewhere;
}

/* "N runs to go: about T at t a run so far": the time `left` more of what took `seconds` for
 * `timed` may take. */
static void print_eta(int left, const char *what, int timed, double seconds) {
  if (left <= 0 || timed == 0) return;
  char each[32], all[32];
  rp_cli_format_duration(seconds / timed, each, sizeof each);
  rp_cli_format_duration(seconds / timed * left, all, sizeof all);
  printf("    %d %s%s to go: about %s at %s a %s so far\n", left, what, left == 1 ? "" : "s", all,
         each, what);
}

static void on_progress(void *user, const rp_progress *p) {
  progress *pr = user;
  rp_cli_progress_show(&pr->line, p);
}

static void clear_progress(progress *p) { rp_cli_progress_clear(&p->line); }

static void print_genome(const double *g) {
  for (int k = 0; k < 8; k++) printf("%s%.4f", k ? "," : "", g[k]);
}

static void on_search_event(void *user, const rp_exp_search_event *ev) {
  progress *p = user;
  clear_progress(p);
  const rp_exp_search *s = ev->search;
  switch (ev->kind) {
  case RP_EXP_SEARCH_START: {
    /* The pace of this search's generations, not an earlier search's. */
    p->generations_timed = 0, p->generation_seconds = 0;
    const rp_search_position *at = &ev->progress->at;
    char standing[1024];
    rp_exp_search_standing(s, ev->progress, standing, sizeof standing);
    if (at->generations >= s->generations)
      printf("search %s: all %d generations already done\n", s->label, s->generations);
    else if (at->generations || at->settled || at->stuck_tries || ev->progress->candidate >= 0)
      printf("search %s: resuming: %s\n", s->label, standing);
    else
      printf("search %s: %d generation(s) of %d candidates\n", s->label, s->generations,
             s->population);
    break;
  }
  case RP_EXP_SEARCH_TRIAL:
    printf("  %s gen %d/%d cand %d/%d%s: training taylorglo:", s->label, ev->generation + 1,
           s->generations, ev->index + 1, s->population, ev->trial->attempt ? " (retry)" : "");
    print_genome(ev->trial->genome);
    printf("\n");
    break;
  case RP_EXP_SEARCH_RESUMED:
    printf("    resumed after epoch %d of %d from its saved state\n", ev->epochs_done, s->epochs);
    break;
  case RP_EXP_SEARCH_EPOCH:
    printf("    epoch %d/%d  train loss %.4g acc %.2f%%  val %.2f%%  %.1f s\n", ev->epoch->epoch,
           s->epochs, ev->epoch->train_loss, 100 * ev->epoch->train_accuracy,
           100 * ev->epoch->val_accuracy, ev->epoch->seconds);
    break;
  case RP_EXP_SEARCH_CANDIDATE: {
    const rp_search_candidate *c = ev->candidate;
    const char *inv = s->invariant == RP_EXP_INVARIANT_SOFTMAX ? "softmax" : "code";
    bool valid = s->invariant == RP_EXP_INVARIANT_SOFTMAX ? c->softmax_valid : c->code_valid;
    if (c->pruned)
      printf("  %s gen %d cand %d: pruned (violates the %s invariant): fitness 0\n", s->label,
             ev->generation + 1, ev->index + 1, inv);
    else
      printf("  %s gen %d cand %d: %s %.2f%%%s  (%.0f s)\n", s->label, ev->generation + 1,
             ev->index + 1, c->failed ? "FAILED (diverged), fitness" : "fitness", 100 * c->accuracy,
             valid || s->invariant == RP_EXP_INVARIANT_OFF ? "" : ", violates the invariant",
             c->seconds);
    break;
  }
  case RP_EXP_SEARCH_GENERATION: {
    const rp_search_generation *g = ev->generation_record;
    printf("search %s: generation %d/%d done: best %.2f%% mean %.2f%%, trained %d, pruned %d, "
           "failed %d, sigma %.3g -> %.3g, %.0f s; ",
           s->label, g->generation + 1, s->generations, 100 * g->best, 100 * g->mean, g->trained,
           g->pruned, g->failed, g->sigma, g->sigma_next, g->seconds);
    if (isfinite(g->best_accuracy))
      printf("best so far %.2f%%\n", 100 * g->best_accuracy);
    else
      printf("no candidate trained successfully so far\n");
    if (g->seconds > 0) p->generations_timed++, p->generation_seconds += g->seconds;
    print_eta(s->generations - g->generation - 1, "generation", p->generations_timed,
              p->generation_seconds);
    break;
  }
  case RP_EXP_SEARCH_DONE:
    /* A best at 0% is a best all the same (a candidate that trained, as rp_search_has_best
     * says): what the search found, and what trains as best_<label>. */
    if (rp_search_has_best(ev->result)) {
      printf("search %s: done; best %.2f%% (generation %d, candidate %d): taylorglo:", s->label,
             100 * ev->result->accuracy, ev->result->best_generation + 1,
             ev->result->best_index + 1);
      print_genome(ev->result->genome);
      printf("\n");
    } else {
      printf("search %s: done; no candidate trained successfully (all pruned or failed): no best "
             "loss\n",
             s->label);
    }
    break;
  }
  fflush(stdout);
}

static void on_epoch(void *user, const rp_exp_run *run, const rp_exp_epoch *m, int epochs) {
  clear_progress(user);
  printf("    epoch %d/%d  train loss %.4f acc %.2f%% p(true) %.3f", m->epoch, epochs,
         m->train_loss, 100 * m->train_accuracy, m->train_true_prob);
  if (isfinite(m->val_accuracy)) printf("  val %.2f%%", 100 * m->val_accuracy);
  printf("  test %.2f%%  %.1f s\n", 100 * m->test_accuracy, m->seconds);
  fflush(stdout);
}

static void on_event(void *user, rp_exp_event event, int index, int count, const rp_exp_run *run,
                     const rp_exp_result *r) {
  progress *p = user;
  clear_progress(p);
  const char *label = p->e->losses[run->loss_index].label;
  char other[256];
  if (event == RP_EXP_RUN_SKIPPED && recorded_elsewhere(p, run, other, sizeof other)) {
    printf("[%d/%d] %s: already done on %s, skipped\n", index + 1, count, run->id, other);
    p->skipped_elsewhere++;
  } else if (event == RP_EXP_RUN_SKIPPED) {
    printf("[%d/%d] %s: already done, skipped\n", index + 1, count, run->id);
  } else if (event == RP_EXP_REPORT_FAILED) {
    printf("    note: the report could not be remade (%s); the run is recorded, and the report "
           "is tried again at the end\n",
           rp_error_message());
  } else if (event == RP_EXP_RUN_START) {
    printf("[%d/%d] %s: loss %s (%s), seed %" PRIu64 "\n", index + 1, count, run->id, label,
           p->e->losses[run->loss_index].canonical, run->seed);
  } else if (r->diverged) {
    printf("[%d/%d] %s: DIVERGED after %d epochs (%s); recorded with accuracy 0\n", index + 1,
           count, run->id, r->epoch_count, r->error);
  } else {
    double acc = isfinite(r->test_accuracy)
                     ? r->test_accuracy
                     : (r->epoch_count ? r->epochs[r->epoch_count - 1].test_accuracy : NAN);
    printf("[%d/%d] %s: test %.2f%%", index + 1, count, run->id, 100 * acc);
    for (int i = 0; i < r->attack_count; i++)
      printf(", %s %.4g: %.2f%%", r->attacks[i].kind == RP_EXP_FGSM ? "fgsm" : "pgd",
             r->attacks[i].eps, 100 * r->attacks[i].accuracy);
    printf("  (%.0f s)\n", r->seconds);
  }
  if (event == RP_EXP_RUN_DONE) {
    /* (a diverged run, cut short, says nothing of the pace; runs after this one that are
     * recorded already are skipped, so the estimate is at most) */
    if (!r->diverged && r->seconds > 0) p->runs_timed++, p->run_seconds += r->seconds;
    print_eta(count - index - 1, "run", p->runs_timed, p->run_seconds);
  }
  /* A data directory with only some of the training files (the GPU machine gets one CIFAR
   * batch): said for each run, as summary.md says it. */
  const cJSON *data = r ? r->data : NULL;
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "partial")))
    printf("    note: only part of the training set is in %s (%.0f training images an epoch)\n",
           rp_exp_json_string(data, "dir", "?"), rp_exp_json_number(data, "train_images"));
  fflush(stdout);
}

static void on_resumed(void *user, const rp_exp_run *run, const char *state_path, int epochs_done,
                       int epochs) {
  clear_progress(user);
  printf("    resumed from %s: %d of %d epochs were done\n", state_path, epochs_done, epochs);
  fflush(stdout);
}

/* The output directory's lock file, while held: a lock-free atomic, which C11 lets a signal
 * handler read (a volatile pointer is only customary). */
static _Atomic(const char *) held_lock;

/* Interrupted (Ctrl-C, SIGTERM): every record is written whole, so what finished stays and the
 * same command resumes; say so, with write(2), the one output a handler may do, then die of
 * the signal as the process would have. */
static void on_interrupt(int sig) {
  static const char message[] = "\nrepro: interrupted; finished runs, settled search "
                                "candidates, and the training in progress as of its last saved "
                                "epoch are kept: run the same command again to resume\n";
  ssize_t written = write(STDERR_FILENO, message, sizeof message - 1);
  (void)written;
  const char *lock = atomic_load(&held_lock);
  if (lock) unlink(lock); /* as rp_exp_unlock_dir, which will not run */
  signal(sig, SIG_DFL);
  raise(sig);
}

/* dataset.dir, where the file gives one, is a directory: a wrong one is found before the plan
 * and before anything is written, naming its JSON path. A relative path is taken from the
 * current directory, as --data-dir's is. */
static rp_status check_data_dir(const char *file, const rp_experiment *e) {
  struct stat s;
  if (!e->data_dir[0]) return RP_OK;
  bool found = stat(e->data_dir, &s) == 0;
  if (found && S_ISDIR(s.st_mode)) return RP_OK;
  const char *why = found ? "not a directory" : strerror(errno); /* as repro report says it */
  char cwd[2048] = "";
  if (e->data_dir[0] != '/' && getcwd(cwd, sizeof cwd))
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "%s: $.dataset.dir: \"%s\": %s (relative to the current directory, %s)", file,
                   e->data_dir, why, cwd);
  return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: $.dataset.dir: \"%s\": %s", file, e->data_dir, why);
}

/* Whether the run would train anything: a run of the plan without its record, or a search with
 * generations to go (a finished search's best loss is in the plan already). A file that cannot
 * be read counts as work: rp_exp_check_resume has refused it by then. */
static bool trains_anything(const rp_experiment *e, const rp_exp_plan *plan, const char *out_dir) {
  for (int i = 0; i < plan->run_count; i++) {
    bool done = false;
    int epochs_done;
    if (rp_exp_run_done(e, &plan->runs[i], out_dir, &done, &epochs_done) || !done) return true;
  }
  for (int i = 0; i < e->search_count; i++) {
    rp_exp_search_progress at;
    if (rp_exp_search_done(e, i, out_dir, &at) || at.at.generations < e->searches[i].generations)
      return true;
  }
  return false;
}

/* The dataset's training and test files are where the runs will look and whole (read through,
 * as each run will read them), found before anything is written or a device is made: a
 * truncated file is bad input like a malformed experiment file, and a dry run says so too. */
static rp_status check_dataset(const rp_experiment *e) {
  const char *dir = e->data_dir[0] ? e->data_dir : NULL;
  rp_status st = RP_OK;
  for (int train = 1; train >= 0 && !st; train--) {
    rp_dataset ds;
    st = rp_dataset_load(e->dataset, dir, train, &ds);
    rp_dataset_free(&ds);
  }
  return st;
}

int rp_cmd_run(int argc, char **argv) {
  if (argc < 2) { /* a bare "repro run": the usage is the answer */
    usage(stderr);
    return 2;
  }
  const char *file = NULL, *out = NULL, *device = NULL;
  bool dry_run = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--dry-run") == 0) {
      dry_run = true;
    } else if (strcmp(a, "--out") == 0 || strcmp(a, "--device") == 0) {
      const char *v = NULL;
      if (!rp_cli_take_value(argc, argv, &i, &v))
        return rp_cli_usage_error("run", "%s needs a value", a);
      /* An empty value would silently mean the default. */
      if (!*v) return rp_cli_usage_error("run", "%s needs a value, not ''", a);
      *(strcmp(a, "--out") == 0 ? &out : &device) = v;
    } else if (a[0] == '-') {
      return rp_cli_usage_error("run", "unknown option '%s'", a);
    } else if (file) {
      return rp_cli_usage_error("run", "one experiment file at a time: '%s' after '%s'", a, file);
    } else if (!*a) {
      return rp_cli_usage_error("run", "an experiment file is needed, not ''");
    } else {
      file = a;
    }
  }
  if (!file) return rp_cli_usage_error("run", "no experiment file given");
  rp_experiment e;
  rp_status st = rp_exp_load(file, rp_exp_recipe, &e);
  if (st) return rp_cli_error(st);
  if ((st = check_data_dir(file, &e))) {
    rp_exp_free(&e);
    return rp_cli_error(st);
  }
  rp_exp_plan plan;
  if ((st = rp_exp_make_plan(&e, &plan))) {
    rp_exp_free(&e);
    return rp_cli_error(st);
  }
  char out_dir[4096];
  if (out)
    rp_cli_dir_arg(out, out_dir, sizeof out_dir);
  else
    snprintf(out_dir, sizeof out_dir, "results/%s", e.name);
  struct stat out_stat;
  if (stat(out_dir, &out_stat) == 0 && !S_ISDIR(out_stat.st_mode)) {
    rp_exp_plan_free(&plan);
    rp_exp_free(&e);
    return rp_cli_usage_error("run", "%s%s: not a directory", out ? "--out " : "", out_dir);
  }
  /* Searches finished in an earlier run show their found losses in the plan. A state that
   * cannot be read does not hold the plan back: its search's line marks it, and it is
   * reported after the plan (its message kept until then). */
  rp_status found = rp_exp_add_found_losses(&e, out_dir);
  char found_error[1024];
  snprintf(found_error, sizeof found_error, "%s", found ? rp_error_message() : "");
  rp_exp_plan_free(&plan);
  if ((st = rp_exp_make_plan(&e, &plan))) {
    rp_exp_plan_free(&plan);
    rp_exp_free(&e);
    return rp_cli_error(st);
  }
  print_plan(&e, &plan, out_dir);
  print_searches(&e, &plan, out_dir);
  /* What the run would refuse before training (a damaged record or state, one of another
   * configuration, then a dataset missing or damaged): its first problem in one line after the
   * plan, with the run's exit status, for a dry run too, so that a dry run is the check; a run
   * stops here, before the device and before it writes anything. */
  st = found ? rp_fail(found, "%s", found_error) : rp_exp_check_resume(&e, &plan, out_dir);
  if (!st && trains_anything(&e, &plan, out_dir)) st = check_dataset(&e);
  if (!st && dry_run) st = rp_cli_check_device(device); /* as the run would refuse it */
  fflush(stdout); /* the plan before the error, where both go to one file */
  int code = st ? rp_cli_error(st) : 0;
  if (!st && !dry_run) {
    rp_context *ctx = NULL;
    int skipped_elsewhere = 0;
    st = rp_cli_open_device(device, &ctx);
    if (!st) {
      const rp_caps *caps = rp_context_caps(ctx);
      fprintf(stderr, "device %u: %s (%s)\n", caps->index, caps->name, caps->driver_info);
      progress p = {.e = &e, .out_dir = out_dir, .device = caps->name};
      rp_cli_progress_init(&p.line);
      rp_exp_runner runner = {.ctx = ctx,
                              .epoch = on_epoch,
                              .event = on_event,
                              .progress = on_progress,
                              .search_event = on_search_event,
                              .resumed = on_resumed,
                              .user = &p,
                              .state_interval_seconds = rp_cli_state_interval()};
      rp_exp_backend backend = rp_exp_trainer_backend(&runner);
      struct sigaction interrupt = {.sa_handler = on_interrupt};
      sigemptyset(&interrupt.sa_mask);
      sigaction(SIGINT, &interrupt, NULL);
      sigaction(SIGTERM, &interrupt, NULL);
      /* Under the lock: rp_exp_run_all checks the directory's files again before it trains. */
      rp_exp_lock lock;
      st = rp_exp_lock_dir(out_dir, &lock);
      if (!st) atomic_store(&held_lock, lock.path);
      if (!st) st = rp_exp_run_all(&e, out_dir, &backend, rp_build_commit);
      skipped_elsewhere = p.skipped_elsewhere;
      atomic_store(&held_lock, NULL);
      rp_exp_unlock_dir(&lock);
    }
    if (st)
      code = rp_cli_error(st);
    else
      rp_cli_print_report(out_dir);
    if (skipped_elsewhere)
      printf("note: %d run%s recorded on another device %s kept, not trained on %s; --out DIR "
             "runs the experiment afresh\n",
             skipped_elsewhere, skipped_elsewhere == 1 ? "" : "s",
             skipped_elsewhere == 1 ? "was" : "were", rp_context_caps(ctx)->name);
    rp_context_destroy(ctx);
  }
  rp_exp_plan_free(&plan);
  rp_exp_free(&e);
  return code;
}
