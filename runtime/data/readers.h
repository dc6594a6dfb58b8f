/* The file format readers behind rp_dataset_load (internal to runtime/data). Every message
 * names the file. */
#ifndef RP_DATA_READERS_H
#define RP_DATA_READERS_H

#include <stdint.h>

#include "vk/status.h"

/* CIFAR binary: records of `label_bytes` label bytes (the last one is the label used: CIFAR-10
 * has 1, CIFAR-100 has coarse then fine) followed by 3072 pixel bytes (R, G, B planes of
 * 32x32). `records` receives the number of records the file's size holds. */
rp_status rp_cifar_count(const char *path, int label_bytes, int64_t *records);
/* Reads `records` records into pixels (records * 3072) and labels (records), checking each
 * label against `classes` (and CIFAR-100's coarse label against 20). */
rp_status rp_cifar_read(const char *path, int label_bytes, int classes, int64_t records,
                        uint8_t *pixels, uint8_t *labels);

/* IDX (MNIST layout), raw or gzip'd: the images file (magic 2051, dims count, rows, cols) and
 * the labels file (magic 2049, dim count). Allocates *pixels and *labels (malloc). */
rp_status rp_idx_read(const char *images_path, const char *labels_path, int classes, int64_t *count,
                      int *rows, int *cols, uint8_t **pixels, uint8_t **labels);

#endif
