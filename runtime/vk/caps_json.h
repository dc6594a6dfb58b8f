/* The device block written into every JSON result: enough to tell which device, driver and
 * limits produced a number. */
#ifndef RP_CAPS_JSON_H
#define RP_CAPS_JSON_H

#include <cjson/cJSON.h>

#include "vk/caps.h"

cJSON *rp_caps_to_json(const rp_caps *caps);

#endif
