/* c_configoptions.c — SmartRedis's ConfigOptions in C: options from the environment (optionally
 * suffixed) with per-object overrides. */
#define _GNU_SOURCE
#include "sr_internal.h"
#include "c_configoptions.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sr_config *cfg_of(void *p, const char *where, SRError *st)
{
    sr_config *c = p;
    if (!c || c->magic != SR_MAGIC_CONFIG) {
        *st = sr_error(SRParameterError, where, "The handle is not a ConfigOptions object");
        return NULL;
    }
    return c;
}

SRError create_configoptions_from_environment(const char *db_suffix, const size_t db_suffix_length,
                                              void **new_configoptions)
{
    elc_err_clear();
    const char *w = "create_configoptions_from_environment";
    if (!new_configoptions) return sr_error(SRParameterError, w, "new_configoptions is NULL");
    sr_config *c = calloc(1, sizeof *c);
    if (!c || !(c->suffix = sr_strndup(db_suffix ? db_suffix : "", db_suffix ? db_suffix_length : 0))) {
        free(c);
        return sr_error(SRBadAllocError, w, "out of memory");
    }
    c->magic = SR_MAGIC_CONFIG;
    *new_configoptions = c;
    return SRNoError;
}

SRError DeallocateConfigOptions(void **c_cfgopts)
{
    elc_err_clear();
    if (!c_cfgopts) return sr_error(SRParameterError, "DeallocateConfigOptions", "c_cfgopts is NULL");
    sr_config *c = *c_cfgopts;
    if (c) {
        SRError st;
        if (!cfg_of(c, "DeallocateConfigOptions", &st)) return st;
        for (size_t i = 0; i < c->nov; i++) {
            free(c->ov[i].name);
            free(c->ov[i].sval);
        }
        free(c->ov);
        free(c->suffix);
        sr_keep_free(&c->keep);
        c->magic = 0;
        free(c);
    }
    *c_cfgopts = NULL;
    return SRNoError;
}

static sr_option *find_ov(sr_config *c, const char *name)
{
    for (size_t i = 0; i < c->nov; i++)
        if (strcmp(c->ov[i].name, name) == 0) return &c->ov[i];
    return NULL;
}

/* the environment variable NAME or NAME_suffix */
static const char *env_of(sr_config *c, const char *name)
{
    if (!c->suffix[0]) return getenv(name);
    char full[512];
    snprintf(full, sizeof full, "%s_%s", name, c->suffix);
    return getenv(full);
}

const char *sr_config_string(sr_config *c, const char *name)
{
    sr_option *o = find_ov(c, name);
    if (o) {
        if (!o->is_int) return o->sval;
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)o->ival);
        char *s = sr_keep_strndup(&c->keep, buf, strlen(buf));
        return s;
    }
    const char *v = env_of(c, name);
    return (v && *v) ? v : NULL;
}

SRError get_integer_option(void *c_cfgopts, const char *option_name, size_t option_name_len,
                           int64_t *result)
{
    elc_err_clear();
    const char *w = "get_integer_option";
    SRError st;
    sr_config *c = cfg_of(c_cfgopts, w, &st);
    if (!c) return st;
    if (!option_name || !result) return sr_error(SRParameterError, w, "option_name or result is NULL");
    char *name = sr_strndup(option_name, option_name_len);
    if (!name) return sr_error(SRBadAllocError, w, "out of memory");
    sr_option *o = find_ov(c, name);
    st = SRNoError;
    if (o && o->is_int) *result = o->ival;
    else {
        const char *v = o ? o->sval : env_of(c, name);
        if (!v || !*v) st = sr_error(SRKeyError, w, "Configuration option %s is not set", name);
        else {
            const char *p = v;
            if (*p == '-' || *p == '+') p++;
            int ok = *p != '\0';
            for (; *p; p++) ok = ok && isdigit((unsigned char)*p);
            if (!ok) st = sr_error(SRParameterError, w, "The value of %s, %s, is not an integer", name, v);
            else *result = strtoll(v, NULL, 10);
        }
    }
    free(name);
    return st;
}

SRError get_string_option(void *c_cfgopts, const char *option_name, size_t option_name_len,
                          char **result, size_t *result_len)
{
    elc_err_clear();
    const char *w = "get_string_option";
    SRError st;
    sr_config *c = cfg_of(c_cfgopts, w, &st);
    if (!c) return st;
    if (!option_name || !result || !result_len) return sr_error(SRParameterError, w, "option_name, result or result_len is NULL");
    char *name = sr_strndup(option_name, option_name_len);
    if (!name) return sr_error(SRBadAllocError, w, "out of memory");
    const char *v = sr_config_string(c, name);
    st = SRNoError;
    if (!v) st = sr_error(SRKeyError, w, "Configuration option %s is not set", name);
    else {
        char *s = sr_keep_strndup(&c->keep, v, strlen(v));
        if (!s) st = sr_error(SRBadAllocError, w, "out of memory");
        else { *result = s; *result_len = strlen(s); }
    }
    free(name);
    return st;
}

SRError is_configured(void *c_cfgopts, const char *option_name, size_t option_name_len,
                      bool *cfg_result)
{
    elc_err_clear();
    const char *w = "is_configured";
    SRError st;
    sr_config *c = cfg_of(c_cfgopts, w, &st);
    if (!c) return st;
    if (!option_name || !cfg_result) return sr_error(SRParameterError, w, "option_name or cfg_result is NULL");
    char *name = sr_strndup(option_name, option_name_len);
    if (!name) return sr_error(SRBadAllocError, w, "out of memory");
    *cfg_result = sr_config_string(c, name) != NULL;
    free(name);
    return SRNoError;
}

static SRError set_ov(sr_config *c, const char *w, const char *option_name, size_t option_name_len,
                      int is_int, int64_t ival, const char *sval, size_t slen)
{
    if (!option_name || (!is_int && !sval)) return sr_error(SRParameterError, w, "option_name or value is NULL");
    char *name = sr_strndup(option_name, option_name_len);
    if (!name) return sr_error(SRBadAllocError, w, "out of memory");
    sr_option *o = find_ov(c, name);
    if (!o) {
        if (c->nov == c->capov) {
            size_t nc = c->capov ? 2 * c->capov : 8;
            sr_option *n = realloc(c->ov, nc * sizeof *n);
            if (!n) { free(name); return sr_error(SRBadAllocError, w, "out of memory"); }
            c->ov = n;
            c->capov = nc;
        }
        o = &c->ov[c->nov++];
        memset(o, 0, sizeof *o);
        o->name = name;
    } else {
        free(name);
    }
    free(o->sval);
    o->sval = NULL;
    o->is_int = is_int;
    o->ival = ival;
    if (!is_int && !(o->sval = sr_strndup(sval, slen))) return sr_error(SRBadAllocError, w, "out of memory");
    return SRNoError;
}

SRError override_integer_option(void *c_cfgopts, const char *option_name, size_t option_name_len,
                                int64_t value)
{
    elc_err_clear();
    SRError st;
    sr_config *c = cfg_of(c_cfgopts, "override_integer_option", &st);
    if (!c) return st;
    return set_ov(c, "override_integer_option", option_name, option_name_len, 1, value, NULL, 0);
}

SRError override_string_option(void *c_cfgopts, const char *option_name, size_t option_name_len,
                               const char *value, size_t value_len)
{
    elc_err_clear();
    SRError st;
    sr_config *c = cfg_of(c_cfgopts, "override_string_option", &st);
    if (!c) return st;
    return set_ov(c, "override_string_option", option_name, option_name_len, 0, 0, value, value_len);
}
