/* Parameter initialization from a seed, as PyTorch's defaults do it. */
#ifndef RP_INIT_H
#define RP_INIT_H

#include "nn/net.h"

/* Conv and linear weights and biases uniform in ±1/sqrt(fan_in) (kaiming_uniform with
 * a = sqrt(5), PyTorch's reset_parameters), the rest constants (batch norm: weight 1, bias 0,
 * running mean 0, variance 1); momentum buffers zero. Parameter i draws from its own stream
 * (seed, i), so adding a layer does not change the others' values. */
rp_status rp_net_init_params(rp_net *net, uint64_t seed);

/* A 64-bit mix of (seed, stream): the seed of independent generators derived from one seed. */
uint64_t rp_seed_mix(uint64_t seed, uint64_t stream);

#endif
