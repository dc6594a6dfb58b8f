/* Small helpers the op files share for 1-D elementwise dispatches. */
#ifndef RP_DISPATCH_H
#define RP_DISPATCH_H

#include <stdint.h>

#include "vk/caps.h"
#include "vk/status.h"

#define RP_ELEMENTWISE_WORKGROUP 256u

/* Workgroups covering `invocations` at `workgroup` each, spread over x and y when x alone
 * would exceed the device's limit (shaders use flat_workgroup() from common.glsl). */
rp_status rp_grid_1d(const rp_caps *caps, int64_t invocations, uint32_t workgroup,
                     uint32_t groups[3]);

/* Invocations for `n` elements in kernels that take four per invocation and the n % 4 left
 * over one each (copy.comp, elementwise.comp, relu.comp). */
static inline int64_t rp_vec4_invocations(int64_t n) { return n / 4 > n % 4 ? n / 4 : n % 4; }

#endif
