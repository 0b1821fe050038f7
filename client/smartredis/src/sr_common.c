/* sr_common.c — SmartRedis-compatible C API: last error and its location, retained memory,
 * memory layouts, logging (SR_LOG_FILE, SR_LOG_LEVEL) and log contexts. */
#define _GNU_SOURCE
#include "sr_internal.h"
#include "c_logcontext.h"
#include "c_logger.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- errors --------------------------------------------------------------------------- */

static _Thread_local char g_where[256];

SRError sr_fail(SRError code, const char *where)
{
    snprintf(g_where, sizeof g_where, "%s", where ? where : "unavailable");
    return code;
}

SRError sr_error(SRError code, const char *where, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    elc_err((elc_status)code, "%s", msg);
    return sr_fail(code, where);
}

const char *SRGetLastError(void) { return elc_last_error(); }

const char *SRGetLastErrorLocation(void) { return elc_last_error()[0] ? g_where : ""; }

/* ---- retained memory ------------------------------------------------------------------ */

void *sr_keep_alloc(sr_keep *k, size_t n)
{
    if (k->n == k->cap) {
        size_t nc = k->cap ? 2 * k->cap : 8;
        void **p = realloc(k->p, nc * sizeof *p);
        if (!p) return NULL;
        k->p = p;
        k->cap = nc;
    }
    void *m = calloc(1, n ? n : 1);
    if (m) k->p[k->n++] = m;
    return m;
}

char *sr_keep_strndup(sr_keep *k, const char *s, size_t n)
{
    char *d = sr_keep_alloc(k, n + 1);
    if (d) memcpy(d, s, n);
    return d;
}

void sr_keep_free(sr_keep *k)
{
    for (size_t i = 0; i < k->n; i++) free(k->p[i]);
    free(k->p);
    k->p = NULL;
    k->n = k->cap = 0;
}

char *sr_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ---- layouts -------------------------------------------------------------------------- */

int sr_layout(SRMemoryLayout l)
{
    switch (l) {
    case SRMemLayoutContiguous: return ELC_LAYOUT_C;
    case SRMemLayoutFortranContiguous: return ELC_LAYOUT_FORTRAN;
    case SRMemLayoutNested: return -1;
    default: return -2;
    }
}

size_t sr_count(const size_t *dims, size_t n)
{
    size_t c = 1;
    for (size_t i = 0; i < n; i++) c *= dims[i];
    return c;
}

void sr_nested_gather(void *dst, const void *nested, const size_t *dims, size_t nd, size_t es)
{
    if (nd <= 1) {
        memcpy(dst, nested, (nd ? dims[0] : 1) * es);
        return;
    }
    size_t stride = sr_count(dims + 1, nd - 1) * es;
    void *const *p = nested;
    for (size_t i = 0; i < dims[0]; i++) sr_nested_gather((char *)dst + i * stride, p[i], dims + 1, nd - 1, es);
}

void sr_nested_scatter(void *nested, const void *src, const size_t *dims, size_t nd, size_t es)
{
    if (nd <= 1) {
        memcpy(nested, src, (nd ? dims[0] : 1) * es);
        return;
    }
    size_t stride = sr_count(dims + 1, nd - 1) * es;
    void **p = nested;
    for (size_t i = 0; i < dims[0]; i++) sr_nested_scatter(p[i], (const char *)src + i * stride, dims + 1, nd - 1, es);
}

/* Build the pointer tree over row-major data for dims[0..nd); returns the top array. */
static void *build_tree(sr_keep *k, char *data, const size_t *dims, size_t nd, size_t es)
{
    if (nd <= 1) return data;
    void **p = sr_keep_alloc(k, dims[0] * sizeof *p);
    if (!p) return NULL;
    size_t stride = sr_count(dims + 1, nd - 1) * es;
    for (size_t i = 0; i < dims[0]; i++) {
        p[i] = build_tree(k, data + i * stride, dims + 1, nd - 1, es);
        if (!p[i]) return NULL;
    }
    return p;
}

SRError sr_layout_out(sr_keep *k, const void *rowmajor, const size_t *dims, size_t nd,
                      size_t es, SRMemoryLayout layout, void **out, const char *where)
{
    size_t nbytes = sr_count(dims, nd) * es;
    int l = sr_layout(layout);
    if (l == -2) return sr_error(SRParameterError, where, "The memory layout %d is not supported", (int)layout);
    char *d = sr_keep_alloc(k, nbytes);
    if (!d) return sr_error(SRBadAllocError, where, "out of memory (%zu bytes)", nbytes);
    if (l == ELC_LAYOUT_FORTRAN) elc_c2f(d, rowmajor, dims, nd, es);
    else memcpy(d, rowmajor, nbytes);
    if (l == -1) {
        void *t = build_tree(k, d, dims, nd, es);
        if (!t) return sr_error(SRBadAllocError, where, "out of memory");
        *out = t;
    } else {
        *out = d;
    }
    return SRNoError;
}

/* ---- logging -------------------------------------------------------------------------- */

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_log_ready;
static SRLoggingLevel g_log_level = LLInfo;
static char *g_log_file;   /* NULL: standard output */

static void write_line(const char *context, const char *kind, const char *data, size_t len)
{
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%H-%M-%S", &tm);
    FILE *f = g_log_file ? fopen(g_log_file, "a") : stdout;
    if (!f) {  /* the file is no longer writable: fall back to the console */
        free(g_log_file);
        g_log_file = NULL;
        f = stdout;
    }
    fprintf(f, "%s@%s:%s%.*s\n", context, ts, kind, (int)len, data);
    if (f != stdout) fclose(f);
    else fflush(f);
}

/* Read SR_LOG_FILE and SR_LOG_LEVEL once (called with the lock held). */
static void configure(void)
{
    if (g_log_ready) return;
    g_log_ready = 1;
    const char *file = getenv("SR_LOG_FILE"), *level = getenv("SR_LOG_LEVEL");
    int bad_file = 0, bad_level = 0;
    if (file && *file) {
        FILE *f = fopen(file, "a");
        if (f) { fclose(f); g_log_file = strdup(file); }
        else bad_file = 1;
    }
    g_log_level = LLInfo;
    if (level && *level) {
        if (!strcasecmp(level, "quiet")) g_log_level = LLQuiet;
        else if (!strcasecmp(level, "info")) g_log_level = LLInfo;
        else if (!strcasecmp(level, "debug")) g_log_level = LLDebug;
        else if (!strcasecmp(level, "developer")) g_log_level = LLDeveloper;
        else bad_level = 1;
    }
    const char *lib = "SmartRedis Library";
    if (g_log_level >= LLInfo) {
        if (!file || !*file) {
            const char *m = "Environment variable SR_LOG_FILE is not set. Defaulting to stdout";
            write_line(lib, "WARNING: ", m, strlen(m));
        }
        if (!level || !*level) {
            const char *m = "Environment variable SR_LOG_LEVEL is not set. Defaulting to INFO";
            write_line(lib, "WARNING: ", m, strlen(m));
        }
        if (bad_file) {
            char m[600];
            snprintf(m, sizeof m, "Cannot write to file: %s", file);
            write_line(lib, "ERROR: ", m, strlen(m));
        }
        if (bad_level) {
            char m[600];
            snprintf(m, sizeof m, "Unrecognized logging level: %s", level);
            write_line(lib, "ERROR: ", m, strlen(m));
        }
    }
}

SRLoggingLevel sr_log_level(void)
{
    pthread_mutex_lock(&g_log_lock);
    configure();
    SRLoggingLevel l = g_log_level;
    pthread_mutex_unlock(&g_log_lock);
    return l;
}

void sr_log(const char *context, SRLoggingLevel level, const char *kind, const char *data,
            size_t len)
{
    pthread_mutex_lock(&g_log_lock);
    configure();
    if (level <= g_log_level && level != LLQuiet && g_log_level != LLQuiet && data)
        write_line(context ? context : "", kind, data, len);
    pthread_mutex_unlock(&g_log_lock);
}

const char *sr_object_context(const void *obj)
{
    const sr_object *o = obj;
    if (!o) return NULL;
    if (o->magic == SR_MAGIC_CLIENT || o->magic == SR_MAGIC_DATASET || o->magic == SR_MAGIC_LOGCONTEXT)
        return o->lname ? o->lname : "";
    return NULL;
}

static void log_obj(const void *context, SRLoggingLevel level, const char *kind, const char *data,
                    size_t len)
{
    const char *ctx = sr_object_context(context);
    if (!ctx) {
        sr_error(SRParameterError, "log_data", "The logging context is not a client, dataset or log context");
        return;
    }
    sr_log(ctx, level, kind, data, len);
}

void log_data_noexcept(const void *context, SRLoggingLevel level, const char *data, size_t data_len)
{
    log_obj(context, level, "", data, data_len);
}

void log_warning_noexcept(const void *context, SRLoggingLevel level, const char *data, size_t data_len)
{
    log_obj(context, level, "WARNING: ", data, data_len);
}

void log_error_noexcept(const void *context, SRLoggingLevel level, const char *data, size_t data_len)
{
    log_obj(context, level, "ERROR: ", data, data_len);
}

static void log_str(const char *context, size_t clen, SRLoggingLevel level, const char *kind,
                    const char *data, size_t len)
{
    char *c = sr_strndup(context ? context : "", context ? clen : 0);
    sr_log(c ? c : "", level, kind, data, len);
    free(c);
}

void log_data_noexcept_string(const char *context, size_t context_len, SRLoggingLevel level,
                              const char *data, size_t data_len)
{
    log_str(context, context_len, level, "", data, data_len);
}

void log_warning_noexcept_string(const char *context, size_t context_len, SRLoggingLevel level,
                                 const char *data, size_t data_len)
{
    log_str(context, context_len, level, "WARNING: ", data, data_len);
}

void log_error_noexcept_string(const char *context, size_t context_len, SRLoggingLevel level,
                               const char *data, size_t data_len)
{
    log_str(context, context_len, level, "ERROR: ", data, data_len);
}

/* ---- log contexts --------------------------------------------------------------------- */

SRError SmartRedisCLogContext(const char *context, const size_t context_length, void **new_logcontext)
{
    elc_err_clear();
    if (!context || !new_logcontext) return sr_error(SRParameterError, "SmartRedisCLogContext", "context or new_logcontext is NULL");
    sr_logcontext *lc = calloc(1, sizeof *lc);
    if (!lc || !(lc->obj.lname = sr_strndup(context, context_length))) {
        free(lc);
        return sr_error(SRBadAllocError, "SmartRedisCLogContext", "out of memory");
    }
    lc->obj.magic = SR_MAGIC_LOGCONTEXT;
    *new_logcontext = lc;
    return SRNoError;
}

SRError DeallocateLogContext(void **logcontext)
{
    elc_err_clear();
    if (!logcontext) return sr_error(SRParameterError, "DeallocateLogContext", "logcontext is NULL");
    sr_logcontext *lc = *logcontext;
    if (lc) {
        if (lc->obj.magic != SR_MAGIC_LOGCONTEXT)
            return sr_error(SRParameterError, "DeallocateLogContext", "The handle is not a log context");
        lc->obj.magic = 0;
        free(lc->obj.lname);
        free(lc);
    }
    *logcontext = NULL;
    return SRNoError;
}
