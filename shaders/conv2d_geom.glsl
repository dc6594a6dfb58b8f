// The geometry of a convolution as three specialization constants, starting at constant id
// GEOM_ID (defined by the including shader), so that the index arithmetic divides by
// constants, which the compiler turns into multiplications: lavapipe runs an integer division
// by a variable as a scalar loop over the SIMD lanes, and GPUs as a long instruction sequence.
// One pipeline per convolution shape: a network has a handful.
layout(constant_id = GEOM_ID) const uint GEOM_HW = 0x00010001u;     // H | W << 16
layout(constant_id = GEOM_ID + 1) const uint GEOM_PQ = 0x00010001u; // P | Q << 16
layout(constant_id = GEOM_ID + 2) const uint GEOM_KERNEL = 0x00010101u; // R | S << 8 | stride << 16 | pad << 24

const uint H = GEOM_HW & 0xffffu;
const uint W = GEOM_HW >> 16;
const uint P = GEOM_PQ & 0xffffu;
const uint Q = GEOM_PQ >> 16;
const uint R = GEOM_KERNEL & 0xffu;
const uint S = (GEOM_KERNEL >> 8) & 0xffu;
const uint STRIDE = (GEOM_KERNEL >> 16) & 0xffu;
const uint PAD = GEOM_KERNEL >> 24;
const uint HW = H * W;
const uint PQ = P * Q;
const uint RS = R * S;
