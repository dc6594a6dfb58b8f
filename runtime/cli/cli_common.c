#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exp/driver.h"
#include "io/file.h"
#include "io/json.h"
#include "io/number.h"
#include "ops/dispatch.h"
#include "train/trainer.h"
#include "vk/caps_json.h"
#include "vk/context.h"

int rp_cli_error(rp_status status) {
  fprintf(stderr, "repro: %s\n", rp_error_message());
  return status == RP_ERR_INVALID_ARGUMENT ? 2 : 1;
}

/* A device request that matched nothing, named as the user gave it. */
static rp_status name_request(rp_status st, const char *device) {
  const char *request = rp_device_request(device);
  if (st != RP_ERR_INVALID_ARGUMENT || !request) return st;
  return rp_fail(st, "%s%s: %s", device ? "--device " : "REPRO_DEVICE=", request,
                 rp_error_message());
}

rp_status rp_cli_open_device(const char *device, rp_context **ctx) {
  *ctx = NULL;
  /* A request is checked on its own first, so that only its failure is named as the
   * request's (an error of the device it names is that device's). */
  rp_status st = rp_cli_check_device(device);
  if (!st) st = rp_context_create(&(rp_context_options){.device = device}, ctx);
  if (st) return st;
  if ((st = rp_check_environment(rp_context_caps(*ctx)))) {
    rp_context_destroy(*ctx);
    *ctx = NULL;
  }
  return st;
}

rp_status rp_cli_check_device(const char *device) {
  const char *request = rp_device_request(device);
  if (!request || !*request) return RP_OK;
  rp_caps *all = calloc(32, sizeof *all);
  if (!all) return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of host memory");
  uint32_t count = 0, chosen = 0;
  rp_status st = rp_enumerate_devices(all, 32, &count);
  if (!st) st = rp_choose_device(all, count, request, &chosen);
  free(all);
  return name_request(st, device);
}

int rp_cli_usage_if_asked(int argc, char **argv, void (*usage)(FILE *out)) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    }
  return -1;
}

int rp_cli_usage_error(const char *command, const char *fmt, ...) {
  char text[1024];
  va_list args;
  va_start(args, fmt);
  // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is right above
  vsnprintf(text, sizeof text, fmt, args);
  va_end(args);
  (void)rp_fail(RP_ERR_INVALID_ARGUMENT, "%s", text); /* one line, as every error */
  fprintf(stderr, "repro: %s (see repro %s%s--help)\n", rp_error_message(), command ? command : "",
          command ? " " : "");
  return 2;
}

int rp_cli_refuse_repeats(const char *command, int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return -1;
  /* Values never start with "--" (rp_cli_take_value), so every such word is an option. */
  for (int i = 1; i < argc; i++)
    for (int j = 1; j < i && strncmp(argv[i], "--", 2) == 0; j++)
      if (strcmp(argv[i], argv[j]) == 0)
        return rp_cli_usage_error(command, "%s is given twice; give each option once", argv[i]);
  return -1;
}

bool rp_cli_check_readable(const char *command, const char *opt, const char *path) {
  struct stat s;
  const char *why = NULL;
  if (stat(path, &s) == 0 && S_ISDIR(s.st_mode))
    why = "is a directory, not a file";
  else if (access(path, R_OK) != 0) /* not there, or not ours to read */
    why = strerror(errno);
  if (!why) return true;
  rp_cli_usage_error(command, "%s %s: %s", opt, path, why);
  return false;
}

bool rp_cli_take_value(int argc, char **argv, int *i, const char **value) {
  /* A lone "-" or a negative number is a value; "--x" is the next option, and taking it as a
   * value would turn "--out --dry-run" into a directory named "--dry-run". */
  if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0) return false;
  *value = argv[++*i];
  return true;
}

bool rp_cli_parse_int(const char *command, const char *opt, const char *text, long long lo,
                      long long hi, long long *out) {
  long long v = 0;
  if (rp_parse_integer(text, &v) || v < lo || v > hi) {
    if (hi == INT64_MAX)
      rp_cli_usage_error(command, "%s expects an integer >= %lld, not '%s'", opt, lo, text);
    else
      rp_cli_usage_error(command, "%s expects an integer in %lld..%lld, not '%s'", opt, lo, hi,
                         text);
    return false;
  }
  *out = v;
  return true;
}

bool rp_cli_parse_number(const char *command, const char *opt, const char *text, double lo,
                         bool lo_open, double hi, bool hi_open, double *out) {
  double v = 0;
  bool ok =
      !rp_parse_double(text, &v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (!ok) {
    rp_cli_usage_error(command, "%s expects a number in %c%g, %g%c, not '%s'", opt,
                       lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']', text);
    return false;
  }
  *out = v;
  return true;
}

bool rp_cli_check_writable(const char *command, const char *opt, const char *path) {
  if (!*path) {
    rp_cli_usage_error(command, "%s needs a file name, not ''", opt);
    return false;
  }
  struct stat s;
  if (stat(path, &s) == 0 && S_ISDIR(s.st_mode)) {
    rp_cli_usage_error(command, "%s %s: is a directory, not a file", opt, path);
    return false;
  }
  /* The file is written through a temporary in the same directory and a rename, so what must
   * work is creating a file there: try exactly that. */
  char dir[4096];
  rp_file_parent_dir(path, dir, sizeof dir); /* a longer one fails below, named */
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/.repro-write-check-XXXXXX", dir);
  int fd = mkstemp(probe);
  if (fd < 0) {
    rp_cli_usage_error(command, "%s %s: cannot create a file in %s: %s", opt, path, dir,
                       strerror(errno));
    return false;
  }
  close(fd);
  unlink(probe);
  return true;
}

void rp_cli_dir_arg(const char *arg, char *out, size_t size) {
  snprintf(out, size, "%s", arg);
  for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--) out[n - 1] = '\0';
}

/* Whether `a` and `b` are one file: the same inode where both exist, else the same name in the
 * same directory (a file to be written: its directory is there, rp_cli_check_writable says). */
static bool same_file(const char *a, const char *b) {
  struct stat sa, sb;
  bool a_exists = stat(a, &sa) == 0, b_exists = stat(b, &sb) == 0;
  if (a_exists || b_exists)
    return a_exists && b_exists && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  char dir_a[4096], dir_b[4096];
  rp_file_parent_dir(a, dir_a, sizeof dir_a);
  rp_file_parent_dir(b, dir_b, sizeof dir_b);
  const char *base_a = strrchr(a, '/'), *base_b = strrchr(b, '/');
  base_a = base_a ? base_a + 1 : a, base_b = base_b ? base_b + 1 : b;
  return strcmp(base_a, base_b) == 0 && stat(dir_a, &sa) == 0 && stat(dir_b, &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool rp_cli_check_distinct(const char *command, const char *const *opts, const char *const *paths,
                           int count) {
  for (int i = 0; i < count; i++)
    for (int j = i + 1; j < count; j++)
      if (paths[i] && paths[j] && same_file(paths[i], paths[j])) {
        rp_cli_usage_error(command, "%s and %s name the same file, %s", opts[i], opts[j], paths[j]);
        return false;
      }
  return true;
}

/* ---- progress */

static double monotonic_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The environment variable `name` as a number of seconds >= 0, or `fallback` when unset (and,
 * saying so, when it is not such a number). */
static double env_seconds(const char *name, double fallback) {
  const char *env = getenv(name);
  if (!env || !*env) return fallback;
  double v;
  if (!rp_parse_double(env, &v) && v >= 0) return v;
  fprintf(stderr, "repro: %s=%s is not a number of seconds >= 0; using %g\n", name, env, fallback);
  return fallback;
}

double rp_cli_state_interval(void) { return env_seconds("REPRO_STATE_INTERVAL", 60); }

void rp_cli_progress_init(rp_cli_progress *s) {
  /* Tests set a shorter interval to see the plain lines without a 30-second training. */
  *s = (rp_cli_progress){.tty = isatty(STDERR_FILENO) != 0,
                         .interval = env_seconds("REPRO_PROGRESS_INTERVAL", 30)};
  /* The first plain line after one interval: a run shorter than that needs none. */
  s->next_line_at = monotonic_seconds() + s->interval;
}

void rp_cli_format_duration(double seconds, char *out, size_t size) {
  long t = seconds > 0 && isfinite(seconds) ? lround(seconds) : 0;
  if (t >= 3600)
    snprintf(out, size, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
  else if (t >= 60)
    snprintf(out, size, "%ldm%02lds", t / 60, t % 60);
  else
    snprintf(out, size, "%lds", t);
}

void rp_cli_progress_show(rp_cli_progress *s, const rp_progress *p) {
  char eta[32];
  rp_cli_format_duration(p->seconds_left, eta, sizeof eta);
  if (s->tty) {
    fprintf(stderr,
            "\r\033[Kepoch %d/%d  step %lld/%lld  loss %.4g  acc %5.1f%%  %.0f img/s  %s left",
            p->epoch, p->epochs, (long long)p->step, (long long)p->steps, p->loss,
            100.0 * p->accuracy, p->images_per_second, eta);
    s->shown = true;
  } else {
    double now = monotonic_seconds();
    if (now < s->next_line_at) return;
    s->next_line_at = now + s->interval;
    fprintf(stderr, "epoch %d/%d: step %lld/%lld, loss %.4g, acc %.1f%%, %.0f img/s, eta %s\n",
            p->epoch, p->epochs, (long long)p->step, (long long)p->steps, p->loss,
            100.0 * p->accuracy, p->images_per_second, eta);
  }
  fflush(stderr);
}

void rp_cli_progress_clear(rp_cli_progress *s) {
  if (!s->tty || !s->shown) return;
  fprintf(stderr, "\r\033[K");
  fflush(stderr);
  s->shown = false;
}

cJSON *rp_cli_json_header(const rp_caps *caps) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "repro_version", REPRO_VERSION);
  cJSON_AddStringToObject(root, "git_commit", rp_build_commit);
  char date[32];
  time_t now = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  cJSON_AddStringToObject(root, "date", date);
  if (caps)
    cJSON_AddItemToObject(root, "device", rp_caps_to_json(caps));
  else
    cJSON_AddNullToObject(root, "device");
  return root;
}

void rp_cli_print_report(const char *dir) {
  printf("wrote %s/summary.md, %s/results.json, %s/figures/\n", dir, dir, dir);
  char *results = NULL;
  /* (the report is written: a failure to print its numbers again changes nothing) */
  if (rp_exp_report_results(dir, &results) == RP_OK) fputs(results, stdout);
  free(results);
}
