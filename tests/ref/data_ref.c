#include "ref/data_ref.h"

#include <stdlib.h>
#include <string.h>

void ref_augment(const uint8_t *src, int channels, int height, int width, int pad, int dy, int dx,
                 bool flip, int hole, int cy, int cx, const float *fill, float *dst) {
  const int ph = height + 2 * pad, pw = width + 2 * pad;
  float *padded = calloc((size_t)ph * pw, sizeof *padded);
  float *crop = malloc((size_t)height * width * sizeof *crop);
  for (int c = 0; c < channels; c++) {
    const uint8_t *in = src + (size_t)c * height * width;
    float *out = dst + (size_t)c * height * width;
    memset(padded, 0, (size_t)ph * pw * sizeof *padded);
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++)
        padded[(y + pad) * pw + (x + pad)] = (float)in[y * width + x] / 255.0f;
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++) crop[y * width + x] = padded[(y + dy) * pw + (x + dx)];
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++)
        out[y * width + x] = crop[y * width + (flip ? width - 1 - x : x)];
    /* DeVries & Taylor's cutout.py: y1 = clip(y - L // 2), y2 = clip(y + L // 2), etc. */
    if (hole > 0) {
      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          if (y >= cy - hole / 2 && y < cy + hole / 2 && x >= cx - hole / 2 && x < cx + hole / 2)
            out[y * width + x] = fill[c];
    }
  }
  free(padded);
  free(crop);
}
