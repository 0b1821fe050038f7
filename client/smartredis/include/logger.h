/* logger.h — SmartRedis 0.6.1 logging: in C the functions of c_logger.h; in C++ also
 * SmartRedis::log_data, log_warning and log_error with a context name. Lines are written to
 * SR_LOG_FILE (default: standard output) as context@HH-MM-SS:text when SR_LOG_LEVEL (QUIET,
 * INFO, DEBUG, DEVELOPER; default INFO) is at least the level given. */
#ifndef SMARTREDIS_LOGGER_H
#define SMARTREDIS_LOGGER_H

#include "sr_enums.h"
#include "c_logger.h"
#include "srobject.h"

#ifdef __cplusplus
#include <string>

namespace SmartRedis {

void log_data(const std::string& context, SRLoggingLevel level, const std::string& data);
void log_warning(const std::string& context, SRLoggingLevel level, const std::string& data);
void log_error(const std::string& context, SRLoggingLevel level, const std::string& data);

/* the same against a client, dataset or log context (its context name) */
inline void log_data(const SRObject* context, SRLoggingLevel level, const std::string& data)
{
    context->log_data(level, data);
}
inline void log_warning(const SRObject* context, SRLoggingLevel level, const std::string& data)
{
    context->log_warning(level, data);
}
inline void log_error(const SRObject* context, SRLoggingLevel level, const std::string& data)
{
    context->log_error(level, data);
}

}  // namespace SmartRedis
#endif /* __cplusplus */
#endif /* SMARTREDIS_LOGGER_H */
