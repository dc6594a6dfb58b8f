/* A small synthetic Fashion-MNIST whose classes a network learns in a few steps: each image of
 * class i % 10 is noise below 64 with a bright square (200..255) at the class's own place. */
#ifndef RP_TEST_SYNTHETIC_H
#define RP_TEST_SYNTHETIC_H

#include <stdbool.h>
#include <stdint.h>

#include "train/trainer.h"

enum { SYNTH_TRAIN_IMAGES = 200, SYNTH_TEST_IMAGES = 50, SYNTH_SIDE = 28 };

/* The n images (n * SYNTH_SIDE^2 bytes) and labels of a split drawn from `seed`: the files
 * hold the training split of seed 1 and the test split of seed 2, without decoys. With
 * `decoy` > 0, every odd-numbered image also has a flat square of that brightness at the
 * place of class label + 3 (mod 10): a dimmer second square, for a test that needs an image
 * whose class depends on how bright its squares are. */
void synthetic_split(int n, uint32_t seed, int decoy, uint8_t *images, uint8_t *labels);

/* Writes that split as the IDX files of the training (or, with `test`, the test) split into
 * `dir`. */
void synthetic_write_split(const char *dir, bool test, int n, uint32_t seed, int decoy);

/* A new directory with the dataset in Fashion-MNIST's IDX files (malloc'd path; remove_tree
 * and free it). */
char *synthetic_dataset(void);

/* The MNIST CNN on the dataset in `dir`: batches of 50, 50 of the 200 training images held
 * out for validation, the rest as rp_train_config_defaults gives it. */
rp_train_config synthetic_config(const char *dir);

#endif
