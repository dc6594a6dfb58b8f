#version 450
// Batch-norm statistics, second pass: one invocation per channel merges the chunks' (mean, M2)
// in chunk order by Chan et al.'s pairwise formula (exact in exact arithmetic, and free of
// cancellation), then writes the saved mean and invstd = 1 / sqrt(var + eps) with the biased
// variance, and moves the running estimates toward the batch's (PyTorch's convention:
// r = (1 - momentum) * r + momentum * statistic, with the unbiased variance M2 / (M - 1)).
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer Partial { vec2 partial[]; };
layout(set = 0, binding = 1) writeonly buffer SaveMean { float save_mean[]; };
layout(set = 0, binding = 2) writeonly buffer SaveInvstd { float save_invstd[]; };
layout(set = 0, binding = 3) buffer RunningMean { float running_mean[]; };
layout(set = 0, binding = 4) buffer RunningVar { float running_var[]; };
layout(push_constant) uniform Push {
  uint C, M, chunk, chunks;
  float momentum, eps;
} p;

void main() {
  uint c = flat_invocation();
  if (c >= p.C) return;
  float mean = 0.0, m2 = 0.0, count = 0.0;
  for (uint k = 0u; k < p.chunks; k++) {
    vec2 b = partial[c * p.chunks + k];
    float nb = float(min(p.chunk, p.M - k * p.chunk));
    float n = count + nb;
    float delta = b.x - mean;
    mean += delta * (nb / n);
    m2 += b.y + delta * delta * count * (nb / n);
    count = n;
  }
  float var = m2 / float(p.M);
  save_mean[c] = mean;
  save_invstd[c] = 1.0 / sqrt(var + p.eps);
  float unbiased = m2 / float(p.M - 1u);
  running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * mean;
  running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * unbiased;
}
