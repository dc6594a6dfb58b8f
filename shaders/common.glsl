// Shared by every shader: the version, the workgroup size as specialization constant 0, and
// the flat index of an invocation in a dispatch that may be 2-D because one dimension of
// workgroups is capped (65,535 on many devices).
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;

uint flat_workgroup() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

uint flat_invocation() { return flat_workgroup() * gl_WorkGroupSize.x + gl_LocalInvocationID.x; }

// The workgroup's x in a 2-D grid whose x the host spread over x and z where x alone would
// exceed the device's limit (rp_grid_fold_x). The last z - 1 workgroups may lie past the grid.
uint folded_workgroup_x() { return gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

// NaN by its bits. Without the SignedZeroInfNanPreserve execution mode a driver may assume no
// operand is NaN, fold isnan() away and turn compares into min/max (which drop NaN on NVIDIA);
// integer tests on the bits keep their meaning everywhere.
bool is_nan(float v) { return (floatBitsToUint(v) & 0x7fffffffu) > 0x7f800000u; }
bvec4 is_nan(vec4 v) { return greaterThan(floatBitsToUint(v) & 0x7fffffffu, uvec4(0x7f800000u)); }
