/* dataset.h — SmartRedis 0.6.1 C++ API (dataset); in C it declares nothing. */
#ifndef SMARTREDIS_DATASET_H
#define SMARTREDIS_DATASET_H
#include "sr_enums.h"
#ifdef __cplusplus
/* C++ declarations follow in the next revision */
#endif
#endif
