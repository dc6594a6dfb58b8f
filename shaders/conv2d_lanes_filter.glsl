// Backward-filter convolution for CPU devices (lavapipe) in the form of gemm_lanes.glsl:
// dW[K, C*R*S] = dY[K, N*P*Q] * im2col(x)^T, without writing im2col(x) anywhere.
//
// A workgroup is one subgroup; it owns TM output channels k, and each lane TN consecutive
// columns (c, r, s). The depth (pixels) is long and dW small, so it is split by images over
// gl_WorkGroupID.z, each split writing its own partial dW (summed in a fixed order by
// conv2d_sum_splits.comp). dY's rows are read as vec4s along the pixels (P*Q % 4 == 0) and
// shared across the subgroup by subgroupShuffle; each lane gathers its own columns' inputs.
// The block is written out by lanes_block.glsl; TM_ and TN_ come from the including shader
// (conv2d_lanes_filter_<TM>x<TN>.comp).
#include "conv2d_lanes_filter_common.glsl"

void main() {
  FILTER_WORKGROUP

  // Each column's channel plane and kernel offset; columns past C*R*S read nothing.
  uint plane[TN_];
  int dr[TN_], ds[TN_];
  bool valid[TN_];
  for (uint j = 0u; j < TN; j++) {
    uint col = col0 + j;
    valid[j] = col < p.CRS;
    plane[j] = (col / RS) * HW;
    dr[j] = int((col % RS) / S) - int(PAD);
    ds[j] = int(col % S) - int(PAD);
  }

  LANES_DECLARE

  for (uint n = n_begin; n < n_end; n++) {
    uint image = n * p.C * HW;
    for (uint pq4 = 0u; pq4 < PQ; pq4 += 4u) {
      LOAD_DY_STEP(n, pq4)
      float bb[4][TN_];
      for (uint kk = 0u; kk < 4u; kk++) {
        uint pq = pq4 + kk;
        int h0 = int((pq / Q) * STRIDE), w0 = int((pq % Q) * STRIDE);
        for (uint j = 0u; j < TN; j++) {
          int h = h0 + dr[j], w = w0 + ds[j];
          bb[kk][j] = LOAD1_IF(x, valid[j] && h >= 0 && w >= 0 && h < int(H) && w < int(W),
                               image + plane[j] + uint(h) * W + uint(w));
        }
      }
      LANES_ACCUMULATE
    }
  }

  LANES_STORE
}
