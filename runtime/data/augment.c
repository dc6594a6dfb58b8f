/* Random crop, horizontal flip and Cutout on one uint8 CHW image, written as floats. */
#include "data/augment.h"

#include <stddef.h>
#include <string.h>

#include "data/rng.h"

rp_augment_draw rp_augment_make_draw(const rp_augment *aug, uint64_t seed, int epoch,
                                     int64_t position, int height, int width) {
  rp_augment_draw d = {0};
  if (!aug) return d;
  /* One stream per image; the draws are always taken in the same order, each whether or not
   * its augmentation is on, so turning one off does not change the others. */
  rp_rng rng = rp_rng_key(seed, RP_RNG_AUGMENT, (uint64_t)(int64_t)epoch, (uint64_t)position);
  uint64_t span = 2 * (uint64_t)(aug->crop_pad > 0 ? aug->crop_pad : 0) + 1;
  int dy = (int)rp_rng_below(&rng, span), dx = (int)rp_rng_below(&rng, span);
  bool flip = rp_rng_next(&rng) >> 63;
  int cy = (int)rp_rng_below(&rng, (uint64_t)height), cx = (int)rp_rng_below(&rng, (uint64_t)width);
  d.dy = aug->crop ? dy : aug->crop_pad;
  d.dx = aug->crop ? dx : aug->crop_pad;
  d.flip = aug->flip && flip;
  d.cy = cy, d.cx = cx;
  return d;
}

/* The [0,1] scale of ToTensor: v / 255, rounded once to float. */
static inline float to_unit(uint8_t v) { return (float)v / 255.0f; }

void rp_augment_apply(const rp_augment *aug, const rp_augment_draw *draw, const uint8_t *src,
                      int channels, int height, int width, const float *fill, float *dst) {
  const size_t plane = (size_t)height * width;
  if (!aug) {
    for (size_t i = 0; i < channels * plane; i++) dst[i] = to_unit(src[i]);
    return;
  }
  /* Output pixel (y, x) reads the padded image at (y + dy, x' + dx), x' = x or mirrored:
   * the flip is applied to the cropped window, as RandomHorizontalFlip after RandomCrop. In
   * source coordinates that is (y + oy, x' + ox); window columns x' in [lo, hi) fall inside the
   * image, the rest on the zero padding. Whole runs per row keep the loops branch-free. */
  const int oy = draw->dy - aug->crop_pad, ox = draw->dx - aug->crop_pad;
  const int lo = ox < 0 ? -ox : 0, hi = width - (ox > 0 ? ox : 0);
  for (int c = 0; c < channels; c++) {
    const uint8_t *in = src + c * plane;
    float *o = dst + c * plane;
    for (int y = 0; y < height; y++) {
      float *row = o + (size_t)y * width;
      int sy = y + oy;
      if (sy < 0 || sy >= height || lo >= hi) {
        memset(row, 0, (size_t)width * sizeof *row);
        continue;
      }
      const uint8_t *line = in + (size_t)sy * width;
      if (!draw->flip) {
        for (int x = 0; x < lo; x++) row[x] = 0.0f;
        for (int x = lo; x < hi; x++) row[x] = to_unit(line[x + ox]);
        for (int x = hi; x < width; x++) row[x] = 0.0f;
      } else { /* row[x] = window[width - 1 - x]: inside for x in [width - hi, width - lo) */
        for (int x = 0; x < width - hi; x++) row[x] = 0.0f;
        for (int x = width - hi; x < width - lo; x++) row[x] = to_unit(line[width - 1 - x + ox]);
        for (int x = width - lo; x < width; x++) row[x] = 0.0f;
      }
    }
  }
  if (aug->cutout > 0) {
    int half = aug->cutout / 2;
    int y0 = draw->cy - half, y1 = draw->cy + half, x0 = draw->cx - half, x1 = draw->cx + half;
    y0 = y0 < 0 ? 0 : y0, x0 = x0 < 0 ? 0 : x0;
    y1 = y1 > height ? height : y1, x1 = x1 > width ? width : x1;
    for (int c = 0; c < channels; c++)
      for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) dst[c * plane + (size_t)y * width + x] = fill[c];
  }
}
