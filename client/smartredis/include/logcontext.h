/* logcontext.h — SmartRedis 0.6.1 log contexts: a named context for log lines (C++ class
 * SmartRedis::LogContext; C functions in c_logcontext.h). */
#ifndef SMARTREDIS_LOGCONTEXT_H
#define SMARTREDIS_LOGCONTEXT_H

#include "sr_enums.h"
#include "srobject.h"

#ifdef __cplusplus
#include <string>

namespace SmartRedis {

class LogContext : public SRObject {
  public:
    explicit LogContext(const std::string& context);
    LogContext(const LogContext& other);
    LogContext& operator=(const LogContext& other);
    virtual ~LogContext();

  protected:
    const void* _c_context() const override { return _handle; }

  private:
    void* _handle;
};

}  // namespace SmartRedis
#endif /* __cplusplus */
#endif /* SMARTREDIS_LOGCONTEXT_H */
