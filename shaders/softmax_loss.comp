#version 450
// Softmax and a loss per row of logits, one workgroup per row (runtime/ops/loss.h):
//   stats[0*rows + r] = loss of row r, stats[1*rows + r] = 1 if the argmax is the label,
//   stats[2*rows + r] = softmax probability of the label,
//   dz[r, k] = d(loss of row r)/dz[r, k] * inv_valid   (when GRAD), all 0 on padding rows.
// KIND (specialization constant 1): 0 cross-entropy, 1 label smoothing, 2 TaylorGLO.
//
// Everything is computed from m = max_j z_j and s = sum_j exp(z_j - m), so log y_j =
// (z_j - m) - log s never overflows, whatever the logits. Three fixed-tree reductions over
// shared memory (max and argmax; s and sum (z_j - m); for TaylorGLO sum f_j and sum y_j f'_j):
// deterministic. The workgroup size must be a power of two.
#include "common.glsl"

layout(constant_id = 1) const uint KIND = 0;
layout(constant_id = 2) const bool GRAD = true;

layout(set = 0, binding = 0) readonly buffer Logits { float z[]; };
layout(set = 0, binding = 1) readonly buffer Labels { uint labels[]; };
layout(set = 0, binding = 2) writeonly buffer Stats { float stats[]; };
layout(set = 0, binding = 3) writeonly buffer DLogits { float dz[]; };
// theta: a1..a6, theta0, theta1 (the code convention, see loss.h)
layout(push_constant) uniform Push {
  uint rows;
  uint n;
  float inv_valid;
  float alpha;
  float theta[8];
} p;

shared float max_value[gl_WorkGroupSize.x];
shared uint max_index[gl_WorkGroupSize.x];
shared vec2 partial[gl_WorkGroupSize.x];

// Fixed-order tree sum of partial[]; the result is in partial[0] for every invocation.
void sum_partials(uint lid) {
  barrier();
  for (uint half_size = gl_WorkGroupSize.x / 2u; half_size > 0u; half_size /= 2u) {
    if (lid < half_size) partial[lid] += partial[lid + half_size];
    barrier();
  }
}

// f(x, y) with u = y - theta1, v = x - theta0, and its derivative df/dy.
float taylor_f(float u, float v) {
  return u * (p.theta[0] + u * (p.theta[1] + u * p.theta[2]) +
              v * (p.theta[3] + p.theta[4] * u + p.theta[5] * v));
}
float taylor_df(float u, float v) {
  return p.theta[0] + u * (2.0 * p.theta[1] + 3.0 * p.theta[2] * u) +
         v * (p.theta[3] + 2.0 * p.theta[4] * u + p.theta[5] * v);
}

void main() {
  uint row = flat_workgroup();
  if (row >= p.rows) return; // uniform across the workgroup: barriers below stay legal
  uint lid = gl_LocalInvocationID.x;
  uint n = p.n;
  uint base = row * n;
  uint label = labels[row];

  if (label >= n) { // padding row (uniform): zeros only
    if (lid == 0u) {
      stats[row] = 0.0;
      stats[p.rows + row] = 0.0;
      stats[2u * p.rows + row] = 0.0;
    }
    if (GRAD)
      for (uint j = lid; j < n; j += gl_WorkGroupSize.x) dz[base + j] = 0.0;
    return;
  }

  // 1. max and argmax (the first maximum on ties; NaNs never win)
  float m = uintBitsToFloat(0xff800000u); // -infinity
  uint arg = n;
  for (uint j = lid; j < n; j += gl_WorkGroupSize.x) {
    float v = z[base + j];
    if (v > m) {
      m = v;
      arg = j;
    }
  }
  max_value[lid] = m;
  max_index[lid] = arg;
  barrier();
  for (uint half_size = gl_WorkGroupSize.x / 2u; half_size > 0u; half_size /= 2u) {
    if (lid < half_size) {
      float mo = max_value[lid + half_size];
      uint ao = max_index[lid + half_size];
      if (mo > max_value[lid] || (mo == max_value[lid] && ao < max_index[lid])) {
        max_value[lid] = mo;
        max_index[lid] = ao;
      }
    }
    barrier();
  }
  m = max_value[0];
  arg = max_index[0];

  // 2. s = sum exp(z_j - m) and sum (z_j - m) (for label smoothing)
  vec2 acc = vec2(0.0);
  for (uint j = lid; j < n; j += gl_WorkGroupSize.x) {
    float d = z[base + j] - m;
    acc += vec2(exp(d), d);
  }
  partial[lid] = acc;
  sum_partials(lid);
  float s = partial[0].x, sum_d = partial[0].y;
  float log_s = log(s);
  float d_label = z[base + label] - m;
  float y_label = exp(d_label) / s;

  float loss;
  float dot_y_df = 0.0; // TaylorGLO: sum_j y_j f'_j
  if (KIND == 0u) {
    loss = log_s - d_label;
  } else if (KIND == 1u) {
    // -sum_j t_j log y_j with t = (1 - alpha) x + alpha / n, and sum_j t_j = 1
    loss = log_s - ((1.0 - p.alpha) * d_label + p.alpha / float(n) * sum_d);
  } else {
    barrier(); // everyone has read partial[0]
    acc = vec2(0.0);
    for (uint j = lid; j < n; j += gl_WorkGroupSize.x) {
      float y = exp(z[base + j] - m) / s;
      float u = y - p.theta[7], v = (j == label ? 1.0 : 0.0) - p.theta[6];
      acc += vec2(taylor_f(u, v), y * taylor_df(u, v));
    }
    partial[lid] = acc;
    sum_partials(lid);
    loss = -partial[0].x;
    dot_y_df = partial[0].y;
  }

  if (lid == 0u) {
    stats[row] = loss;
    stats[p.rows + row] = arg == label ? 1.0 : 0.0;
    stats[2u * p.rows + row] = y_label;
  }
  if (!GRAD) return;
  for (uint j = lid; j < n; j += gl_WorkGroupSize.x) {
    float y = exp(z[base + j] - m) / s;
    float x = j == label ? 1.0 : 0.0;
    float g;
    if (KIND == 0u) g = y - x;
    else if (KIND == 1u) g = y - ((1.0 - p.alpha) * x + p.alpha / float(n));
    else g = -y * (taylor_df(y - p.theta[7], x - p.theta[6]) - dot_y_df);
    dz[base + j] = g * p.inv_valid;
  }
}
