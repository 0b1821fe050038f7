/* c_logger.h — SmartRedis 0.6.1 C logging functions. Lines go to SR_LOG_FILE (default: standard
 * output) when SR_LOG_LEVEL (QUIET, INFO, DEBUG, DEVELOPER; default INFO) is at least the
 * level given. In C, log_data, log_warning, log_error (and the _string forms) name the
 * exception-free functions below. */
#ifndef SMARTREDIS_C_LOGGER_H
#define SMARTREDIS_C_LOGGER_H

#include <stdlib.h>
#include "sr_enums.h"
#include "srobject.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef __cplusplus
#define log_data log_data_noexcept
#define log_warning log_warning_noexcept
#define log_error log_error_noexcept
#define log_data_string log_data_noexcept_string
#define log_warning_string log_warning_noexcept_string
#define log_error_string log_error_noexcept_string
#endif

/* context: a client, dataset or log context handle */
void log_data_noexcept(const void* context, SRLoggingLevel level, const char* data,
                       size_t data_len);
void log_warning_noexcept(const void* context, SRLoggingLevel level, const char* data,
                          size_t data_len);
void log_error_noexcept(const void* context, SRLoggingLevel level, const char* data,
                        size_t data_len);
/* context: a context name given as a string */
void log_data_noexcept_string(const char* context, size_t context_len, SRLoggingLevel level,
                              const char* data, size_t data_len);
void log_warning_noexcept_string(const char* context, size_t context_len, SRLoggingLevel level,
                                 const char* data, size_t data_len);
void log_error_noexcept_string(const char* context, size_t context_len, SRLoggingLevel level,
                               const char* data, size_t data_len);

#ifdef __cplusplus
}
#endif
#endif /* SMARTREDIS_C_LOGGER_H */
