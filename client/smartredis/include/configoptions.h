/* configoptions.h — SmartRedis 0.6.1 ConfigOptions (C++): settings read from the environment,
 * optionally with a suffix (NAME_<suffix>), and overridden per object. */
#ifndef SMARTREDIS_CONFIGOPTIONS_H
#define SMARTREDIS_CONFIGOPTIONS_H

#include "sr_enums.h"

#ifdef __cplusplus
#include <cstdint>
#include <memory>
#include <string>

namespace SmartRedis {

/* where the options come from */
typedef enum { cs_envt = 0 } cfgSrc;

class ConfigOptions {
  public:
    ConfigOptions(cfgSrc source, const std::string& string);
    ConfigOptions(const ConfigOptions& other) = delete;
    ConfigOptions& operator=(const ConfigOptions& other) = delete;
    ConfigOptions(ConfigOptions&& other) noexcept;
    ConfigOptions& operator=(ConfigOptions&& other) noexcept;
    virtual ~ConfigOptions();

    /* A copy with the same source and overrides. */
    std::unique_ptr<ConfigOptions> clone();
    /* Options from the environment; a non-empty db_suffix reads NAME_<db_suffix>. */
    static std::unique_ptr<ConfigOptions> create_from_environment(const std::string& db_suffix);
    static std::unique_ptr<ConfigOptions> create_from_environment(const char* db_suffix);

    /* KeyException when the option is not set. */
    int64_t get_integer_option(const std::string& option_name);
    std::string get_string_option(const std::string& option_name);
    bool is_configured(const std::string& option_name);
    void override_integer_option(const std::string& option_name, int64_t value);
    void override_string_option(const std::string& option_name, const std::string& value);

    /* The C handle (c_configoptions.h) this object wraps. */
    void* c_handle() const { return _handle; }

  private:
    void* _handle;
};

}  // namespace SmartRedis
#endif /* __cplusplus */
#endif /* SMARTREDIS_CONFIGOPTIONS_H */
