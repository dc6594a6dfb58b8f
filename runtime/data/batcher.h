/* Mini-batches of a dataset as floats, prepared by a worker thread one batch ahead.
 *
 * Everything random is a pure function of (seed, epoch, position in the epoch): the order of
 * an epoch is a shuffle keyed by (seed, epoch), and the augmentation of the image at position
 * i by (seed, epoch, i). The worker thread only changes when a batch is made, never what is in
 * it, so a run is reproducible bit for bit whatever the timing. */
#ifndef RP_DATA_BATCHER_H
#define RP_DATA_BATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "data/augment.h"
#include "data/dataset.h"

typedef struct rp_batcher rp_batcher;

/* `indices` NULL = all of ds (the list is copied; `ds` must outlive the batcher). Images come
 * out as floats on the [0,1] pixel scale (normalization is inside the model); a Cutout hole is
 * filled with the dataset mean (= 0 after normalizing). `aug` NULL or all off: no
 * augmentation. Without `shuffle` the order is that of `indices`. */
rp_status rp_batcher_create(const rp_dataset *ds, const int64_t *indices, int64_t count, int batch,
                            bool shuffle, bool drop_last, const rp_augment *aug, uint64_t seed,
                            rp_batcher **out);
/* Batches per epoch: count / batch with drop_last, else rounded up. */
int64_t rp_batcher_batches(const rp_batcher *b);
/* Starts epoch `epoch` (any order, any number of times; an unfinished epoch is abandoned):
 * the worker thread begins preparing its first batches. */
rp_status rp_batcher_start_epoch(rp_batcher *b, int epoch);
/* The next batch: images [batch, C, H, W], labels [batch]. A partial last batch (drop_last
 * false) pads rows with zero images and label UINT32_MAX; *valid = real rows, 0 at the end
 * of the epoch. */
rp_status rp_batcher_next(rp_batcher *b, float *images, uint32_t *labels, int *valid);
void rp_batcher_destroy(rp_batcher *b);

/* The dataset index of the sample at `position` of `epoch`'s order (tests and debugging). */
int64_t rp_batcher_sample(const rp_batcher *b, int epoch, int64_t position);

#endif
