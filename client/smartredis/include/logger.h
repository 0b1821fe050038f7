/* logger.h — SmartRedis 0.6.1 C++ API (logger); in C it declares nothing. */
#ifndef SMARTREDIS_LOGGER_H
#define SMARTREDIS_LOGGER_H
#include "sr_enums.h"
#include "c_logger.h"
#ifdef __cplusplus
/* C++ declarations follow in the next revision */
#endif
#endif
