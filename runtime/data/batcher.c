/* Mini-batches prepared one ahead by a worker thread.
 *
 * Two slots: while the caller consumes batch i (copied out of its slot by rp_batcher_next),
 * the worker fills the other slot with batch i+1. What goes into batch j depends only on
 * (seed, epoch, j), so the thread changes when work happens, never its result. Starting an
 * epoch bumps a generation counter; a batch the worker finishes for an older generation is
 * thrown away. */
#include "data/batcher.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "data/rng.h"

enum { SLOTS = 2 };

typedef struct slot {
  float *images;
  uint32_t *labels;
  int valid;
  int64_t index; /* the batch it holds, -1 if none */
  bool ready;    /* filled and not yet taken */
} slot;

struct rp_batcher {
  const rp_dataset *ds;
  int64_t *indices; /* our copy of the caller's list */
  int64_t count, batches;
  int batch;
  bool shuffle, augment;
  rp_augment aug;
  uint64_t seed;
  size_t image; /* floats per image */

  pthread_t thread;
  bool started; /* thread, mu and cv exist */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* Guarded by mu: */
  int64_t *order; /* this epoch's order: positions into indices */
  int epoch;
  bool active, quit, busy; /* busy: the worker is filling a slot, outside the lock */
  uint64_t generation;
  int64_t next_make, next_take;
  slot slots[SLOTS];
};

int64_t rp_batcher_sample(const rp_batcher *b, int epoch, int64_t position) {
  if (position < 0 || position >= b->count) return -1;
  if (!b->shuffle) return b->indices[position];
  /* Recomputes the epoch's shuffle: for tests, not for the training loop. */
  int64_t *perm = malloc((size_t)b->count * sizeof *perm);
  if (!perm) return -1;
  for (int64_t i = 0; i < b->count; i++) perm[i] = i;
  rp_rng rng = rp_rng_key(b->seed, RP_RNG_ORDER, (uint64_t)(int64_t)epoch, 0);
  rp_rng_shuffle(&rng, perm, b->count);
  int64_t sample = b->indices[perm[position]];
  free(perm);
  return sample;
}

/* Fills `s` with batch j of the current epoch. Reads only what start_epoch does not change
 * while busy is set. */
static void fill(rp_batcher *b, slot *s, int64_t j, int epoch) {
  const rp_dataset *ds = b->ds;
  const size_t pixels = (size_t)ds->channels * ds->height * ds->width;
  int valid = 0;
  for (int r = 0; r < b->batch; r++) {
    int64_t pos = j * b->batch + r;
    float *dst = s->images + (size_t)r * b->image;
    if (pos >= b->count) {
      memset(dst, 0, b->image * sizeof *dst);
      s->labels[r] = UINT32_MAX;
      continue;
    }
    int64_t sample = b->indices[b->order[pos]];
    rp_augment_draw d = rp_augment_make_draw(b->augment ? &b->aug : NULL, b->seed, epoch, pos,
                                             ds->height, ds->width);
    rp_augment_apply(b->augment ? &b->aug : NULL, &d, ds->pixels + (size_t)sample * pixels,
                     ds->channels, ds->height, ds->width, ds->mean, dst);
    s->labels[r] = ds->labels[sample];
    valid++;
  }
  s->valid = valid;
  s->index = j;
}

static void *worker(void *arg) {
  rp_batcher *b = arg;
#ifdef __linux__
  prctl(PR_SET_NAME, "repro-batcher"); /* what top -H, gdb and the tests see */
#endif
  pthread_mutex_lock(&b->mu);
  for (;;) {
    if (b->quit) break;
    slot *s = &b->slots[b->next_make % SLOTS];
    /* A slot is free once the batch SLOTS before has been taken. */
    if (!b->active || b->next_make >= b->batches || s->ready ||
        b->next_make >= b->next_take + SLOTS) {
      pthread_cond_wait(&b->cv, &b->mu);
      continue;
    }
    int64_t j = b->next_make;
    uint64_t gen = b->generation;
    int epoch = b->epoch;
    b->busy = true;
    pthread_mutex_unlock(&b->mu);
    fill(b, s, j, epoch);
    pthread_mutex_lock(&b->mu);
    b->busy = false;
    if (gen == b->generation) {
      s->ready = true;
      b->next_make = j + 1;
    }
    pthread_cond_broadcast(&b->cv);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

rp_status rp_batcher_create(const rp_dataset *ds, const int64_t *indices, int64_t count, int batch,
                            bool shuffle, bool drop_last, const rp_augment *aug, uint64_t seed,
                            rp_batcher **out) {
  *out = NULL;
  if (!indices) count = ds->count;
  if (batch <= 0 || count <= 0)
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "batcher for %s: batch %d of %lld images", ds->name,
                   batch, (long long)count);
  if (aug && (aug->crop_pad < 0 || aug->crop_pad > ds->height || aug->crop_pad > ds->width ||
              aug->cutout < 0))
    return rp_fail(RP_ERR_INVALID_ARGUMENT,
                   "batcher for %s: crop padding %d / cutout %d do not fit %dx%d images", ds->name,
                   aug->crop_pad, aug->cutout, ds->height, ds->width);
  for (int64_t i = 0; indices && i < count; i++)
    if (indices[i] < 0 || indices[i] >= ds->count)
      return rp_fail(RP_ERR_INVALID_ARGUMENT, "batcher for %s: index %lld at %lld outside 0..%lld",
                     ds->name, (long long)indices[i], (long long)i, (long long)ds->count - 1);
  rp_batcher *b = calloc(1, sizeof *b);
  if (!b) return rp_fail(RP_ERR_OUT_OF_MEMORY, "batcher: no memory");
  b->ds = ds;
  b->count = count;
  b->batch = batch;
  b->shuffle = shuffle;
  b->augment = aug && (aug->crop || aug->flip || aug->cutout > 0);
  if (aug) b->aug = *aug;
  b->seed = seed;
  b->image = (size_t)ds->channels * ds->height * ds->width;
  b->batches = drop_last ? count / batch : (count + batch - 1) / batch;
  b->indices = malloc((size_t)count * sizeof *b->indices);
  b->order = malloc((size_t)count * sizeof *b->order);
  bool ok = b->indices && b->order;
  for (int s = 0; s < SLOTS && ok; s++) {
    b->slots[s].images = malloc((size_t)batch * b->image * sizeof(float));
    b->slots[s].labels = malloc((size_t)batch * sizeof(uint32_t));
    ok = b->slots[s].images && b->slots[s].labels;
  }
  if (!ok) {
    size_t image = b->image;
    rp_batcher_destroy(b);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "batcher for %s: no memory for %d x %zu floats", ds->name,
                   batch, image);
  }
  for (int64_t i = 0; i < count; i++) b->indices[i] = indices ? indices[i] : i;
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->cv, NULL);
  /* The worker takes none of the signals that ask a process to stop: Ctrl-C is the main
   * thread's to handle (repro run's handler removes its lock file and says how to resume).
   * Faults (SIGSEGV...) stay unblocked, for the sanitizers' reports. */
  sigset_t stops, before;
  sigemptyset(&stops);
  sigaddset(&stops, SIGINT), sigaddset(&stops, SIGTERM), sigaddset(&stops, SIGHUP);
  sigaddset(&stops, SIGQUIT);
  pthread_sigmask(SIG_BLOCK, &stops, &before);
  int created = pthread_create(&b->thread, NULL, worker, b);
  pthread_sigmask(SIG_SETMASK, &before, NULL);
  if (created != 0) {
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    rp_batcher_destroy(b);
    return rp_fail(RP_ERR_OUT_OF_MEMORY, "batcher for %s: cannot start its worker thread",
                   ds->name);
  }
  b->started = true;
  *out = b;
  return RP_OK;
}

int64_t rp_batcher_batches(const rp_batcher *b) { return b->batches; }

rp_status rp_batcher_start_epoch(rp_batcher *b, int epoch) {
  pthread_mutex_lock(&b->mu);
  b->generation++;
  /* The order array is read by a fill in progress; wait for it to finish (and be discarded).
   * Inactive meanwhile, or the worker would fill the other slot from the old order too, and
   * this would wait for that as well. */
  b->active = false;
  while (b->busy) pthread_cond_wait(&b->cv, &b->mu);
  for (int64_t i = 0; i < b->count; i++) b->order[i] = i;
  if (b->shuffle) {
    rp_rng rng = rp_rng_key(b->seed, RP_RNG_ORDER, (uint64_t)(int64_t)epoch, 0);
    rp_rng_shuffle(&rng, b->order, b->count);
  }
  for (int s = 0; s < SLOTS; s++) b->slots[s].ready = false, b->slots[s].index = -1;
  b->epoch = epoch;
  b->next_make = b->next_take = 0;
  b->active = true;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
  return RP_OK;
}

rp_status rp_batcher_next(rp_batcher *b, float *images, uint32_t *labels, int *valid) {
  *valid = 0;
  pthread_mutex_lock(&b->mu);
  if (!b->active) {
    pthread_mutex_unlock(&b->mu);
    return rp_fail(RP_ERR_INVALID_ARGUMENT, "batcher for %s: rp_batcher_start_epoch was not called",
                   b->ds->name);
  }
  if (b->next_take >= b->batches) {
    pthread_mutex_unlock(&b->mu);
    return RP_OK;
  }
  slot *s = &b->slots[b->next_take % SLOTS];
  while (!s->ready) pthread_cond_wait(&b->cv, &b->mu);
  pthread_mutex_unlock(&b->mu);
  /* The worker does not touch a ready slot, so the copy needs no lock. */
  memcpy(images, s->images, (size_t)b->batch * b->image * sizeof *images);
  memcpy(labels, s->labels, (size_t)b->batch * sizeof *labels);
  *valid = s->valid;
  pthread_mutex_lock(&b->mu);
  s->ready = false;
  b->next_take++;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
  return RP_OK;
}

void rp_batcher_destroy(rp_batcher *b) {
  if (!b) return;
  if (b->started) {
    pthread_mutex_lock(&b->mu);
    b->quit = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
  }
  for (int s = 0; s < SLOTS; s++) free(b->slots[s].images), free(b->slots[s].labels);
  free(b->indices);
  free(b->order);
  free(b);
}
