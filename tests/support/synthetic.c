#include "support/synthetic.h"

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SQUARE = 7, PIXELS = SYNTH_SIDE * SYNTH_SIDE };

/* Whether pixel (y, x) lies in the square of class `label`. */
static bool in_square(int label, int y, int x) {
  int top = 2 + (label / 5) * 12, left = 1 + (label % 5) * 5;
  return y >= top && y < top + SQUARE && x >= left && x < left + SQUARE;
}

void synthetic_split(int n, uint32_t seed, int decoy, uint8_t *images, uint8_t *labels) {
  uint32_t state = seed;
  for (int i = 0; i < n; i++) {
    int label = i % 10;
    bool decoyed = decoy > 0 && i % 2 == 1;
    uint8_t *image = images + (size_t)i * PIXELS;
    for (int p = 0; p < PIXELS; p++) {
      state = state * 1664525u + 1013904223u; /* an LCG: the same bytes everywhere */
      int y = p / SYNTH_SIDE, x = p % SYNTH_SIDE, noise = (int)(state >> 26);
      if (in_square(label, y, x))
        image[p] = (uint8_t)(200 + noise);
      else if (decoyed && in_square((label + 3) % 10, y, x))
        image[p] = (uint8_t)decoy;
      else
        image[p] = (uint8_t)noise;
    }
    labels[i] = (uint8_t)label;
  }
}

static void put_be32(FILE *f, uint32_t v) {
  uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  fwrite(b, 1, 4, f);
}

void synthetic_write_split(const char *dir, bool test, int n, uint32_t seed, int decoy) {
  const char *images = test ? "t10k-images-idx3-ubyte" : "train-images-idx3-ubyte";
  const char *labels = test ? "t10k-labels-idx1-ubyte" : "train-labels-idx1-ubyte";
  uint8_t *pixels = malloc((size_t)n * PIXELS), *classes = malloc((size_t)n);
  cr_assert(pixels && classes, "out of memory");
  synthetic_split(n, seed, decoy, pixels, classes);
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, images);
  FILE *fi = fopen(path, "wb");
  snprintf(path, sizeof path, "%s/%s", dir, labels);
  FILE *fl = fopen(path, "wb");
  cr_assert(fi && fl, "cannot write the synthetic dataset in %s", dir);
  put_be32(fi, 2051), put_be32(fi, (uint32_t)n), put_be32(fi, SYNTH_SIDE), put_be32(fi, SYNTH_SIDE);
  put_be32(fl, 2049), put_be32(fl, (uint32_t)n);
  fwrite(pixels, 1, (size_t)n * PIXELS, fi);
  fwrite(classes, 1, (size_t)n, fl);
  cr_assert(fclose(fi) == 0 && fclose(fl) == 0, "cannot write the synthetic dataset in %s", dir);
  free(pixels), free(classes);
}

char *synthetic_dataset(void) {
  char *dir = strdup("/tmp/rp_test_synthetic_XXXXXX");
  cr_assert(dir && mkdtemp(dir), "mkdtemp");
  synthetic_write_split(dir, false, SYNTH_TRAIN_IMAGES, 1, 0);
  synthetic_write_split(dir, true, SYNTH_TEST_IMAGES, 2, 0);
  return dir;
}

rp_train_config synthetic_config(const char *dir) {
  rp_train_config c;
  rp_train_config_defaults(&c, "mnist_cnn", "fashion-mnist");
  c.data_dir = dir;
  c.batch = 50;
  c.validation = 50;
  return c;
}
