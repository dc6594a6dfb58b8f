/* Downloading datasets: libcurl for the transfer, nettle's md5 for the check, zlib and a
 * minimal ustar reader (untar.c) for the CIFAR archives. Nothing is shelled out. */
#include "data/fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <nettle/md5.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"

/* ---- what to fetch. md5s are the publishers' (CIFAR: cs.toronto.edu; MNIST and
 * Fashion-MNIST: as listed by torchvision and the Zalando repository). */

typedef struct remote {
  const char *file; /* name of the download */
  const char *md5;
  const char *urls[3]; /* mirrors, tried in order; each is a prefix to which `file` is added */
} remote;

typedef struct fetch_spec {
  const char *name;
  const char *archive_note; /* for the by-hand message */
  remote remotes[4];
  int remote_count;
  const char *members[6]; /* archive members to extract (NULL list: the downloads are the files) */
  int member_count;
} fetch_spec;

#define MNIST_MIRRORS                                                                              \
  { "https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/", NULL }
#define FASHION_MIRRORS                                                                            \
  {                                                                                                \
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",        \
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", NULL                        \
  }

static const fetch_spec fetch_specs[] = {
    {"cifar10",
     "data_batch_1.bin .. data_batch_5.bin and test_batch.bin from cifar-10-binary.tar.gz",
     {{"cifar-10-binary.tar.gz",
       "c32a1d4ab5d03f1284b67883e8d87530",
       {"https://www.cs.toronto.edu/~kriz/", NULL}}},
     1,
     {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
      "data_batch_5.bin", "test_batch.bin"},
     6},
    {"cifar100",
     "train.bin and test.bin from cifar-100-binary.tar.gz",
     {{"cifar-100-binary.tar.gz",
       "03b5dce01913d631647c71ecec9e9cb8",
       {"https://www.cs.toronto.edu/~kriz/", NULL}}},
     1,
     {"train.bin", "test.bin"},
     2},
    {"mnist",
     "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
     "t10k-labels-idx1-ubyte.gz (gzip'd or not)",
     {{"train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", MNIST_MIRRORS},
      {"train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", MNIST_MIRRORS},
      {"t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", MNIST_MIRRORS},
      {"t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", MNIST_MIRRORS}},
     4,
     {NULL},
     0},
    {"fashion-mnist",
     "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
     "t10k-labels-idx1-ubyte.gz (gzip'd or not; Debian: apt-get install dataset-fashion-mnist)",
     {{"train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", FASHION_MIRRORS},
      {"train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", FASHION_MIRRORS},
      {"t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", FASHION_MIRRORS},
      {"t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", FASHION_MIRRORS}},
     4,
     {NULL},
     0},
};

/* ---- md5 */

static void hex(const uint8_t *digest, char out[33]) {
  for (int i = 0; i < MD5_DIGEST_SIZE; i++) snprintf(out + 2 * (size_t)i, 3, "%02x", digest[i]);
}

rp_status rp_file_md5(const char *path, char out[33]) {
  FILE *f = fopen(path, "rb");
  if (!f) return rp_fail(RP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  struct md5_ctx ctx;
  md5_init(&ctx);
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) md5_update(&ctx, n, buf);
  bool bad = ferror(f);
  fclose(f);
  if (bad) return rp_fail(RP_ERR_IO, "cannot read %s", path);
  uint8_t digest[MD5_DIGEST_SIZE];
  md5_digest(&ctx, MD5_DIGEST_SIZE, digest);
  hex(digest, out);
  return RP_OK;
}

/* ---- download */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;
static void init_curl(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct sink {
  FILE *f;
  struct md5_ctx md5;
} sink;

static size_t on_data(char *data, size_t size, size_t n, void *user) {
  sink *s = user;
  size_t bytes = size * n;
  md5_update(&s->md5, bytes, (const uint8_t *)data);
  return fwrite(data, 1, bytes, s->f);
}

/* Whether a transfer failed for lack of network (rather than a bad URL or server). */
static bool network_error(CURLcode c) {
  return c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_COULDNT_RESOLVE_PROXY ||
         c == CURLE_COULDNT_CONNECT || c == CURLE_OPERATION_TIMEDOUT;
}

/* Set by rp_fetch_url for rp_data_fetch's message. */
static _Thread_local bool last_was_network;

rp_status rp_fetch_url(const char *url, const char *md5_hex, const char *path) {
  last_was_network = false;
  pthread_once(&curl_once, init_curl);
  if (curl_init_result != CURLE_OK)
    return rp_fail(RP_ERR_IO, "cannot initialize libcurl: %s",
                   curl_easy_strerror(curl_init_result));
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.part.%ld", path, (long)getpid());
  sink s;
  s.f = fopen(tmp, "wb");
  if (!s.f) return rp_fail(RP_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
  md5_init(&s.md5);
  CURL *c = curl_easy_init();
  if (!c) {
    fclose(s.f);
    remove(tmp);
    return rp_fail(RP_ERR_IO, "cannot start a libcurl transfer");
  }
  char curl_message[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  /* a stalled transfer (under 1 kB/s for a minute) fails instead of hanging */
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1000L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "repro/" REPRO_VERSION);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_message);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
  CURLcode res = curl_easy_perform(c);
  curl_easy_cleanup(c);
  bool written = fclose(s.f) == 0;
  if (res != CURLE_OK || !written) {
    remove(tmp);
    last_was_network = network_error(res);
    return rp_fail(RP_ERR_IO, "cannot download %s: %s", url,
                   res != CURLE_OK ? (*curl_message ? curl_message : curl_easy_strerror(res))
                                   : "write error");
  }
  uint8_t digest[MD5_DIGEST_SIZE];
  char got[33];
  md5_digest(&s.md5, MD5_DIGEST_SIZE, digest);
  hex(digest, got);
  if (md5_hex && strcmp(got, md5_hex) != 0) {
    remove(tmp);
    return rp_fail(RP_ERR_IO, "%s: md5 %s, expected %s (download corrupt or changed; removed)", url,
                   got, md5_hex);
  }
  if (rename(tmp, path) != 0) {
    remove(tmp);
    return rp_fail(RP_ERR_IO, "cannot write %s: %s", path, strerror(errno));
  }
  return RP_OK;
}

/* ---- rp_data_fetch */

static rp_status make_dirs(const char *dir) {
  char path[1024];
  snprintf(path, sizeof path, "%s", dir);
  for (char *p = path + 1;; p++) {
    bool end = *p == '\0';
    if (*p == '/' || end) {
      *p = '\0';
      if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return rp_fail(RP_ERR_IO, "cannot create %s: %s", path, strerror(errno));
      if (end) break;
      *p = '/';
    }
  }
  return RP_OK;
}

static bool present(const char *dir, const char *file) {
  char path[1100];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, file);
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) return true;
  /* an IDX file may be there uncompressed */
  size_t n = strlen(path);
  if (n > 3 && strcmp(path + n - 3, ".gz") == 0) {
    path[n - 3] = '\0';
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
  }
  return false;
}

/* Downloads one remote into dest, trying each mirror. */
static rp_status fetch_remote(const fetch_spec *fs, const remote *r, const char *dest) {
  char path[1100], url[1024], first[1024] = "";
  snprintf(path, sizeof path, "%s/%s", dest, r->file);
  rp_status st = RP_ERR_IO;
  bool all_network = true;
  for (int m = 0; m < 3 && r->urls[m]; m++) {
    snprintf(url, sizeof url, "%s%s", r->urls[m], r->file);
    st = rp_fetch_url(url, r->md5, path);
    if (st == RP_OK) return RP_OK;
    all_network = all_network && last_was_network;
    if (!*first) snprintf(first, sizeof first, "%s", rp_error_message());
  }
  if (all_network)
    return rp_fail(RP_ERR_IO, "%s: no network (%s); to install by hand, place %s in %s", fs->name,
                   first, fs->archive_note, dest);
  return rp_fail(RP_ERR_IO, "%s: %s; to install by hand, place %s in %s", fs->name, first,
                 fs->archive_note, dest);
}

rp_status rp_data_fetch(const char *name, const char *dir, char *where, size_t where_size) {
  const fetch_spec *fs = NULL;
  for (size_t i = 0; i < sizeof fetch_specs / sizeof *fetch_specs; i++)
    if (name && strcmp(fetch_specs[i].name, name) == 0) fs = &fetch_specs[i];
  if (!fs)
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "unknown dataset '%s' (known: cifar10, cifar100, mnist, fashion-mnist)",
                   name ? name : "(null)");
  char dest[1024];
  const char *env = getenv("REPRO_DATA_DIR"), *home = getenv("HOME");
  if (dir)
    snprintf(dest, sizeof dest, "%s", dir);
  else if (env && *env)
    snprintf(dest, sizeof dest, "%s/%s", env, name);
  else if (home && *home)
    snprintf(dest, sizeof dest, "%s/.cache/repro/data/%s", home, name);
  else
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "%s: no --dir, REPRO_DATA_DIR or HOME to fetch into",
                   name);
  if (where) snprintf(where, where_size, "%s", dest);
  rp_status st = make_dirs(dest);
  if (st) return st;

  if (fs->member_count == 0) {
    for (int r = 0; r < fs->remote_count; r++) {
      if (present(dest, fs->remotes[r].file)) continue;
      st = fetch_remote(fs, &fs->remotes[r], dest);
      if (st) return st;
    }
    return RP_OK;
  }
  bool all = true;
  for (int m = 0; m < fs->member_count; m++) all = all && present(dest, fs->members[m]);
  if (all) return RP_OK;
  const remote *r = &fs->remotes[0];
  char archive[1100];
  snprintf(archive, sizeof archive, "%s/%s", dest, r->file);
  st = fetch_remote(fs, r, dest);
  if (st) return st;
  st = rp_untar(archive, fs->members, fs->member_count, dest);
  remove(archive);
  return st;
}
