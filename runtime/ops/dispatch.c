#include "ops/dispatch.h"

rp_status rp_grid_1d(const rp_caps *caps, int64_t invocations, uint32_t workgroup,
                     uint32_t groups[3]) {
  if (invocations > (int64_t)UINT32_MAX)
    return rp_fail(RP_ERR_TOO_LARGE, "%lld elements in one dispatch; at most %u",
                   (long long)invocations, UINT32_MAX);
  uint64_t total = ((uint64_t)invocations + workgroup - 1) / workgroup;
  uint64_t max_x = caps->max_workgroup_count[0];
  groups[0] = (uint32_t)(total < max_x ? total : max_x);
  groups[1] = (uint32_t)((total + groups[0] - 1) / (groups[0] ? groups[0] : 1));
  groups[2] = 1;
  if (groups[1] > caps->max_workgroup_count[1])
    return rp_fail(RP_ERR_TOO_LARGE, "%lld elements need more workgroups than the device allows",
                   (long long)invocations);
  return RP_OK;
}
