/* keys.c — database keys of tensors, datasets, lists and models, and the ensemble prefixes. */
#define _GNU_SOURCE
#include "elc_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* keys and prefixes                                                                          */
/* ------------------------------------------------------------------------------------------ */

static const char *prefix(elc_client *c, int put)
{
    if (put) return c->put_prefix;
    if (c->n_get == 0) return "";
    return c->get_prefixes[c->cur_get];
}

char *elc_key_tensor(elc_client *c, const char *name, int put)
{
    return elc_strcat3(c->use_tensor_prefix ? prefix(c, put) : "", name, "");
}

char *elc_key_dataset(elc_client *c, const char *name, int put)
{
    const char *p = c->use_dataset_prefix ? prefix(c, put) : "";
    size_t lp = strlen(p), ln = strlen(name);
    char *s = malloc(lp + ln + 3);
    if (!s) return NULL;
    memcpy(s, p, lp);
    s[lp] = '{';
    memcpy(s + lp + 1, name, ln);
    s[lp + 1 + ln] = '}';
    s[lp + 2 + ln] = '\0';
    return s;
}

char *elc_key_list(elc_client *c, const char *name, int put)
{
    return elc_strcat3(c->use_list_prefix ? prefix(c, put) : "", name, "");
}

char *elc_key_model(elc_client *c, const char *name, int put)
{
    return elc_strcat3(c->use_model_prefix ? prefix(c, put) : "", name, "");
}

elc_status elc_use_tensor_ensemble_prefix(elc_client *c, bool use)
{
    if (!c) return elc_err(ELC_ERR_PARAMETER, "client is NULL");
    c->use_tensor_prefix = use;
    return ELC_OK;
}
elc_status elc_use_dataset_ensemble_prefix(elc_client *c, bool use)
{
    if (!c) return elc_err(ELC_ERR_PARAMETER, "client is NULL");
    c->use_dataset_prefix = use;
    return ELC_OK;
}
elc_status elc_use_list_ensemble_prefix(elc_client *c, bool use)
{
    if (!c) return elc_err(ELC_ERR_PARAMETER, "client is NULL");
    c->use_list_prefix = use;
    return ELC_OK;
}
elc_status elc_use_model_ensemble_prefix(elc_client *c, bool use)
{
    if (!c) return elc_err(ELC_ERR_PARAMETER, "client is NULL");
    c->use_model_prefix = use;
    return ELC_OK;
}

elc_status elc_set_data_source(elc_client *c, const char *source)
{
    if (!c || !source) return elc_err(ELC_ERR_PARAMETER, "client or source is NULL");
    size_t ls = strlen(source);
    for (size_t i = 0; i < c->n_get; i++) {
        const char *p = c->get_prefixes[i];
        if (strlen(p) == ls + 1 && strncmp(p, source, ls) == 0) {
            c->cur_get = i;
            return ELC_OK;
        }
    }
    return elc_err(ELC_ERR_RUNTIME, "Client error: data source %s could not be found during client initialization.", source);
}

char *elc_tagged_key(const char *tag, size_t tagn, const char *key, const char *suffix, size_t *len)
{
    size_t lk = strlen(key), ls = strlen(suffix), n = tagn + lk + ls + 3;
    char *s = malloc(n + 1);
    if (!s) return NULL;
    char *q = s;
    *q++ = '{';
    memcpy(q, tag, tagn), q += tagn;
    *q++ = '}', *q++ = '.';
    memcpy(q, key, lk), q += lk;
    memcpy(q, suffix, ls + 1); /* with the terminating NUL */
    if (len) *len = n;
    return s;
}
