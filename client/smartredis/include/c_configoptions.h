/* c_configoptions.h — the SmartRedis 0.6.1 C ConfigOptions API on the eddylearn client. */
#ifndef SMARTREDIS_C_CONFIGOPTIONS_H
#define SMARTREDIS_C_CONFIGOPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sr_enums.h"
#include "srexception.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options read from the environment; a non-empty db_suffix makes every variable name
 * NAME_<db_suffix>. The object is released with DeallocateConfigOptions (eddylearn) — a
 * ConfigOptions handed to CreateClient may be released right after. */
SRError create_configoptions_from_environment(const char* db_suffix,
                                              const size_t db_suffix_length,
                                              void** new_configoptions);
/* SRKeyError when the option is not set. */
SRError get_integer_option(void* c_cfgopts, const char* option_name, size_t option_name_len,
                           int64_t* result);
/* *result owned by the ConfigOptions object. */
SRError get_string_option(void* c_cfgopts, const char* option_name, size_t option_name_len,
                          char** result, size_t* result_len);
SRError is_configured(void* c_cfgopts, const char* option_name, size_t option_name_len,
                      bool* cfg_result);
SRError override_integer_option(void* c_cfgopts, const char* option_name,
                                size_t option_name_len, int64_t value);
SRError override_string_option(void* c_cfgopts, const char* option_name,
                               size_t option_name_len, const char* value, size_t value_len);
/* eddylearn addition (SmartRedis's C API has no destructor for it): release the object;
 * *c_cfgopts is set to NULL. */
SRError DeallocateConfigOptions(void** c_cfgopts);

#ifdef __cplusplus
}
#endif
#endif /* SMARTREDIS_C_CONFIGOPTIONS_H */
