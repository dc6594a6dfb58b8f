#include "exp/files.h"

#include "io/file.h"
#include "io/json.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

rp_status rp_exp_mkdirs(const char *path) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "path too long: %s", path);
  for (char *p = buf + 1;; p++) {
    bool last = *p == '\0';
    if (*p == '/' || last) {
      *p = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return rp_fail(RP_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
      if (last) break;
      *p = '/';
    }
  }
  struct stat s;
  if (stat(path, &s) != 0 || !S_ISDIR(s.st_mode))
    return rp_fail(RP_ERR_IO, "%s is not a directory", path);
  return RP_OK;
}

bool rp_exp_exists(const char *path) {
  struct stat s;
  return stat(path, &s) == 0;
}

rp_status rp_exp_write_atomic(const char *path, const char *text, size_t size) {
  return rp_file_write_atomic(path, text, size);
}

rp_status rp_exp_read_json(const char *path, cJSON **out) {
  *out = NULL;
  char *text;
  size_t size;
  rp_status st = rp_file_read(path, &text, &size);
  if (st) return st;
  *out = cJSON_Parse(text);
  free(text);
  /* Read but not JSON: a damaged or hand-edited file, bad input as a malformed experiment
   * file is (exit status 2), not a failure to read it. */
  if (!*out) return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s is not a readable JSON file", path);
  return RP_OK;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

rp_status rp_exp_list_json(const char *dir, char ***names, int *count) {
  *names = NULL;
  *count = 0;
  DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? RP_OK : rp_fail(RP_ERR_IO, "cannot list %s: %s", dir, strerror(errno));
  int cap = 0;
  bool oom = false;
  for (struct dirent *e; !oom && (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n < 6 || e->d_name[0] == '.' || strcmp(e->d_name + n - 5, ".json") != 0) continue;
    if (*count == cap) {
      cap = cap ? 2 * cap : 64;
      char **grown = realloc(*names, (size_t)cap * sizeof(char *));
      if (!grown) {
        oom = true;
        break;
      }
      *names = grown;
    }
    char *name = strdup(e->d_name);
    if (!name)
      oom = true;
    else
      (*names)[(*count)++] = name;
  }
  closedir(d);
  if (oom) {
    rp_exp_free_names(*names, *count);
    *names = NULL;
    *count = 0;
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "out of memory listing %s", dir);
  }
  if (*count) qsort(*names, (size_t)*count, sizeof(char *), compare_names);
  return RP_OK;
}

void rp_exp_free_names(char **names, int count) {
  for (int i = 0; i < count; i++) free(names[i]);
  free(names);
}

double rp_exp_json_number(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

const char *rp_exp_json_string(const cJSON *o, const char *key, const char *fallback) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : fallback;
}

static void json_text(const cJSON *v, char *out, size_t size) {
  char *text = v ? rp_json_print(v, false) : NULL;
  snprintf(out, size, "%s", v ? (text ? text : "?") : "absent");
  if (text && strlen(text) >= size && size > 4) memcpy(out + size - 4, "...", 4);
  cJSON_free(text);
}

void rp_exp_json_path_key(char *out, size_t size, const char *path, const char *key) {
  bool plain = *key != '\0';
  for (const char *k = key; *k; k++) plain &= isalnum((unsigned char)*k) || *k == '_';
  cJSON *quoted = plain ? NULL : cJSON_CreateString(key);
  char *text = quoted ? cJSON_PrintUnformatted(quoted) : NULL;
  if (text)
    snprintf(out, size, "%s[%s]", path, text);
  else
    snprintf(out, size, "%s.%s", path, key);
  cJSON_free(text);
  cJSON_Delete(quoted);
}

bool rp_exp_json_difference(const cJSON *was, const cJSON *now, const char *root, char *path,
                            size_t path_size, char *was_text, char *now_text, size_t text_size) {
  if (was && now && cJSON_Compare(was, now, true)) return false;
  char child[512];
  if (cJSON_IsObject(was) && cJSON_IsObject(now)) {
    const cJSON *item;
    cJSON_ArrayForEach(item, was) { /* changed or removed keys, in the record's order */
      rp_exp_json_path_key(child, sizeof child, root, item->string);
      if (rp_exp_json_difference(item, cJSON_GetObjectItemCaseSensitive(now, item->string), child,
                                 path, path_size, was_text, now_text, text_size))
        return true;
    }
    cJSON_ArrayForEach(item, now) { /* added keys */
      if (cJSON_GetObjectItemCaseSensitive(was, item->string)) continue;
      rp_exp_json_path_key(child, sizeof child, root, item->string);
      return rp_exp_json_difference(NULL, item, child, path, path_size, was_text, now_text,
                                    text_size);
    }
  } else if (cJSON_IsArray(was) && cJSON_IsArray(now) &&
             cJSON_GetArraySize(was) == cJSON_GetArraySize(now)) {
    for (int i = 0; i < cJSON_GetArraySize(was); i++) {
      snprintf(child, sizeof child, "%s[%d]", root, i);
      if (rp_exp_json_difference(cJSON_GetArrayItem(was, i), cJSON_GetArrayItem(now, i), child,
                                 path, path_size, was_text, now_text, text_size))
        return true;
    }
  }
  snprintf(path, path_size, "%s", root);
  json_text(was, was_text, text_size);
  json_text(now, now_text, text_size);
  return true;
}

rp_status rp_exp_lock_dir(const char *dir, rp_exp_lock *lock) {
  lock->fd = -1;
  rp_status st = rp_exp_mkdirs(dir);
  if (st) return st;
  snprintf(lock->path, sizeof lock->path, "%s/.repro-run.lock", dir);
  /* The owner removes the file before it lets go: a lock taken on a file that is no longer
   * at the path (opened just before the removal) is taken again on the path's new file. */
  for (int attempt = 0; attempt < 8; attempt++) {
    int fd = open(lock->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return rp_fail(RP_ERR_IO, "cannot create %s: %s", lock->path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int why = errno;
      char pid[32] = "";
      ssize_t n = read(fd, pid, sizeof pid - 1);
      pid[n > 0 ? n : 0] = '\0';
      pid[strcspn(pid, "\n")] = '\0';
      close(fd);
      if (why != EWOULDBLOCK)
        return rp_fail(RP_ERR_IO, "cannot lock %s: %s", lock->path, strerror(why));
      return rp_fail(RP_ERR_INVALID_ARGUMENT,
                     "%s is in use by another repro run (pid %s): wait for it to end, or choose "
                     "another output directory",
                     dir, pid[0] ? pid : "unknown");
    }
    struct stat held, now;
    if (fstat(fd, &held) == 0 && stat(lock->path, &now) == 0 && held.st_ino == now.st_ino &&
        held.st_dev == now.st_dev) {
      char pid[32];
      int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
      if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n) {
        /* the pid is for the message of a second run only: the lock holds without it */
      }
      lock->fd = fd;
      return RP_OK;
    }
    close(fd);
  }
  return rp_fail(RP_ERR_IO, "cannot lock %s: it keeps being replaced", lock->path);
}

void rp_exp_unlock_dir(rp_exp_lock *lock) {
  if (lock->fd < 0) return;
  unlink(lock->path); /* while still held: see rp_exp_lock_dir */
  close(lock->fd);
  lock->fd = -1;
}

bool rp_exp_json_text_difference(const char *was, const char *now, const char *root, char *path,
                                 size_t path_size, char *was_text, char *now_text,
                                 size_t text_size) {
  if (strcmp(was, now) == 0) return false;
  cJSON *a = cJSON_Parse(was), *b = cJSON_Parse(now);
  /* Texts that differ may hold the same values: an earlier repro printed numbers otherwise. */
  bool differ = true;
  if (a && b) {
    differ = rp_exp_json_difference(a, b, root, path, path_size, was_text, now_text, text_size);
  } else {
    snprintf(path, path_size, "%s", root);
    snprintf(was_text, text_size, "%s", a ? "?" : "not valid JSON");
  }
  cJSON_Delete(a);
  cJSON_Delete(b);
  return differ;
}
