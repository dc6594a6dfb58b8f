/* A small synthetic Fashion-MNIST whose classes a network learns in a few steps: each image of
 * class i % 10 is noise below 64 with a bright square (200..255) at the class's own place. */
#ifndef RP_TEST_SYNTHETIC_H
#define RP_TEST_SYNTHETIC_H

#include <stdint.h>

enum { SYNTH_TRAIN_IMAGES = 200, SYNTH_TEST_IMAGES = 50, SYNTH_SIDE = 28 };

/* The n images (n * SYNTH_SIDE^2 bytes) and labels of a split drawn from `seed`; the files
 * hold the training split of seed 1 and the test split of seed 2. */
void synthetic_split(int n, uint32_t seed, uint8_t *images, uint8_t *labels);

/* A new directory with the dataset in Fashion-MNIST's IDX files (malloc'd path; remove_tree
 * and free it). */
char *synthetic_dataset(void);

#endif
