/* The standard CIFAR augmentations, as pure functions of (seed, epoch, position).
 *
 * Order and semantics follow the PyTorch recipe they reproduce:
 *   RandomCrop(H, padding=p)   pad with zeros (black), take an HxW window at a uniform offset
 *   RandomHorizontalFlip()     mirror left-right with probability 1/2
 *   Cutout(1 hole, side L)     DeVries & Taylor 2017: centre (cy, cx) uniform over the image,
 *                              rows [cy - L/2, cy + L/2) and the same columns, clipped at the
 *                              borders, set to 0 after normalization, i.e. to the dataset mean
 *                              on the [0,1] scale that the batcher produces. */
#ifndef RP_DATA_AUGMENT_H
#define RP_DATA_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct rp_augment {
  bool crop;
  int crop_pad;
  bool flip;
  int cutout; /* hole side, 0 off */
} rp_augment;

/* The random decisions for one image. */
typedef struct rp_augment_draw {
  int dy, dx; /* crop window offset in the padded image, 0 .. 2*crop_pad (pad, pad: none) */
  bool flip;
  int cy, cx; /* cutout centre; only meaningful with cutout > 0 */
} rp_augment_draw;

/* The draws for the image at `position` of epoch `epoch` (an image without crop gets
 * dy = dx = crop_pad, i.e. no shift). */
rp_augment_draw rp_augment_make_draw(const rp_augment *aug, uint64_t seed, int epoch,
                                     int64_t position, int height, int width);

/* Writes the augmented image, floats on the [0,1] pixel scale, CHW. `aug` NULL: plain
 * conversion. `fill` is the Cutout value per channel (the dataset mean). */
void rp_augment_apply(const rp_augment *aug, const rp_augment_draw *draw, const uint8_t *src,
                      int channels, int height, int width, const float *fill, float *dst);

#endif
