/* configoptions.h — SmartRedis 0.6.1 C++ API (configoptions); in C it declares nothing. */
#ifndef SMARTREDIS_CONFIGOPTIONS_H
#define SMARTREDIS_CONFIGOPTIONS_H
#include "sr_enums.h"
#ifdef __cplusplus
/* C++ declarations follow in the next revision */
#endif
#endif
