/* logcontext.h — SmartRedis 0.6.1 C++ API (logcontext); in C it declares nothing. */
#ifndef SMARTREDIS_LOGCONTEXT_H
#define SMARTREDIS_LOGCONTEXT_H
#include "sr_enums.h"
#ifdef __cplusplus
/* C++ declarations follow in the next revision */
#endif
#endif
