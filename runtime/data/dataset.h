/* Image classification datasets in memory: CIFAR-10, CIFAR-100, MNIST, Fashion-MNIST.
 *
 * Files are read in their official layouts (CIFAR binary records; IDX, raw or gzip'd) into one
 * byte array of CHW images and one of labels; conversion to floats and augmentation happen in
 * the batcher, per batch. */
#ifndef RP_DATA_DATASET_H
#define RP_DATA_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "vk/status.h"

typedef struct rp_dataset {
  char name[32]; /* "cifar10", "cifar100", "mnist", "fashion-mnist" */
  int64_t count;
  int channels, height, width, classes;
  uint8_t *pixels;       /* count * channels * height * width, CHW per image */
  uint8_t *labels;       /* count */
  float mean[3], std[3]; /* per-channel normalization constants on the [0,1] scale */
  char dir[512];         /* the directory the files were read from */
  bool partial;          /* CIFAR-10 training set with only data_batch_1..k (k < 5) present */
} rp_dataset;

/* Loads the training (`train`) or test set of `name` from `dir`, or, with dir NULL, from the
 * first of $REPRO_DATA_DIR/<name>, ./data/<name>, ~/.cache/repro/data/<name> and (for
 * fashion-mnist) /usr/share/datasets/fashion-mnist that holds its files. A directory may also
 * hold the CIFAR files one level down, as the official archives unpack them
 * (cifar-10-batches-bin/, cifar-100-binary/).
 *
 * The CIFAR-10 training set is data_batch_1.bin .. data_batch_5.bin; where only a leading run
 * data_batch_1 .. data_batch_k is present, those are loaded and `partial` is set (a copy of
 * one batch is what fits on a small machine); a gap (1, 2, 4) is an error.
 *
 * Files that are there but wrong (truncated, damaged, another format, labels out of range) are
 * bad input, RP_ERR_INVALID_ARGUMENT (exit status 2); files that are missing or cannot be read
 * are RP_ERR_IO (status 1), the machine's state, which `repro data fetch` mends. */
rp_status rp_dataset_load(const char *name, const char *dir, bool train, rp_dataset *out);
void rp_dataset_free(rp_dataset *ds);

/* True for the four names above. */
bool rp_dataset_known(const char *name);

#endif
