/* client.h — SmartRedis 0.6.1 C++ API (client); in C it declares nothing. */
#ifndef SMARTREDIS_CLIENT_H
#define SMARTREDIS_CLIENT_H
#include "sr_enums.h"
#ifdef __cplusplus
/* C++ declarations follow in the next revision */
#endif
#endif
