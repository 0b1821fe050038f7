/* c_logcontext.h — SmartRedis 0.6.1 C log contexts (a named context for log lines). */
#ifndef SMARTREDIS_C_LOGCONTEXT_H
#define SMARTREDIS_C_LOGCONTEXT_H

#include <stdlib.h>
#include "logcontext.h"
#include "sr_enums.h"
#include "srexception.h"

#ifdef __cplusplus
extern "C" {
#endif

SRError SmartRedisCLogContext(const char* context, const size_t context_length,
                              void** new_logcontext);
/* *logcontext is set to NULL. */
SRError DeallocateLogContext(void** logcontext);

#ifdef __cplusplus
}
#endif
#endif /* SMARTREDIS_C_LOGCONTEXT_H */
