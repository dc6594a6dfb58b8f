// Backward-filter convolution for CPU devices, for 3-wide kernels at stride 1:
// conv2d_lanes_filter.glsl with the inputs shared across the three taps of a row.
//
// Each lane owns TN_ = 12 consecutive columns of dW [K, C*R*3]: the three taps of four
// (c, r), whole since 12 is a multiple of 3. A step of depth is four pixels of one output row
// (P*Q % 4 == 0 and Q % 4 == 0), and for each of its (c, r) the lane loads the six inputs
// x[n, c, p + r - pad, q - pad .. q - pad + 5] that the three taps of the four pixels read,
// where conv2d_lanes_filter.glsl gathers twelve, each with its own index arithmetic.
// Split by images over gl_WorkGroupID.z as there; TM_ comes from the including shader
// (conv2d_lanes_filter_row_<TM>x12.comp).
#include "conv2d_lanes_filter_common.glsl"
#define PAIRS (TN_ / 3) // the (c, r) a lane owns

void main() {
  FILTER_WORKGROUP

  // Each (c, r)'s channel plane and row offset; those past C*R read the last one's inputs
  // and store nothing.
  uint plane[PAIRS];
  int dr[PAIRS];
  for (uint t = 0u; t < PAIRS; t++) {
    uint cr = min(col0 / 3u + t, p.CRS / 3u - 1u);
    plane[t] = (cr / R) * HW;
    dr[t] = int(cr % R) - int(PAD);
  }

  LANES_DECLARE

  for (uint n = n_begin; n < n_end; n++) {
    uint image = n * p.C * HW;
    for (uint pq4 = 0u; pq4 < PQ; pq4 += 4u) {
      LOAD_DY_STEP(n, pq4)
      int h0 = int(pq4 / Q), w0 = int(pq4 % Q) - int(PAD);
      float bb[4][TN_];
      for (uint t = 0u; t < PAIRS; t++) {
        int h = h0 + dr[t];
        bool row_in = h >= 0 && h < int(H);
        uint at = image + plane[t] + uint(row_in ? h : 0) * W;
        float v[6];
        for (uint u = 0u; u < 6u; u++) {
          int w = w0 + int(u);
          v[u] = LOAD1_IF(x, row_in && w >= 0 && w < int(W), at + uint(w));
        }
        for (uint kk = 0u; kk < 4u; kk++)
          for (uint s = 0u; s < 3u; s++) bb[kk][t * 3u + s] = v[kk + s];
      }
      LANES_ACCUMULATE
    }
  }

  LANES_STORE
}
