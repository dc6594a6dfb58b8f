/* Plain references for the data pipeline's augmentations, written the long way round (an
 * explicit zero-padded image, a cropped copy, a mirrored copy, then the hole), to check the
 * library's direct index arithmetic against. */
#ifndef RP_TEST_DATA_REF_H
#define RP_TEST_DATA_REF_H

#include <stdbool.h>
#include <stdint.h>

/* RandomCrop(pad) at window offset (dy, dx) of the padded image, then a horizontal flip if
 * `flip`, then a Cutout hole of side `hole` (0: none) centred at (cy, cx) filled with fill[c];
 * pixels as v / 255. */
void ref_augment(const uint8_t *src, int channels, int height, int width, int pad, int dy, int dx,
                 bool flip, int hole, int cy, int cx, const float *fill, float *dst);

#endif
