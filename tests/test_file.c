/* Whole-file writes (runtime/io/file.c): an atomic write replaces the file whole, and the
 * temporaries a killed writer leaves (NAME.PID.tmp of a PID no longer running) are removed,
 * of one directory or of one file, while those of a live process and other files stay. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/file.h"
#include "support/tmpfiles.h"

TestSuite(file);

static void touch(const char *dir, const char *name) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  cr_assert(f, "cannot create %s", path);
  fclose(f);
}

static bool exists(const char *dir, const char *name) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return access(path, F_OK) == 0;
}

/* A PID that ran and has ended (reaped): no process has it now. */
static long dead_pid(void) {
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) _exit(0);
  cr_assert_eq(waitpid(pid, NULL, 0), pid);
  return (long)pid;
}

Test(file, atomic_write_replaces_the_file_whole) {
  char dir[] = "/tmp/repro-test-file-XXXXXX";
  cr_assert(mkdtemp(dir));
  char path[600];
  snprintf(path, sizeof path, "%s/x.json", dir);
  cr_assert_eq(rp_file_write_atomic(path, "first", 5), RP_OK);
  cr_assert_eq(rp_file_write_atomic(path, "second", 6), RP_OK);
  char *text;
  size_t size;
  cr_assert_eq(rp_file_read(path, &text, &size), RP_OK);
  cr_assert_eq(size, 6);
  cr_assert_str_eq(text, "second");
  free(text);
  /* Nothing beside it: the temporary was renamed. */
  cr_assert_eq(rp_file_remove_stale_temporaries(dir), 0);
  remove_tree(dir);
}

Test(file, stale_temporaries_are_removed_by_directory_or_by_file) {
  char dir[] = "/tmp/repro-test-file-XXXXXX";
  cr_assert(mkdtemp(dir));
  long dead = dead_pid(), live = (long)getpid();
  char a[64], a_live[64], b[64], odd[64];
  snprintf(a, sizeof a, "run.state.%ld.tmp", dead);
  snprintf(a_live, sizeof a_live, "run.state.%ld.tmp", live);
  snprintf(b, sizeof b, "other.json.%ld.tmp", dead);
  snprintf(odd, sizeof odd, "run.state.x%ld.tmp", dead); /* not a PID */
  const char *names[] = {a, a_live, b, odd, "run.state", "notes.tmp"};
  for (int i = 0; i < 6; i++) touch(dir, names[i]);

  /* Of one file: run.state's dead temporary only (not other.json's, not the live one). */
  char path[600];
  snprintf(path, sizeof path, "%s/run.state", dir);
  cr_assert_eq(rp_file_remove_stale_temporaries_of(path), 1);
  cr_assert(!exists(dir, a));
  cr_assert(exists(dir, a_live) && exists(dir, b) && exists(dir, odd));
  /* A name that is a prefix of another's is not that other's: "run" is not "run.state". */
  snprintf(path, sizeof path, "%s/run", dir);
  touch(dir, a);
  cr_assert_eq(rp_file_remove_stale_temporaries_of(path), 0);
  cr_assert(exists(dir, a));
  /* Of the directory: every dead temporary. */
  cr_assert_eq(rp_file_remove_stale_temporaries(dir), 2);
  cr_assert(!exists(dir, a) && !exists(dir, b));
  cr_assert(exists(dir, a_live) && exists(dir, odd) && exists(dir, "run.state") &&
            exists(dir, "notes.tmp"));
  remove_tree(dir);
}
