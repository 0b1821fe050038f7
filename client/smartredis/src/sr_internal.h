/* sr_internal.h — internals of the SmartRedis-compatible C API (not installed). The C handles
 * (void*) point at these structs; each starts with an sr_object so that the logging functions
 * can tell a client, a dataset and a log context apart and find their context name. */
#ifndef SR_INTERNAL_H
#define SR_INTERNAL_H

#include "elc_internal.h"
#include "sr_enums.h"
#include "srexception.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { SR_MAGIC_CLIENT = 0x5352434c, SR_MAGIC_DATASET = 0x53524453, SR_MAGIC_LOGCONTEXT = 0x53524c43,
       SR_MAGIC_CONFIG = 0x5352434f };

typedef struct sr_object {
    uint32_t magic;
    char *lname;          /* logging context name */
} sr_object;

/* memory handed to the caller that stays owned by an object until it is destroyed */
typedef struct sr_keep {
    void **p;
    size_t n, cap;
} sr_keep;

typedef struct sr_client {
    sr_object obj;
    elc_client *c;
    sr_keep keep;
} sr_client;

typedef struct sr_dataset {
    sr_object obj;
    elc_dataset *ds;
    sr_keep keep;
} sr_dataset;

typedef struct sr_logcontext {
    sr_object obj;
} sr_logcontext;

typedef struct sr_option {
    char *name;
    int is_int;
    int64_t ival;
    char *sval;
} sr_option;

typedef struct sr_config {
    uint32_t magic;
    char *suffix;         /* "" for none */
    sr_option *ov;        /* overrides */
    size_t nov, capov;
    sr_keep keep;
} sr_config;

/* ---- errors ---- */
/* Record where the failing call was made (SRGetLastErrorLocation) and pass the status through. */
SRError sr_fail(SRError code, const char *where);
/* Set an error message and its location. */
SRError sr_error(SRError code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Finish a call: a failure gets its location recorded. */
#define SR_RET(st, where) ((st) ? sr_fail((SRError)(st), (where)) : SRNoError)

/* ---- retained memory ---- */
void *sr_keep_alloc(sr_keep *k, size_t n);   /* zeroed; NULL when out of memory */
char *sr_keep_strndup(sr_keep *k, const char *s, size_t n);
void sr_keep_free(sr_keep *k);

/* ---- strings ---- */
/* NUL-terminated copy of (s, n) (malloc'd) */
char *sr_strndup(const char *s, size_t n);

/* ---- tensors and layouts ---- */
/* The elc layout for a contiguous SRMemoryLayout; -1 for nested layouts; -2 invalid. */
int sr_layout(SRMemoryLayout l);
size_t sr_count(const size_t *dims, size_t n);
/* Copy between a nested pointer tree (innermost arrays contiguous) and row-major data. */
void sr_nested_gather(void *dst, const void *nested, const size_t *dims, size_t nd, size_t es);
void sr_nested_scatter(void *nested, const void *src, const size_t *dims, size_t nd, size_t es);
/* Lay out row-major data (dims) in the requested layout in memory retained by k; *out is
 * the data pointer the caller receives (a pointer tree for the nested layout). */
SRError sr_layout_out(sr_keep *k, const void *rowmajor, const size_t *dims, size_t nd,
                      size_t es, SRMemoryLayout layout, void **out, const char *where);

/* ---- logging ---- */
SRLoggingLevel sr_log_level(void);
void sr_log(const char *context, SRLoggingLevel level, const char *kind, const char *data,
            size_t len);
const char *sr_object_context(const void *obj);

/* ---- configuration ---- */
/* Value of option name from overrides, else the environment (NAME_suffix); NULL when unset. */
const char *sr_config_string(sr_config *cfg, const char *name);

/* ---- C++ support ---- */
/* New dataset handle owning ds (taken). NULL when out of memory. */
sr_dataset *sr_dataset_wrap(elc_dataset *ds);
/* Deep copy of a dataset handle (NULL: out of memory). */
sr_dataset *sr_dataset_clone(const sr_dataset *d);

#ifdef __cplusplus
}
#endif
#endif
