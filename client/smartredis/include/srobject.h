/* srobject.h — the common base of SmartRedis objects that can be a logging context (client,
 * dataset, log context). In C such an object is an opaque void* handle. */
#ifndef SMARTREDIS_SROBJECT_H
#define SMARTREDIS_SROBJECT_H

#include "sr_enums.h"

#ifdef __cplusplus
#include <string>

namespace SmartRedis {

/* Anything that logs under a context name. */
class SRObject {
  public:
    explicit SRObject(const std::string& logging_name) : _lname(logging_name) {}
    virtual ~SRObject() = default;
    /* log text when the configured level (SR_LOG_LEVEL) is at least level */
    virtual void log_data(SRLoggingLevel level, const std::string& data) const;
    virtual void log_warning(SRLoggingLevel level, const std::string& data) const;
    virtual void log_error(SRLoggingLevel level, const std::string& data) const;
    /* the context name written in each log line */
    virtual std::string get_context() const { return _lname; }

  protected:
    /* the C handle (client, dataset or log context) logging goes through */
    virtual const void* _c_context() const = 0;
    std::string _lname;
};

}  // namespace SmartRedis
#endif /* __cplusplus */
#endif /* SMARTREDIS_SROBJECT_H */
