/* Parameter initialization from a seed. */
#ifndef RP_INIT_H
#define RP_INIT_H

#include "nn/net.h"

/* Each parameter by its rp_init (net.h): PyTorch's uniform default for conv and linear layers
 * unless the model asked for He et al.'s normal, constants for batch norm (weight 1, bias 0,
 * running mean 0, variance 1); momentum buffers zero. Parameter i draws from its own stream
 * (seed, i), so adding a layer does not change the others' values. */
rp_status rp_net_init_params(rp_net *net, uint64_t seed);

/* A 64-bit mix of (seed, stream): the seed of independent generators derived from one seed. */
uint64_t rp_seed_mix(uint64_t seed, uint64_t stream);

#endif
