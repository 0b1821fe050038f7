/* c_client.c — SmartRedis's C client API over the eddylearn client (elc_*). */
#define _GNU_SOURCE
#include "sr_internal.h"
#include "c_client.h"
#include "c_configoptions.h"
#include "c_dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static sr_client *cl_of(void *p, const char *where, SRError *st)
{
    sr_client *c = p;
    if (!c || c->obj.magic != SR_MAGIC_CLIENT) {
        *st = sr_error(SRParameterError, where, "The handle is not a client");
        return NULL;
    }
    return c;
}

#define CL_OR_RETURN(c, p, w)               \
    elc_err_clear();                        \
    SRError st_;                            \
    sr_client *c = cl_of((p), (w), &st_);   \
    if (!c) return st_

/* NUL-terminated copies of length-given strings, freed by str_done */
#define NAME(var, s, n, w)                                                            \
    char *var = (s) ? sr_strndup((s), (n)) : NULL;                                    \
    if (!var) {                                                                       \
        return (s) ? sr_error(SRBadAllocError, (w), "out of memory")                  \
                   : sr_error(SRParameterError, (w), "A name argument is NULL");      \
    }

/* ---- construction --------------------------------------------------------------------- */

static SRError make(const elc_client_options *o, const char *logger_name, size_t len, void **out,
                    const char *w)
{
    if (!out) return sr_error(SRParameterError, w, "new_client is NULL");
    *out = NULL;
    sr_client *c = calloc(1, sizeof *c);
    if (!c || !(c->obj.lname = sr_strndup(logger_name ? logger_name : "default",
                                          logger_name ? len : 7))) {
        free(c);
        return sr_error(SRBadAllocError, w, "out of memory");
    }
    c->obj.magic = SR_MAGIC_CLIENT;
    elc_status st = elc_client_create_with(&c->c, o);
    if (st) {
        sr_log(c->obj.lname, LLInfo, "ERROR: ", elc_last_error(), strlen(elc_last_error()));
        free(c->obj.lname);
        free(c);
        return sr_fail((SRError)st, w);
    }
    sr_log(c->obj.lname, LLDebug, "", "New client created", 18);
    *out = c;
    return SRNoError;
}

SRError SimpleCreateClient(const char *logger_name, const size_t logger_name_length, void **new_client)
{
    elc_err_clear();
    elc_client_options o;
    elc_client_options_init(&o);
    return make(&o, logger_name, logger_name_length, new_client, "SimpleCreateClient");
}

SRError SmartRedisCClient(bool cluster, const char *logger_name, const size_t logger_name_length,
                          void **new_client)
{
    elc_err_clear();
    elc_client_options o;
    elc_client_options_init(&o);
    o.cluster = cluster ? 1 : 0;
    return make(&o, logger_name, logger_name_length, new_client, "SmartRedisCClient");
}

/* integer option of cfg, or 0 when unset (a bad value is an error) */
static SRError cfg_int(sr_config *cfg, const char *name, int *out, const char *w)
{
    *out = 0;
    const char *v = sr_config_string(cfg, name);
    if (!v) return SRNoError;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (*end || x <= 0 || x > 0x7fffffff)
        return sr_error(SRParameterError, w, "The value of %s, %s, must be a positive integer", name, v);
    *out = (int)x;
    return SRNoError;
}

SRError CreateClient(void *config_options, const char *logger_name, const size_t logger_name_length,
                     void **new_client)
{
    elc_err_clear();
    const char *w = "CreateClient";
    sr_config *cfg = config_options;
    if (!cfg || cfg->magic != SR_MAGIC_CONFIG)
        return sr_error(SRParameterError, w, "config_options is not a ConfigOptions object");
    elc_client_options o;
    elc_client_options_init(&o);
    o.suffix = cfg->suffix[0] ? cfg->suffix : NULL;
    o.address = sr_config_string(cfg, "SSDB");
    if (!o.address)
        return sr_error(SRParameterError, w, "The database address SSDB%s%s is not set", o.suffix ? "_" : "",
                        o.suffix ? o.suffix : "");
    const char *type = sr_config_string(cfg, "SR_DB_TYPE");
    if (type) {
        if (!strcasecmp(type, "Clustered")) o.cluster = 1;
        else if (!strcasecmp(type, "Standalone")) o.cluster = 0;
        else return sr_error(SRParameterError, w, "SR_DB_TYPE is %s; it must be Clustered or Standalone", type);
    }
    o.key_out = sr_config_string(cfg, "SSKEYOUT");
    o.keys_in = sr_config_string(cfg, "SSKEYIN");
    SRError st;
    if ((st = cfg_int(cfg, "SR_CONN_TIMEOUT", &o.conn_timeout_s, w))) return st;
    if ((st = cfg_int(cfg, "SR_CONN_INTERVAL", &o.conn_interval_ms, w))) return st;
    if ((st = cfg_int(cfg, "SR_CMD_TIMEOUT", &o.cmd_timeout_s, w))) return st;
    if ((st = cfg_int(cfg, "SR_CMD_INTERVAL", &o.cmd_interval_ms, w))) return st;
    if ((st = cfg_int(cfg, "SR_SOCKET_TIMEOUT", &o.socket_timeout_ms, w))) return st;
    return make(&o, logger_name, logger_name_length, new_client, w);
}

SRError DeleteCClient(void **c_client)
{
    elc_err_clear();
    if (!c_client) return sr_error(SRParameterError, "DeleteCClient", "c_client is NULL");
    if (*c_client) {
        SRError st;
        sr_client *c = cl_of(*c_client, "DeleteCClient", &st);
        if (!c) return st;
        elc_client_destroy(c->c);
        sr_keep_free(&c->keep);
        free(c->obj.lname);
        c->obj.magic = 0;
        free(c);
    }
    *c_client = NULL;
    return SRNoError;
}

/* ---- datasets ------------------------------------------------------------------------- */

SRError put_dataset(void *c_client, void *dataset)
{
    const char *w = "put_dataset";
    CL_OR_RETURN(c, c_client, w);
    sr_dataset *d = dataset;
    if (!d || d->obj.magic != SR_MAGIC_DATASET) return sr_error(SRParameterError, w, "The handle is not a DataSet");
    return SR_RET(elc_put_dataset(c->c, d->ds), w);
}

SRError get_dataset(void *c_client, const char *name, const size_t name_length, void **dataset)
{
    const char *w = "get_dataset";
    CL_OR_RETURN(c, c_client, w);
    if (!dataset) return sr_error(SRParameterError, w, "dataset is NULL");
    NAME(n, name, name_length, w);
    elc_dataset *ds;
    elc_status st = elc_get_dataset(c->c, n, &ds);
    free(n);
    if (st) return sr_fail((SRError)st, w);
    sr_dataset *d = sr_dataset_wrap(ds);
    if (!d) { elc_dataset_destroy(ds); return sr_error(SRBadAllocError, w, "out of memory"); }
    *dataset = d;
    return SRNoError;
}

typedef elc_status (*two_names_fn)(elc_client *, const char *, const char *);

static SRError two_names(void *c_client, const char *a, size_t la, const char *b, size_t lb,
                         two_names_fn fn, const char *w)
{
    CL_OR_RETURN(c, c_client, w);
    NAME(x, a, la, w);
    char *y = b ? sr_strndup(b, lb) : NULL;
    if (!y) { free(x); return sr_error(b ? SRBadAllocError : SRParameterError, w, "A name argument is NULL"); }
    elc_status st = fn(c->c, x, y);
    free(x);
    free(y);
    return SR_RET(st, w);
}

SRError rename_dataset(void *c_client, const char *old_name, const size_t old_name_length,
                       const char *new_name, const size_t new_name_length)
{
    return two_names(c_client, old_name, old_name_length, new_name, new_name_length, elc_rename_dataset, "rename_dataset");
}

SRError copy_dataset(void *c_client, const char *src_name, const size_t src_name_length,
                     const char *dest_name, const size_t dest_name_length)
{
    return two_names(c_client, src_name, src_name_length, dest_name, dest_name_length, elc_copy_dataset, "copy_dataset");
}

typedef elc_status (*one_name_fn)(elc_client *, const char *);

static SRError one_name(void *c_client, const char *a, size_t la, one_name_fn fn, const char *w)
{
    CL_OR_RETURN(c, c_client, w);
    NAME(x, a, la, w);
    elc_status st = fn(c->c, x);
    free(x);
    return SR_RET(st, w);
}

SRError delete_dataset(void *c_client, const char *name, const size_t name_length)
{
    return one_name(c_client, name, name_length, elc_delete_dataset, "delete_dataset");
}

/* ---- tensors -------------------------------------------------------------------------- */

SRError put_tensor(void *c_client, const char *name, const size_t name_length, void *data,
                   const size_t *dims, const size_t n_dims, SRTensorType type, SRMemoryLayout mem_layout)
{
    const char *w = "put_tensor";
    CL_OR_RETURN(c, c_client, w);
    if (!data || (!dims && n_dims)) return sr_error(SRParameterError, w, "data or dims is NULL");
    int l = sr_layout(mem_layout);
    if (l == -2) return sr_error(SRParameterError, w, "The memory layout %d is not supported", (int)mem_layout);
    size_t es = elc_dtype_size((elc_dtype)type);
    if (!es) return sr_error(SRParameterError, w, "The tensor type %d is not valid", (int)type);
    NAME(n, name, name_length, w);
    elc_status st;
    if (l == -1) {
        void *flat = malloc(sr_count(dims, n_dims) * es + 1);
        if (!flat) { free(n); return sr_error(SRBadAllocError, w, "out of memory"); }
        sr_nested_gather(flat, data, dims, n_dims, es);
        st = elc_put_tensor(c->c, n, flat, dims, n_dims, (elc_dtype)type, ELC_LAYOUT_C);
        free(flat);
    } else {
        st = elc_put_tensor(c->c, n, data, dims, n_dims, (elc_dtype)type, (elc_layout)l);
    }
    free(n);
    return SR_RET(st, w);
}

SRError get_tensor(void *c_client, const char *name, const size_t name_length, void **data,
                   size_t **dims, size_t *n_dims, SRTensorType *type, SRMemoryLayout mem_layout)
{
    const char *w = "get_tensor";
    CL_OR_RETURN(c, c_client, w);
    if (!data || !dims || !n_dims || !type) return sr_error(SRParameterError, w, "NULL argument");
    NAME(n, name, name_length, w);
    void *raw;
    size_t *dd, nd;
    elc_dtype t;
    elc_status st = elc_get_tensor(c->c, n, &raw, &dd, &nd, &t);
    free(n);
    if (st) return sr_fail((SRError)st, w);
    SRError r = sr_layout_out(&c->keep, raw, dd, nd, elc_dtype_size(t), mem_layout, data, w);
    size_t *dk = r ? NULL : sr_keep_alloc(&c->keep, nd * sizeof *dk);
    if (!r && !dk) r = sr_error(SRBadAllocError, w, "out of memory");
    if (!r) {
        memcpy(dk, dd, nd * sizeof *dk);
        *dims = dk;
        *n_dims = nd;
        *type = (SRTensorType)t;
    }
    elc_free(raw);
    elc_free(dd);
    return r;
}

SRError unpack_tensor(void *c_client, const char *name, const size_t name_length, void *result,
                      const size_t *dims, const size_t n_dims, SRTensorType type, SRMemoryLayout mem_layout)
{
    const char *w = "unpack_tensor";
    CL_OR_RETURN(c, c_client, w);
    if (!result || (!dims && n_dims)) return sr_error(SRParameterError, w, "result or dims is NULL");
    int l = sr_layout(mem_layout);
    if (l == -2) return sr_error(SRParameterError, w, "The memory layout %d is not supported", (int)mem_layout);
    NAME(n, name, name_length, w);
    elc_status st;
    if (l == -1) {
        size_t es = elc_dtype_size((elc_dtype)type);
        void *flat = malloc(sr_count(dims, n_dims) * (es ? es : 1) + 1);
        if (!flat) { free(n); return sr_error(SRBadAllocError, w, "out of memory"); }
        st = elc_unpack_tensor(c->c, n, flat, dims, n_dims, (elc_dtype)type, ELC_LAYOUT_C);
        if (!st) sr_nested_scatter(result, flat, dims, n_dims, es);
        free(flat);
    } else {
        /* SmartRedis unpacks into contiguous memory described by one dim, its length */
        if (mem_layout == SRMemLayoutContiguous && n_dims == 1) l = ELC_LAYOUT_FLAT;
        st = elc_unpack_tensor(c->c, n, result, dims, n_dims, (elc_dtype)type, (elc_layout)l);
    }
    free(n);
    return SR_RET(st, w);
}

SRError rename_tensor(void *c_client, const char *old_name, const size_t old_name_length,
                      const char *new_name, const size_t new_name_length)
{
    return two_names(c_client, old_name, old_name_length, new_name, new_name_length, elc_rename_tensor, "rename_tensor");
}

SRError delete_tensor(void *c_client, const char *name, const size_t name_length)
{
    return one_name(c_client, name, name_length, elc_delete_tensor, "delete_tensor");
}

SRError copy_tensor(void *c_client, const char *src_name, const size_t src_name_length,
                    const char *dest_name, const size_t dest_name_length)
{
    return two_names(c_client, src_name, src_name_length, dest_name, dest_name_length, elc_copy_tensor, "copy_tensor");
}

/* ---- models and scripts --------------------------------------------------------------- */

bool _isTensorFlow(const char *backend)
{
    return backend && (!strcmp(backend, "TF") || !strcmp(backend, "TFLITE"));
}

/* An array of n NUL-terminated copies (malloc'd; free with free_strs). */
static char **strs(const char **s, const size_t *l, size_t n)
{
    char **v = calloc(n + 1, sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!s[i] || !(v[i] = sr_strndup(s[i], l ? l[i] : strlen(s[i])))) {
            for (size_t k = 0; k < i; k++) free(v[k]);
            free(v);
            return NULL;
        }
    }
    return v;
}

static void free_strs(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static int check_list(const char **v, const size_t *l, size_t n)
{
    if (n == 0) return 1;
    if (!v || !l) return 0;
    for (size_t i = 0; i < n; i++)
        if (!v[i]) return 0;
    return 1;
}

void _check_params_set_model(void *c_client, const char *name, const char *backend, const char **inputs,
                             const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                             const size_t *output_lengths, const size_t n_outputs)
{
    SRError st;
    if (!cl_of(c_client, "set_model", &st)) return;
    if (!name || !backend) { sr_error(SRParameterError, "set_model", "name or backend is NULL"); return; }
    if (_isTensorFlow(backend) && (!check_list(inputs, input_lengths, n_inputs) ||
                                   !check_list(outputs, output_lengths, n_outputs)))
        sr_error(SRParameterError, "set_model", "The TF inputs or outputs are NULL");
}

void _check_params_run_script(void *c_client, const char *name, const char *function, const char **inputs,
                              const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                              const size_t *output_lengths, const size_t n_outputs)
{
    SRError st;
    if (!cl_of(c_client, "run_script", &st)) return;
    if (!name || !function || !check_list(inputs, input_lengths, n_inputs) ||
        !check_list(outputs, output_lengths, n_outputs))
        sr_error(SRParameterError, "run_script", "name, function, inputs or outputs is NULL");
}

void _check_params_run_model(void *c_client, const char *name, const char **inputs,
                             const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                             const size_t *output_lengths, const size_t n_outputs)
{
    SRError st;
    if (!cl_of(c_client, "run_model", &st)) return;
    if (!name || !check_list(inputs, input_lengths, n_inputs) || !check_list(outputs, output_lengths, n_outputs))
        sr_error(SRParameterError, "run_model", "name, inputs or outputs is NULL");
}

/* Read a whole file into a malloc'd buffer. */
static SRError slurp(const char *path, char **buf, size_t *len, const char *w)
{
    FILE *f = fopen(path, "rb");
    if (!f) return sr_error(SRParameterError, w, "cannot open the file %s", path);
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) break;
        cap *= 2;
        char *nb = realloc(b, cap);
        if (!nb) { free(b); b = NULL; }
        else b = nb;
    }
    int err = ferror(f);
    fclose(f);
    if (!b) return sr_error(SRBadAllocError, w, "out of memory reading %s", path);
    if (err) { free(b); return sr_error(SRRuntimeError, w, "cannot read the file %s", path); }
    *buf = b;
    *len = n;
    return SRNoError;
}

/* set_model and its variants: file or buffer, one device or several GPUs */
static SRError set_model_any(void *c_client, const char *w, const char *name, size_t name_length,
                             const char *blob, size_t blob_len, const char *file, size_t file_len,
                             const char *backend, size_t backend_length, const char *device,
                             size_t device_length, int multigpu, int first_gpu, int num_gpus,
                             int batch_size, int min_batch_size, int min_batch_timeout, const char *tag,
                             size_t tag_length, const char **inputs, const size_t *input_lengths,
                             size_t n_inputs, const char **outputs, const size_t *output_lengths,
                             size_t n_outputs)
{
    CL_OR_RETURN(c, c_client, w);
    if (!name || !backend || (!multigpu && !device) || (!file && !blob))
        return sr_error(SRParameterError, w, "name, model, backend or device is NULL");
    char *be = sr_strndup(backend, backend_length);
    if (!be) return sr_error(SRBadAllocError, w, "out of memory");
    if (!_isTensorFlow(be) && (n_inputs || n_outputs)) {
        /* SmartRedis passes node names only for TF models */
        n_inputs = n_outputs = 0;
    }
    if (!check_list(inputs, input_lengths, n_inputs) || !check_list(outputs, output_lengths, n_outputs)) {
        free(be);
        return sr_error(SRParameterError, w, "inputs or outputs is NULL");
    }
    char *n = sr_strndup(name, name_length);
    char *dev = device ? sr_strndup(device, device_length) : NULL;
    char *tg = tag ? sr_strndup(tag, tag_length) : sr_strndup("", 0);
    char **in = strs(inputs, input_lengths, n_inputs), **out = strs(outputs, output_lengths, n_outputs);
    char *buf = NULL;
    size_t len = blob_len;
    SRError r = SRNoError;
    if (!n || (device && !dev) || !tg || !in || !out) r = sr_error(SRBadAllocError, w, "out of memory");
    if (!r && file) {
        char *path = sr_strndup(file, file_len);
        if (!path) r = sr_error(SRBadAllocError, w, "out of memory");
        else r = slurp(path, &buf, &len, w);
        free(path);
    }
    if (!r) {
        const char *b = file ? buf : blob;
        elc_status st = multigpu
            ? elc_set_model_multigpu(c->c, n, b, len, be, first_gpu, num_gpus, batch_size, min_batch_size,
                                     min_batch_timeout, tg, (const char *const *)in, n_inputs,
                                     (const char *const *)out, n_outputs)
            : elc_set_model_io(c->c, n, b, len, be, dev, batch_size, min_batch_size, min_batch_timeout, tg,
                               (const char *const *)in, n_inputs, (const char *const *)out, n_outputs);
        r = SR_RET(st, w);
    }
    free(buf);
    free(be);
    free(n);
    free(dev);
    free(tg);
    free_strs(in, n_inputs);
    free_strs(out, n_outputs);
    return r;
}

SRError set_model_from_file(void *c_client, const char *name, const size_t name_length,
                            const char *model_file, const size_t model_file_length, const char *backend,
                            const size_t backend_length, const char *device, const size_t device_length,
                            const int batch_size, const int min_batch_size, const int min_batch_timeout,
                            const char *tag, const size_t tag_length, const char **inputs,
                            const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                            const size_t *output_lengths, const size_t n_outputs)
{
    if (!model_file) return sr_error(SRParameterError, "set_model_from_file", "model_file is NULL");
    return set_model_any(c_client, "set_model_from_file", name, name_length, NULL, 0, model_file,
                         model_file_length, backend, backend_length, device, device_length, 0, 0, 0,
                         batch_size, min_batch_size, min_batch_timeout, tag, tag_length, inputs,
                         input_lengths, n_inputs, outputs, output_lengths, n_outputs);
}

SRError set_model_from_file_multigpu(void *c_client, const char *name, const size_t name_length,
                                     const char *model_file, const size_t model_file_length,
                                     const char *backend, const size_t backend_length, const int first_gpu,
                                     const int num_gpus, const int batch_size, const int min_batch_size,
                                     const int min_batch_timeout, const char *tag, const size_t tag_length,
                                     const char **inputs, const size_t *input_lengths, const size_t n_inputs,
                                     const char **outputs, const size_t *output_lengths,
                                     const size_t n_outputs)
{
    if (!model_file) return sr_error(SRParameterError, "set_model_from_file_multigpu", "model_file is NULL");
    return set_model_any(c_client, "set_model_from_file_multigpu", name, name_length, NULL, 0, model_file,
                         model_file_length, backend, backend_length, NULL, 0, 1, first_gpu, num_gpus,
                         batch_size, min_batch_size, min_batch_timeout, tag, tag_length, inputs,
                         input_lengths, n_inputs, outputs, output_lengths, n_outputs);
}

SRError set_model(void *c_client, const char *name, const size_t name_length, const char *model,
                  const size_t model_length, const char *backend, const size_t backend_length,
                  const char *device, const size_t device_length, const int batch_size,
                  const int min_batch_size, const int min_batch_timeout, const char *tag,
                  const size_t tag_length, const char **inputs, const size_t *input_lengths,
                  const size_t n_inputs, const char **outputs, const size_t *output_lengths,
                  const size_t n_outputs)
{
    return set_model_any(c_client, "set_model", name, name_length, model, model_length, NULL, 0, backend,
                         backend_length, device, device_length, 0, 0, 0, batch_size, min_batch_size,
                         min_batch_timeout, tag, tag_length, inputs, input_lengths, n_inputs, outputs,
                         output_lengths, n_outputs);
}

SRError set_model_multigpu(void *c_client, const char *name, const size_t name_length, const char *model,
                           const size_t model_length, const char *backend, const size_t backend_length,
                           const int first_gpu, const int num_gpus, const int batch_size,
                           const int min_batch_size, const int min_batch_timeout, const char *tag,
                           const size_t tag_length, const char **inputs, const size_t *input_lengths,
                           const size_t n_inputs, const char **outputs, const size_t *output_lengths,
                           const size_t n_outputs)
{
    return set_model_any(c_client, "set_model_multigpu", name, name_length, model, model_length, NULL, 0,
                         backend, backend_length, NULL, 0, 1, first_gpu, num_gpus, batch_size,
                         min_batch_size, min_batch_timeout, tag, tag_length, inputs, input_lengths,
                         n_inputs, outputs, output_lengths, n_outputs);
}

SRError get_model(void *c_client, const char *name, const size_t name_length, size_t *model_length,
                  const char **model)
{
    const char *w = "get_model";
    CL_OR_RETURN(c, c_client, w);
    if (!model_length || !model) return sr_error(SRParameterError, w, "model or model_length is NULL");
    NAME(n, name, name_length, w);
    char *data;
    size_t len;
    elc_status st = elc_get_model(c->c, n, &data, &len);
    free(n);
    if (st) return sr_fail((SRError)st, w);
    char *k = sr_keep_strndup(&c->keep, data, len);
    elc_free(data);
    if (!k) return sr_error(SRBadAllocError, w, "out of memory");
    *model = k;
    *model_length = len;
    return SRNoError;
}

SRError set_script_from_file(void *c_client, const char *name, const size_t name_length, const char *device,
                             const size_t device_length, const char *script_file,
                             const size_t script_file_length)
{
    const char *w = "set_script_from_file";
    CL_OR_RETURN(c, c_client, w);
    if (!device || !script_file) return sr_error(SRParameterError, w, "device or script_file is NULL");
    NAME(n, name, name_length, w);
    char *dev = sr_strndup(device, device_length), *path = sr_strndup(script_file, script_file_length);
    char *buf = NULL;
    size_t len = 0;
    SRError r = (!dev || !path) ? sr_error(SRBadAllocError, w, "out of memory") : slurp(path, &buf, &len, w);
    if (!r) r = SR_RET(elc_set_script(c->c, n, dev, buf, len), w);
    free(buf);
    free(n);
    free(dev);
    free(path);
    return r;
}

SRError set_script_from_file_multigpu(void *c_client, const char *name, const size_t name_length,
                                      const char *script_file, const size_t script_file_length,
                                      const int first_gpu, const int num_gpus)
{
    const char *w = "set_script_from_file_multigpu";
    CL_OR_RETURN(c, c_client, w);
    if (!script_file) return sr_error(SRParameterError, w, "script_file is NULL");
    NAME(n, name, name_length, w);
    char *path = sr_strndup(script_file, script_file_length), *buf = NULL;
    size_t len = 0;
    SRError r = !path ? sr_error(SRBadAllocError, w, "out of memory") : slurp(path, &buf, &len, w);
    if (!r) r = SR_RET(elc_set_script_multigpu(c->c, n, buf, len, first_gpu, num_gpus), w);
    free(buf);
    free(n);
    free(path);
    return r;
}

SRError set_script(void *c_client, const char *name, const size_t name_length, const char *device,
                   const size_t device_length, const char *script, const size_t script_length)
{
    const char *w = "set_script";
    CL_OR_RETURN(c, c_client, w);
    if (!device || !script) return sr_error(SRParameterError, w, "device or script is NULL");
    NAME(n, name, name_length, w);
    char *dev = sr_strndup(device, device_length);
    SRError r = !dev ? sr_error(SRBadAllocError, w, "out of memory")
                     : SR_RET(elc_set_script(c->c, n, dev, script, script_length), w);
    free(n);
    free(dev);
    return r;
}

SRError set_script_multigpu(void *c_client, const char *name, const size_t name_length, const char *script,
                            const size_t script_length, const int first_gpu, const int num_gpus)
{
    const char *w = "set_script_multigpu";
    CL_OR_RETURN(c, c_client, w);
    if (!script) return sr_error(SRParameterError, w, "script is NULL");
    NAME(n, name, name_length, w);
    SRError r = SR_RET(elc_set_script_multigpu(c->c, n, script, script_length, first_gpu, num_gpus), w);
    free(n);
    return r;
}

SRError get_script(void *c_client, const char *name, const size_t name_length, const char **script,
                   size_t *script_length)
{
    const char *w = "get_script";
    CL_OR_RETURN(c, c_client, w);
    if (!script || !script_length) return sr_error(SRParameterError, w, "script or script_length is NULL");
    NAME(n, name, name_length, w);
    char *data;
    size_t len;
    elc_status st = elc_get_script(c->c, n, &data, &len);
    free(n);
    if (st) return sr_fail((SRError)st, w);
    char *k = sr_keep_strndup(&c->keep, data, len);
    elc_free(data);
    if (!k) return sr_error(SRBadAllocError, w, "out of memory");
    *script = k;
    *script_length = len;
    return SRNoError;
}

/* run_model / run_script and their multi-GPU forms */
static SRError run_any(void *c_client, const char *w, const char *name, size_t name_length,
                       const char *function, size_t function_length, const char **inputs,
                       const size_t *input_lengths, size_t n_inputs, const char **outputs,
                       const size_t *output_lengths, size_t n_outputs, int multigpu, int offset,
                       int first_gpu, int num_gpus)
{
    CL_OR_RETURN(c, c_client, w);
    if (!check_list(inputs, input_lengths, n_inputs) || !check_list(outputs, output_lengths, n_outputs))
        return sr_error(SRParameterError, w, "inputs or outputs is NULL");
    NAME(n, name, name_length, w);
    char *fn = function ? sr_strndup(function, function_length) : NULL;
    char **in = strs(inputs, input_lengths, n_inputs), **out = strs(outputs, output_lengths, n_outputs);
    SRError r;
    if ((function && !fn) || !in || !out) r = sr_error(SRBadAllocError, w, "out of memory");
    else {
        const char *const *ci = (const char *const *)in, *const *co = (const char *const *)out;
        elc_status st;
        if (function)
            st = multigpu ? elc_run_script_multigpu(c->c, n, fn, ci, n_inputs, co, n_outputs, offset, first_gpu, num_gpus)
                          : elc_run_script(c->c, n, fn, ci, n_inputs, co, n_outputs);
        else
            st = multigpu ? elc_run_model_multigpu(c->c, n, ci, n_inputs, co, n_outputs, offset, first_gpu, num_gpus)
                          : elc_run_model(c->c, n, ci, n_inputs, co, n_outputs);
        r = SR_RET(st, w);
    }
    free(n);
    free(fn);
    free_strs(in, n_inputs);
    free_strs(out, n_outputs);
    return r;
}

SRError run_script(void *c_client, const char *name, const size_t name_length, const char *function,
                   const size_t function_length, const char **inputs, const size_t *input_lengths,
                   const size_t n_inputs, const char **outputs, const size_t *output_lengths,
                   const size_t n_outputs)
{
    if (!function) return sr_error(SRParameterError, "run_script", "function is NULL");
    return run_any(c_client, "run_script", name, name_length, function, function_length, inputs, input_lengths,
                   n_inputs, outputs, output_lengths, n_outputs, 0, 0, 0, 0);
}

SRError run_script_multigpu(void *c_client, const char *name, const size_t name_length, const char *function,
                            const size_t function_length, const char **inputs, const size_t *input_lengths,
                            const size_t n_inputs, const char **outputs, const size_t *output_lengths,
                            const size_t n_outputs, const int offset, const int first_gpu, const int num_gpus)
{
    if (!function) return sr_error(SRParameterError, "run_script_multigpu", "function is NULL");
    return run_any(c_client, "run_script_multigpu", name, name_length, function, function_length, inputs,
                   input_lengths, n_inputs, outputs, output_lengths, n_outputs, 1, offset, first_gpu, num_gpus);
}

SRError run_model(void *c_client, const char *name, const size_t name_length, const char **inputs,
                  const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                  const size_t *output_lengths, const size_t n_outputs)
{
    return run_any(c_client, "run_model", name, name_length, NULL, 0, inputs, input_lengths, n_inputs, outputs,
                   output_lengths, n_outputs, 0, 0, 0, 0);
}

SRError run_model_multigpu(void *c_client, const char *name, const size_t name_length, const char **inputs,
                           const size_t *input_lengths, const size_t n_inputs, const char **outputs,
                           const size_t *output_lengths, const size_t n_outputs, const int offset,
                           const int first_gpu, const int num_gpus)
{
    return run_any(c_client, "run_model_multigpu", name, name_length, NULL, 0, inputs, input_lengths, n_inputs,
                   outputs, output_lengths, n_outputs, 1, offset, first_gpu, num_gpus);
}

SRError delete_model(void *c_client, const char *name, const size_t name_length)
{
    return one_name(c_client, name, name_length, elc_delete_model, "delete_model");
}

SRError delete_script(void *c_client, const char *name, const size_t name_length)
{
    return one_name(c_client, name, name_length, elc_delete_script, "delete_script");
}

typedef elc_status (*gpu_fn)(elc_client *, const char *, int, int);

static SRError del_gpu(void *c_client, const char *name, size_t name_length, int first_gpu, int num_gpus,
                       gpu_fn fn, const char *w)
{
    CL_OR_RETURN(c, c_client, w);
    NAME(n, name, name_length, w);
    elc_status st = fn(c->c, n, first_gpu, num_gpus);
    free(n);
    return SR_RET(st, w);
}

SRError delete_model_multigpu(void *c_client, const char *name, const size_t name_length, const int first_gpu,
                              const int num_gpus)
{
    return del_gpu(c_client, name, name_length, first_gpu, num_gpus, elc_delete_model_multigpu, "delete_model_multigpu");
}

SRError delete_script_multigpu(void *c_client, const char *name, const size_t name_length,
                               const int first_gpu, const int num_gpus)
{
    return del_gpu(c_client, name, name_length, first_gpu, num_gpus, elc_delete_script_multigpu, "delete_script_multigpu");
}

/* ---- existence and polling ------------------------------------------------------------ */

typedef elc_status (*exists_fn)(elc_client *, const char *, bool *);
typedef elc_status (*poll_fn)(elc_client *, const char *, int, int, bool *);

static SRError exists_any(void *c_client, const char *name, size_t len, bool *exists, exists_fn fn,
                          const char *w)
{
    CL_OR_RETURN(c, c_client, w);
    if (!exists) return sr_error(SRParameterError, w, "exists is NULL");
    NAME(n, name, len, w);
    elc_status st = fn(c->c, n, exists);
    free(n);
    return SR_RET(st, w);
}

static SRError poll_any(void *c_client, const char *name, size_t len, int ms, int tries, bool *exists,
                        poll_fn fn, const char *w)
{
    CL_OR_RETURN(c, c_client, w);
    if (!exists) return sr_error(SRParameterError, w, "exists is NULL");
    NAME(n, name, len, w);
    elc_status st = fn(c->c, n, ms, tries, exists);
    free(n);
    return SR_RET(st, w);
}

SRError key_exists(void *c_client, const char *key, const size_t key_length, bool *exists)
{
    return exists_any(c_client, key, key_length, exists, elc_key_exists, "key_exists");
}

SRError tensor_exists(void *c_client, const char *name, const size_t name_length, bool *exists)
{
    return exists_any(c_client, name, name_length, exists, elc_tensor_exists, "tensor_exists");
}

SRError model_exists(void *c_client, const char *name, const size_t name_length, bool *exists)
{
    return exists_any(c_client, name, name_length, exists, elc_model_exists, "model_exists");
}

SRError dataset_exists(void *c_client, const char *name, const size_t name_length, bool *exists)
{
    return exists_any(c_client, name, name_length, exists, elc_dataset_exists, "dataset_exists");
}

SRError poll_key(void *c_client, const char *key, const size_t key_length, const int poll_frequency_ms,
                 const int num_tries, bool *exists)
{
    return poll_any(c_client, key, key_length, poll_frequency_ms, num_tries, exists, elc_poll_key, "poll_key");
}

SRError poll_model(void *c_client, const char *name, const size_t name_length, const int poll_frequency_ms,
                   const int num_tries, bool *exists)
{
    return poll_any(c_client, name, name_length, poll_frequency_ms, num_tries, exists, elc_poll_model, "poll_model");
}

SRError poll_tensor(void *c_client, const char *name, const size_t name_length, const int poll_frequency_ms,
                    const int num_tries, bool *exists)
{
    return poll_any(c_client, name, name_length, poll_frequency_ms, num_tries, exists, elc_poll_tensor, "poll_tensor");
}

SRError poll_dataset(void *c_client, const char *name, const size_t name_length, const int poll_frequency_ms,
                     const int num_tries, bool *exists)
{
    return poll_any(c_client, name, name_length, poll_frequency_ms, num_tries, exists, elc_poll_dataset, "poll_dataset");
}

/* ---- prefixes ------------------------------------------------------------------------- */

SRError set_data_source(void *c_client, const char *source_id, const size_t source_id_length)
{
    return one_name(c_client, source_id, source_id_length, elc_set_data_source, "set_data_source");
}

typedef elc_status (*flag_fn)(elc_client *, bool);

static SRError flag(void *c_client, bool v, flag_fn fn, const char *w)
{
    CL_OR_RETURN(c, c_client, w);
    return SR_RET(fn(c->c, v), w);
}

SRError use_tensor_ensemble_prefix(void *c_client, bool use_prefix)
{
    return flag(c_client, use_prefix, elc_use_tensor_ensemble_prefix, "use_tensor_ensemble_prefix");
}

SRError use_dataset_ensemble_prefix(void *c_client, bool use_prefix)
{
    return flag(c_client, use_prefix, elc_use_dataset_ensemble_prefix, "use_dataset_ensemble_prefix");
}

SRError use_model_ensemble_prefix(void *c_client, bool use_prefix)
{
    return flag(c_client, use_prefix, elc_use_model_ensemble_prefix, "use_model_ensemble_prefix");
}

SRError use_list_ensemble_prefix(void *c_client, bool use_prefix)
{
    return flag(c_client, use_prefix, elc_use_list_ensemble_prefix, "use_list_ensemble_prefix");
}

/* ---- aggregation lists ---------------------------------------------------------------- */

SRError append_to_list(void *c_client, const char *list_name, const size_t list_name_length, const void *dataset)
{
    const char *w = "append_to_list";
    CL_OR_RETURN(c, c_client, w);
    const sr_dataset *d = dataset;
    if (!d || d->obj.magic != SR_MAGIC_DATASET) return sr_error(SRParameterError, w, "The handle is not a DataSet");
    NAME(n, list_name, list_name_length, w);
    elc_status st = elc_append_to_list(c->c, n, d->ds);
    free(n);
    return SR_RET(st, w);
}

SRError delete_list(void *c_client, const char *list_name, const size_t list_name_length)
{
    return one_name(c_client, list_name, list_name_length, elc_delete_list, "delete_list");
}

SRError copy_list(void *c_client, const char *src_name, const size_t src_name_length, const char *dest_name,
                  const size_t dest_name_length)
{
    return two_names(c_client, src_name, src_name_length, dest_name, dest_name_length, elc_copy_list, "copy_list");
}

SRError rename_list(void *c_client, const char *src_name, const size_t src_name_length, const char *dest_name,
                    const size_t dest_name_length)
{
    return two_names(c_client, src_name, src_name_length, dest_name, dest_name_length, elc_rename_list, "rename_list");
}

SRError get_list_length(void *c_client, const char *list_name, const size_t list_name_length, int *result_length)
{
    const char *w = "get_list_length";
    CL_OR_RETURN(c, c_client, w);
    if (!result_length) return sr_error(SRParameterError, w, "result_length is NULL");
    NAME(n, list_name, list_name_length, w);
    long long len = 0;
    elc_status st = elc_get_list_length(c->c, n, &len);
    free(n);
    if (!st) *result_length = (int)len;
    return SR_RET(st, w);
}

static SRError poll_len(void *c_client, const char *name, size_t name_length, int list_length, int ms,
                        int tries, bool *res, int cmp, const char *w)
{
    CL_OR_RETURN(c, c_client, w);
    if (!res) return sr_error(SRParameterError, w, "poll_result is NULL");
    NAME(n, name, name_length, w);
    elc_status st = elc_poll_list_length_cmp(c->c, n, list_length, cmp, ms, tries, res);
    free(n);
    return SR_RET(st, w);
}

SRError poll_list_length(void *c_client, const char *name, const size_t name_length, int list_length,
                         int poll_frequency_ms, int num_tries, bool *poll_result)
{
    return poll_len(c_client, name, name_length, list_length, poll_frequency_ms, num_tries, poll_result, 0, "poll_list_length");
}

SRError poll_list_length_gte(void *c_client, const char *name, const size_t name_length, int list_length,
                             int poll_frequency_ms, int num_tries, bool *poll_result)
{
    return poll_len(c_client, name, name_length, list_length, poll_frequency_ms, num_tries, poll_result, 1, "poll_list_length_gte");
}

SRError poll_list_length_lte(void *c_client, const char *name, const size_t name_length, int list_length,
                             int poll_frequency_ms, int num_tries, bool *poll_result)
{
    return poll_len(c_client, name, name_length, list_length, poll_frequency_ms, num_tries, poll_result, -1, "poll_list_length_lte");
}

/* Fetch the range and wrap each dataset; *v (malloc'd) holds *n handles. */
static SRError range(sr_client *c, const char *list_name, size_t list_name_length, int start, int end,
                     sr_dataset ***v, size_t *n, const char *w)
{
    NAME(ln, list_name, list_name_length, w);
    elc_dataset **ds;
    size_t cnt;
    elc_status st = elc_get_dataset_list_range(c->c, ln, start, end, &ds, &cnt);
    free(ln);
    if (st) return sr_fail((SRError)st, w);
    sr_dataset **out = calloc(cnt ? cnt : 1, sizeof *out);
    for (size_t i = 0; out && i < cnt; i++) {
        out[i] = sr_dataset_wrap(ds[i]);
        if (!out[i]) {
            for (size_t k = 0; k < i; k++) { out[k]->ds = NULL; free(out[k]->obj.lname); free(out[k]); }
            free(out);
            out = NULL;
        }
    }
    if (!out) {
        for (size_t i = 0; i < cnt; i++) elc_dataset_destroy(ds[i]);
        elc_free(ds);
        return sr_error(SRBadAllocError, w, "out of memory");
    }
    elc_free(ds);
    *v = out;
    *n = cnt;
    return SRNoError;
}

SRError get_dataset_list_range(void *c_client, const char *list_name, const size_t list_name_length,
                               const int start_index, const int end_index, void ***datasets, size_t *num_datasets)
{
    const char *w = "get_dataset_list_range";
    CL_OR_RETURN(c, c_client, w);
    if (!datasets || !num_datasets) return sr_error(SRParameterError, w, "datasets or num_datasets is NULL");
    sr_dataset **v;
    size_t n;
    SRError r = range(c, list_name, list_name_length, start_index, end_index, &v, &n, w);
    if (r) return r;
    void **arr = sr_keep_alloc(&c->keep, n * sizeof *arr);
    if (!arr) {
        for (size_t i = 0; i < n; i++) { void *p = v[i]; DeallocateDataSet(&p); }
        free(v);
        return sr_error(SRBadAllocError, w, "out of memory");
    }
    for (size_t i = 0; i < n; i++) arr[i] = v[i];
    free(v);
    *datasets = arr;
    *num_datasets = n;
    return SRNoError;
}

SRError get_datasets_from_list(void *c_client, const char *list_name, const size_t list_name_length,
                               void ***datasets, size_t *num_datasets)
{
    return get_dataset_list_range(c_client, list_name, list_name_length, 0, -1, datasets, num_datasets);
}

SRError _get_dataset_list_range_allocated(void *c_client, const char *list_name, const size_t list_name_length,
                                          const int start_index, const int end_index, void **datasets)
{
    const char *w = "_get_dataset_list_range_allocated";
    CL_OR_RETURN(c, c_client, w);
    if (!datasets) return sr_error(SRParameterError, w, "datasets is NULL");
    sr_dataset **v;
    size_t n;
    SRError r = range(c, list_name, list_name_length, start_index, end_index, &v, &n, w);
    if (r) return r;
    for (size_t i = 0; i < n; i++) datasets[i] = v[i];
    free(v);
    return SRNoError;
}

const char *client_to_string(void *c_client)
{
    SRError st;
    sr_client *c = cl_of(c_client, "client_to_string", &st);
    if (!c) return "client_to_string: the handle is not a client";
    char **addr = NULL;
    size_t n = 0;
    elc_node_addresses(c->c, &addr, &n);
    size_t cap = 256;
    for (size_t i = 0; i < n; i++) cap += strlen(addr[i]) + 2;
    char *s = sr_keep_alloc(&c->keep, cap);
    if (s) {
        size_t o = (size_t)snprintf(s, cap, "Client (%s):\n%s database at ", c->obj.lname,
                                    elc_client_is_cluster(c->c) ? "Clustered" : "Standalone");
        for (size_t i = 0; i < n && o < cap; i++) o += (size_t)snprintf(s + o, cap - o, "%s%s", i ? ", " : "", addr[i]);
    }
    elc_free_strings(addr, n);
    return s ? s : "client_to_string: out of memory";
}
