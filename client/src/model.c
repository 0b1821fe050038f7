/* model.c — models and scripts (docs/protocol.md §3.3): chunked AI.MODELSTORE, shard prefixes in
 * cluster mode, run_model/run_script with the .TMP dance. */
#define _GNU_SOURCE
#include "elc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "{prefix}.key" for range i (cluster), or a copy of key (standalone). */
char *elc_shard_key(elc_client *c, size_t i, const char *key, const char *suffix)
{
    if (!c->cluster) return elc_strcat3(key, suffix, "");
    return elc_tagged_key(c->ranges[i].prefix, c->ranges[i].prefix_len, key, suffix, NULL);
}

size_t elc_shard_key_len(elc_client *c, size_t i, const char *key, const char *suffix)
{
    return c->cluster ? c->ranges[i].prefix_len + 3 + strlen(key) + strlen(suffix) : strlen(key) + strlen(suffix);
}

static size_t n_targets(elc_client *c) { return c->cluster ? c->n_ranges : 1; }

static elc_status get_chunk_size(elc_client *c)
{
    if (c->chunk_size >= 0) return ELC_OK;
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    elc_cmd_str(&cmd, "AI.CONFIG");
    elc_cmd_str(&cmd, "GET");
    elc_cmd_str(&cmd, "MODEL_CHUNK_SIZE");
    cmd.node = c->cluster ? c->ranges[0].node : 0;
    redisReply *r;
    elc_status st = elc_exec1(c, &cmd, &r);
    elc_cmd_free(&cmd);
    if (st) return st;
    if (r->type != REDIS_REPLY_INTEGER || r->integer < 0)
        st = elc_err(ELC_ERR_RUNTIME, "AI.CONFIG GET MODEL_CHUNK_SIZE did not return a non-negative integer");
    else c->chunk_size = r->integer;
    freeReplyObject(r);
    return st;
}

/* Run one command per target (shard) as one pipeline; all replies must be non-errors. */
static elc_status exec_all(elc_client *c, elc_cmd *cmds, size_t n)
{
    redisReply **rep = calloc(n, sizeof *rep);
    if (!rep) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_status st = elc_exec(c, cmds, n, rep);
    for (size_t i = 0; !st && i < n; i++)
        if (rep[i]->type == REDIS_REPLY_ERROR)
            st = elc_err(ELC_ERR_DATABASE, "Redis error when executing command: %s", rep[i]->str);
    if (!st) elc_free_replies(rep, n);
    else for (size_t i = 0; i < n; i++) if (rep[i]) freeReplyObject(rep[i]);
    free(rep);
    return st;
}

static int is_backend(const char *b)
{
    return !strcmp(b, "TF") || !strcmp(b, "TFLITE") || !strcmp(b, "TORCH") || !strcmp(b, "ONNX");
}

elc_status elc_set_model(elc_client *c, const char *name, const void *blob, size_t blob_len,
                         const char *backend, const char *device, int batch_size,
                         int min_batch_size, int min_batch_timeout, const char *tag)
{
    return elc_set_model_io(c, name, blob, blob_len, backend, device, batch_size, min_batch_size,
                            min_batch_timeout, tag, NULL, 0, NULL, 0);
}

/* The key of name as given (already prefixed by the caller): set_model's body. */
static elc_status set_model_key(elc_client *c, const char *key, const void *blob, size_t blob_len,
                                const char *backend, const char *device, int batch_size,
                                int min_batch_size, int min_batch_timeout, const char *tag,
                                const char *const *inputs, size_t n_inputs,
                                const char *const *outputs, size_t n_outputs);

elc_status elc_set_model_io(elc_client *c, const char *name, const void *blob, size_t blob_len,
                            const char *backend, const char *device, int batch_size,
                            int min_batch_size, int min_batch_timeout, const char *tag,
                            const char *const *inputs, size_t n_inputs,
                            const char *const *outputs, size_t n_outputs)
{
    elc_err_clear();
    if (!c || !name || !*name) return elc_err(ELC_ERR_PARAMETER, "The model name must not be empty");
    if (!blob || blob_len == 0) return elc_err(ELC_ERR_PARAMETER, "The model blob must not be empty");
    if (!backend || !is_backend(backend))
        return elc_err(ELC_ERR_PARAMETER, "The backend %s is not supported (TF, TFLITE, TORCH or ONNX)", backend ? backend : "(null)");
    if (!device || (strncmp(device, "CPU", 3) != 0 && strncmp(device, "GPU", 3) != 0))
        return elc_err(ELC_ERR_PARAMETER, "%s is not a valid device.", device ? device : "(null)");
    if (min_batch_size > 0 && batch_size <= 0)
        return elc_err(ELC_ERR_PARAMETER, "batch_size must be non-zero if min_batch_size is used.");
    if (min_batch_timeout > 0 && min_batch_size <= 0)
        return elc_err(ELC_ERR_PARAMETER, "min_batch_size must be non-zero if min_batch_timeout is used.");
    if ((n_inputs && !inputs) || (n_outputs && !outputs))
        return elc_err(ELC_ERR_PARAMETER, "inputs or outputs is NULL");
    if ((n_inputs || n_outputs) && strcmp(backend, "TF") != 0)
        return elc_err(ELC_ERR_PARAMETER, "INPUTS and OUTPUTS in the model set command are only valid for TF models");
    char *key = elc_key_model(c, name, 1);
    if (!key) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_status st = set_model_key(c, key, blob, blob_len, backend, device, batch_size, min_batch_size,
                                  min_batch_timeout, tag, inputs, n_inputs, outputs, n_outputs);
    free(key);
    return st;
}

static elc_status set_model_key(elc_client *c, const char *key, const void *blob, size_t blob_len,
                                const char *backend, const char *device, int batch_size,
                                int min_batch_size, int min_batch_timeout, const char *tag,
                                const char *const *inputs, size_t n_inputs,
                                const char *const *outputs, size_t n_outputs)
{
    elc_status st = get_chunk_size(c);
    if (st) return st;
    size_t nt = n_targets(c);
    elc_cmd *cmds = calloc(nt, sizeof *cmds);
    if (!cmds) return elc_err(ELC_ERR_NOMEM, "out of memory");
    size_t chunk = c->chunk_size > 0 ? (size_t)c->chunk_size : blob_len;
    for (size_t i = 0; i < nt; i++) {
        elc_cmd *m = &cmds[i];
        elc_cmd_init(m);
        elc_cmd_str(m, "AI.MODELSTORE");
        elc_cmd_take(m, elc_shard_key(c, i, key, ""), elc_shard_key_len(c, i, key, ""));
        elc_cmd_route(m, 1);
        elc_cmd_str(m, backend);
        elc_cmd_str(m, device);
        if (tag && *tag) { elc_cmd_str(m, "TAG"); elc_cmd_str(m, tag); }
        if (batch_size > 0) { elc_cmd_str(m, "BATCHSIZE"); elc_cmd_fmt(m, "%d", batch_size); }
        if (min_batch_size > 0) { elc_cmd_str(m, "MINBATCHSIZE"); elc_cmd_fmt(m, "%d", min_batch_size); }
        if (min_batch_timeout > 0) { elc_cmd_str(m, "MINBATCHTIMEOUT"); elc_cmd_fmt(m, "%d", min_batch_timeout); }
        if (n_inputs) {
            elc_cmd_str(m, "INPUTS");
            elc_cmd_fmt(m, "%zu", n_inputs);
            for (size_t k = 0; k < n_inputs; k++) elc_cmd_str(m, inputs[k]);
        }
        if (n_outputs) {
            elc_cmd_str(m, "OUTPUTS");
            elc_cmd_fmt(m, "%zu", n_outputs);
            for (size_t k = 0; k < n_outputs; k++) elc_cmd_str(m, outputs[k]);
        }
        elc_cmd_str(m, "BLOB");
        for (size_t o = 0; o < blob_len; o += chunk)
            elc_cmd_arg(m, (const char *)blob + o, blob_len - o < chunk ? blob_len - o : chunk);
    }
    st = exec_all(c, cmds, nt);
    for (size_t i = 0; i < nt; i++) elc_cmd_free(&cmds[i]);
    free(cmds);
    return st;
}

static elc_status read_file(const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    if (!path || !*path) return elc_err(ELC_ERR_PARAMETER, "The file name must not be empty");
    FILE *f = fopen(path, "rb");
    if (!f) return elc_err(ELC_ERR_PARAMETER, "cannot open the file %s", path);
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (n < cap) break;
        cap *= 2;
        char *nb = realloc(b, cap);
        if (!nb) { free(b); b = NULL; }
        else b = nb;
    }
    int err = ferror(f);
    fclose(f);
    if (!b) return elc_err(ELC_ERR_NOMEM, "out of memory reading %s", path);
    if (err) { free(b); return elc_err(ELC_ERR_RUNTIME, "cannot read the file %s", path); }
    if (n == 0) { free(b); return elc_err(ELC_ERR_PARAMETER, "The file %s is empty", path); }
    *buf = b;
    *len = n;
    return ELC_OK;
}

elc_status elc_set_model_from_file(elc_client *c, const char *name, const char *path,
                                   const char *backend, const char *device, int batch_size,
                                   int min_batch_size, int min_batch_timeout, const char *tag)
{
    elc_err_clear();
    char *b;
    size_t n;
    elc_status st = read_file(path, &b, &n);
    if (st) return st;
    st = elc_set_model(c, name, b, n, backend, device, batch_size, min_batch_size, min_batch_timeout, tag);
    free(b);
    return st;
}

elc_status elc_set_script(elc_client *c, const char *name, const char *device,
                          const char *source, size_t source_len)
{
    elc_err_clear();
    if (!c || !name || !*name) return elc_err(ELC_ERR_PARAMETER, "The script name must not be empty");
    if (!device || (strncmp(device, "CPU", 3) != 0 && strncmp(device, "GPU", 3) != 0))
        return elc_err(ELC_ERR_PARAMETER, "%s is not a valid device.", device ? device : "(null)");
    if (!source) return elc_err(ELC_ERR_PARAMETER, "The script source is NULL");
    if (source_len == (size_t)-1) source_len = strlen(source);
    char *key = elc_key_model(c, name, 1);
    if (!key) return elc_err(ELC_ERR_NOMEM, "out of memory");
    size_t nt = n_targets(c);
    elc_cmd *cmds = calloc(nt, sizeof *cmds);
    if (!cmds) { free(key); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
    for (size_t i = 0; i < nt; i++) {
        elc_cmd_init(&cmds[i]);
        elc_cmd_str(&cmds[i], "AI.SCRIPTSET");
        elc_cmd_take(&cmds[i], elc_shard_key(c, i, key, ""), elc_shard_key_len(c, i, key, ""));
        elc_cmd_route(&cmds[i], 1);
        elc_cmd_str(&cmds[i], device);
        elc_cmd_str(&cmds[i], "SOURCE");
        elc_cmd_arg(&cmds[i], source, source_len);
    }
    elc_status st = exec_all(c, cmds, nt);
    for (size_t i = 0; i < nt; i++) elc_cmd_free(&cmds[i]);
    free(cmds);
    free(key);
    return st;
}

elc_status elc_set_script_from_file(elc_client *c, const char *name, const char *device,
                                    const char *path)
{
    elc_err_clear();
    char *b;
    size_t n;
    elc_status st = read_file(path, &b, &n);
    if (st) return st;
    st = elc_set_script(c, name, device, b, n);
    free(b);
    return st;
}

static elc_status delete_all(elc_client *c, const char *verb, const char *name)
{
    elc_err_clear();
    if (!c || !name || !*name) return elc_err(ELC_ERR_PARAMETER, "The name must not be empty");
    char *key = elc_key_model(c, name, 0);
    if (!key) return elc_err(ELC_ERR_NOMEM, "out of memory");
    size_t nt = n_targets(c);
    elc_cmd *cmds = calloc(nt, sizeof *cmds);
    if (!cmds) { free(key); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
    for (size_t i = 0; i < nt; i++) {
        elc_cmd_init(&cmds[i]);
        elc_cmd_str(&cmds[i], verb);
        elc_cmd_take(&cmds[i], elc_shard_key(c, i, key, ""), elc_shard_key_len(c, i, key, ""));
        elc_cmd_route(&cmds[i], 1);
    }
    elc_status st = exec_all(c, cmds, nt);
    for (size_t i = 0; i < nt; i++) elc_cmd_free(&cmds[i]);
    free(cmds);
    free(key);
    return st;
}

elc_status elc_delete_model(elc_client *c, const char *name) { return delete_all(c, "AI.MODELDEL", name); }
elc_status elc_delete_script(elc_client *c, const char *name) { return delete_all(c, "AI.SCRIPTDEL", name); }

elc_status elc_model_exists(elc_client *c, const char *name, bool *exists)
{
    elc_err_clear();
    if (!c || !name || !*name || !exists) return elc_err(ELC_ERR_PARAMETER, "The model name must not be empty");
    char *key = elc_key_model(c, name, 0);
    char *sk = key ? elc_shard_key(c, 0, key, "") : NULL;
    size_t sl = key ? elc_shard_key_len(c, 0, key, "") : 0;
    free(key);
    if (!sk) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    elc_cmd_str(&cmd, "EXISTS");
    elc_cmd_take(&cmd, sk, sl);
    elc_cmd_route(&cmd, 1);
    redisReply *r;
    elc_status st = elc_exec1(c, &cmd, &r);
    elc_cmd_free(&cmd);
    if (st) return st;
    *exists = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    return ELC_OK;
}

elc_status elc_poll_model(elc_client *c, const char *name, int poll_ms, int num_tries,
                          bool *exists)
{
    return elc_poll_exists(c, elc_model_exists, name, poll_ms, num_tries, exists);
}

/* Copy tensor src to dst (AI.TENSORGET then AI.TENSORSET). */
elc_status elc_copy_tensor_key(elc_client *c, const char *src, size_t slen, const char *dst,
                               size_t dlen)
{
    elc_cmd g;
    elc_cmd_init(&g);
    elc_cmd_str(&g, "AI.TENSORGET");
    elc_cmd_arg(&g, src, slen);
    elc_cmd_route(&g, 1);
    elc_cmd_str(&g, "META");
    elc_cmd_str(&g, "BLOB");
    redisReply *r;
    elc_status st = elc_exec1(c, &g, &r);
    elc_cmd_free(&g);
    if (st) return st;
    elc_dtype t;
    size_t *d = NULL, nd, bl;
    const char *blob;
    st = elc_parse_tensor_reply(r, src, &t, &d, &nd, &blob, &bl);
    if (!st) {
        elc_cmd s;
        elc_cmd_init(&s);
        elc_cmd_str(&s, "AI.TENSORSET");
        elc_cmd_arg(&s, dst, dlen);
        elc_cmd_route(&s, 1);
        elc_cmd_str(&s, elc_dtype_name(t));
        for (size_t k = 0; k < nd; k++) elc_cmd_fmt(&s, "%zu", d[k]);
        elc_cmd_str(&s, "BLOB");
        elc_cmd_arg(&s, blob, bl);
        redisReply *r2;
        st = elc_exec1(c, &s, &r2);
        if (r2) freeReplyObject(r2);
        elc_cmd_free(&s);
    }
    free(d);
    freeReplyObject(r);
    return st;
}

/* Shared by run_model and run_script. fn == NULL: model. */
static elc_status run(elc_client *c, const char *name, const char *fn, const char *const *inputs,
                      size_t nin, const char *const *outputs, size_t nout)
{
    elc_err_clear();
    if (!c || !name || !*name) return elc_err(ELC_ERR_PARAMETER, "The name must not be empty");
    if ((nin && !inputs) || (nout && !outputs)) return elc_err(ELC_ERR_PARAMETER, "inputs or outputs is NULL");
    if (!fn && (nin == 0 || nout == 0)) return elc_err(ELC_ERR_PARAMETER, "A model needs at least one input and one output");
    elc_status st = ELC_OK;
    char **in = calloc(nin + 1, sizeof *in), **out = calloc(nout + 1, sizeof *out);
    char **tin = calloc(nin + 1, sizeof *tin), **tout = calloc(nout + 1, sizeof *tout);
    size_t *tinl = calloc(nin + 1, sizeof *tinl), *toutl = calloc(nout + 1, sizeof *toutl);
    char *mkey = elc_key_model(c, name, 0), *skey = NULL;
    size_t skl = 0, range = 0;
    if (!in || !out || !tin || !tout || !tinl || !toutl || !mkey) { st = elc_err(ELC_ERR_NOMEM, "out of memory"); goto out; }
    for (size_t i = 0; i < nin; i++)
        if (!(in[i] = elc_key_tensor(c, inputs[i], 0))) { st = elc_err(ELC_ERR_NOMEM, "out of memory"); goto out; }
    for (size_t i = 0; i < nout; i++)
        if (!(out[i] = elc_key_tensor(c, outputs[i], 1))) { st = elc_err(ELC_ERR_NOMEM, "out of memory"); goto out; }
    if (c->cluster) {
        /* the shard of the first input (or of the model key when there is no input) */
        const char *k0 = nin ? in[0] : mkey;
        int slot = elc_key_slot(k0, strlen(k0));
        for (size_t i = 0; i < c->n_ranges; i++)
            if (slot >= c->ranges[i].first && slot <= c->ranges[i].last) range = i;
        for (size_t i = 0; i < nin; i++) {
            tin[i] = elc_shard_key(c, range, in[i], ".TMP");
            tinl[i] = elc_shard_key_len(c, range, in[i], ".TMP");
            if (!tin[i]) { st = elc_err(ELC_ERR_NOMEM, "out of memory"); goto out; }
            if ((st = elc_copy_tensor_key(c, in[i], strlen(in[i]), tin[i], tinl[i]))) goto out;
        }
        for (size_t i = 0; i < nout; i++) {
            tout[i] = elc_shard_key(c, range, out[i], ".TMP");
            toutl[i] = elc_shard_key_len(c, range, out[i], ".TMP");
            if (!tout[i]) { st = elc_err(ELC_ERR_NOMEM, "out of memory"); goto out; }
        }
    } else {
        for (size_t i = 0; i < nin; i++) { tin[i] = strdup(in[i]); tinl[i] = strlen(in[i]); }
        for (size_t i = 0; i < nout; i++) { tout[i] = strdup(out[i]); toutl[i] = strlen(out[i]); }
    }
    skey = elc_shard_key(c, range, mkey, "");
    skl = elc_shard_key_len(c, range, mkey, "");
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    if (fn) {
        elc_cmd_str(&cmd, "AI.SCRIPTRUN");
        elc_cmd_arg(&cmd, skey, skl);
        elc_cmd_route(&cmd, 1);
        elc_cmd_str(&cmd, fn);
        elc_cmd_str(&cmd, "INPUTS");
        for (size_t i = 0; i < nin; i++) elc_cmd_arg(&cmd, tin[i], tinl[i]);
        elc_cmd_str(&cmd, "OUTPUTS");
        for (size_t i = 0; i < nout; i++) elc_cmd_arg(&cmd, tout[i], toutl[i]);
    } else {
        elc_cmd_str(&cmd, "AI.MODELEXECUTE");
        elc_cmd_arg(&cmd, skey, skl);
        elc_cmd_route(&cmd, 1);
        elc_cmd_str(&cmd, "INPUTS");
        elc_cmd_fmt(&cmd, "%zu", nin);
        for (size_t i = 0; i < nin; i++) elc_cmd_arg(&cmd, tin[i], tinl[i]);
        elc_cmd_str(&cmd, "OUTPUTS");
        elc_cmd_fmt(&cmd, "%zu", nout);
        for (size_t i = 0; i < nout; i++) elc_cmd_arg(&cmd, tout[i], toutl[i]);
        elc_cmd_str(&cmd, "TIMEOUT");
        elc_cmd_fmt(&cmd, "%lld", c->model_timeout_ms);
    }
    redisReply *r;
    st = elc_exec1(c, &cmd, &r);
    if (r) freeReplyObject(r);
    elc_cmd_free(&cmd);
    if (!st && c->cluster) {
        for (size_t i = 0; i < nout && !st; i++) st = elc_copy_tensor_key(c, tout[i], toutl[i], out[i], strlen(out[i]));
    }
    if (c->cluster) {
        elc_cmd del;
        elc_cmd_init(&del);
        elc_cmd_str(&del, "DEL");
        for (size_t i = 0; i < nout; i++) if (tout[i]) elc_cmd_arg(&del, tout[i], toutl[i]);
        for (size_t i = 0; i < nin; i++) if (tin[i]) elc_cmd_arg(&del, tin[i], tinl[i]);
        elc_cmd_route(&del, 1);
        if (del.argc > 1) {
            char saved[2048];
            snprintf(saved, sizeof saved, "%s", elc_last_error());
            redisReply *dr;
            elc_status st2 = elc_exec1(c, &del, &dr);
            if (dr) freeReplyObject(dr);
            if (st) elc_err(st, "%s", saved);
            else st = st2;
        }
        elc_cmd_free(&del);
    }
out:
    for (size_t i = 0; in && i < nin; i++) free(in[i]);
    for (size_t i = 0; out && i < nout; i++) free(out[i]);
    for (size_t i = 0; tin && i < nin; i++) free(tin[i]);
    for (size_t i = 0; tout && i < nout; i++) free(tout[i]);
    free(in); free(out); free(tin); free(tout); free(tinl); free(toutl);
    free(mkey);
    free(skey);
    return st;
}

elc_status elc_run_model(elc_client *c, const char *name, const char *const *inputs,
                         size_t n_inputs, const char *const *outputs, size_t n_outputs)
{
    return run(c, name, NULL, inputs, n_inputs, outputs, n_outputs);
}

elc_status elc_run_script(elc_client *c, const char *name, const char *function,
                          const char *const *inputs, size_t n_inputs,
                          const char *const *outputs, size_t n_outputs)
{
    if (!function || !*function) return elc_err(ELC_ERR_PARAMETER, "The script function name must not be empty");
    return run(c, name, function, inputs, n_inputs, outputs, n_outputs);
}

/* stored models and scripts ---------------------------------------------------------------- */

/* AI.MODELGET key BLOB / AI.SCRIPTGET key SOURCE on the first shard; the blob may come back in
 * chunks (an array of strings), which are joined. */
static elc_status get_stored(elc_client *c, const char *verb, const char *what, const char *name,
                             char **data, size_t *len)
{
    elc_err_clear();
    if (!data || !len) return elc_err(ELC_ERR_PARAMETER, "data or len is NULL");
    *data = NULL;
    *len = 0;
    if (!c || !name || !*name) return elc_err(ELC_ERR_PARAMETER, "The %s name must not be empty", what);
    char *key = elc_key_model(c, name, 0);
    if (!key) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    elc_cmd_str(&cmd, verb);
    elc_cmd_take(&cmd, elc_shard_key(c, 0, key, ""), elc_shard_key_len(c, 0, key, ""));
    elc_cmd_route(&cmd, 1);
    elc_cmd_str(&cmd, strcmp(what, "model") == 0 ? "BLOB" : "SOURCE");
    free(key);
    redisReply *r;
    elc_status st = elc_exec1(c, &cmd, &r);
    elc_cmd_free(&cmd);
    if (st) return st;
    size_t total = 0;
    if (r->type == REDIS_REPLY_STRING) total = r->len;
    else if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            if (r->element[i]->type != REDIS_REPLY_STRING) { total = (size_t)-1; break; }
            total += r->element[i]->len;
        }
    } else total = (size_t)-1;
    if (total == (size_t)-1) {
        freeReplyObject(r);
        return elc_err(ELC_ERR_RUNTIME, "An unexpected reply was returned for the %s %s", what, name);
    }
    char *b = malloc(total + 1);
    if (!b) { freeReplyObject(r); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
    if (r->type == REDIS_REPLY_STRING) memcpy(b, r->str, total);
    else {
        size_t o = 0;
        for (size_t i = 0; i < r->elements; i++) {
            memcpy(b + o, r->element[i]->str, r->element[i]->len);
            o += r->element[i]->len;
        }
    }
    b[total] = '\0';
    freeReplyObject(r);
    *data = b;
    *len = total;
    return ELC_OK;
}

elc_status elc_get_model(elc_client *c, const char *name, char **data, size_t *len)
{
    return get_stored(c, "AI.MODELGET", "model", name, data, len);
}

elc_status elc_get_script(elc_client *c, const char *name, char **data, size_t *len)
{
    return get_stored(c, "AI.SCRIPTGET", "script", name, data, len);
}

elc_status elc_set_model_chunk_size(elc_client *c, long long chunk_size)
{
    elc_err_clear();
    if (!c || chunk_size <= 0) return elc_err(ELC_ERR_PARAMETER, "The chunk size must be positive");
    size_t nt = n_targets(c);
    elc_cmd *cmds = calloc(nt, sizeof *cmds);
    if (!cmds) return elc_err(ELC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nt; i++) {
        elc_cmd_init(&cmds[i]);
        elc_cmd_str(&cmds[i], "AI.CONFIG");
        elc_cmd_str(&cmds[i], "MODEL_CHUNK_SIZE");
        elc_cmd_fmt(&cmds[i], "%lld", chunk_size);
        cmds[i].node = c->cluster ? c->ranges[i].node : 0;
    }
    elc_status st = exec_all(c, cmds, nt);
    for (size_t i = 0; i < nt; i++) elc_cmd_free(&cmds[i]);
    free(cmds);
    if (!st) c->chunk_size = chunk_size;
    return st;
}

/* multi-GPU -------------------------------------------------------------------------------- */

static elc_status check_gpus(int first_gpu, int num_gpus)
{
    if (first_gpu < 0) return elc_err(ELC_ERR_PARAMETER, "first_gpu must be a non-negative integer");
    if (num_gpus < 1) return elc_err(ELC_ERR_PARAMETER, "num_gpus must be a positive integer");
    return ELC_OK;
}

/* "<name>.GPU:<i>" (malloc'd) and "GPU:<i>" in dev */
static char *gpu_name(const char *name, int i, char *dev, size_t dlen)
{
    snprintf(dev, dlen, "GPU:%d", i);
    return elc_strcat3(name, ".", dev);
}

elc_status elc_set_model_multigpu(elc_client *c, const char *name, const void *blob,
                                  size_t blob_len, const char *backend, int first_gpu,
                                  int num_gpus, int batch_size, int min_batch_size,
                                  int min_batch_timeout, const char *tag,
                                  const char *const *inputs, size_t n_inputs,
                                  const char *const *outputs, size_t n_outputs)
{
    elc_status st = check_gpus(first_gpu, num_gpus);
    if (st) return st;
    if (!name || !*name) return elc_err(ELC_ERR_PARAMETER, "The model name must not be empty");
    for (int i = first_gpu; i < num_gpus && !st; i++) {
        char dev[32];
        char *n = gpu_name(name, i, dev, sizeof dev);
        if (!n) return elc_err(ELC_ERR_NOMEM, "out of memory");
        st = elc_set_model_io(c, n, blob, blob_len, backend, dev, batch_size, min_batch_size,
                              min_batch_timeout, tag, inputs, n_inputs, outputs, n_outputs);
        free(n);
    }
    if (!st) st = elc_set_model_io(c, name, blob, blob_len, backend, "GPU", batch_size, min_batch_size,
                                   min_batch_timeout, tag, inputs, n_inputs, outputs, n_outputs);
    return st;
}

elc_status elc_set_script_multigpu(elc_client *c, const char *name, const char *source,
                                   size_t source_len, int first_gpu, int num_gpus)
{
    elc_status st = check_gpus(first_gpu, num_gpus);
    if (st) return st;
    if (!name || !*name) return elc_err(ELC_ERR_PARAMETER, "The script name must not be empty");
    for (int i = first_gpu; i < num_gpus && !st; i++) {
        char dev[32];
        char *n = gpu_name(name, i, dev, sizeof dev);
        if (!n) return elc_err(ELC_ERR_NOMEM, "out of memory");
        st = elc_set_script(c, n, dev, source, source_len);
        free(n);
    }
    if (!st) st = elc_set_script(c, name, "GPU", source, source_len);
    return st;
}

static int gpu_of(int offset, int first_gpu, int num_gpus)
{
    int m = offset % num_gpus;
    if (m < 0) m += num_gpus;
    return first_gpu + m;
}

elc_status elc_run_model_multigpu(elc_client *c, const char *name, const char *const *inputs,
                                  size_t n_inputs, const char *const *outputs, size_t n_outputs,
                                  int offset, int first_gpu, int num_gpus)
{
    elc_status st = check_gpus(first_gpu, num_gpus);
    if (st) return st;
    if (!name || !*name) return elc_err(ELC_ERR_PARAMETER, "The model name must not be empty");
    char dev[32];
    char *n = gpu_name(name, gpu_of(offset, first_gpu, num_gpus), dev, sizeof dev);
    if (!n) return elc_err(ELC_ERR_NOMEM, "out of memory");
    st = elc_run_model(c, n, inputs, n_inputs, outputs, n_outputs);
    if (st) {
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", elc_last_error());
        elc_err(st, "An error occurred while executing the %s %s on %s: %s", "model", n, dev, saved);
    }
    free(n);
    return st;
}

elc_status elc_run_script_multigpu(elc_client *c, const char *name, const char *function,
                                   const char *const *inputs, size_t n_inputs,
                                   const char *const *outputs, size_t n_outputs, int offset,
                                   int first_gpu, int num_gpus)
{
    elc_status st = check_gpus(first_gpu, num_gpus);
    if (st) return st;
    if (!name || !*name) return elc_err(ELC_ERR_PARAMETER, "The script name must not be empty");
    char dev[32];
    char *n = gpu_name(name, gpu_of(offset, first_gpu, num_gpus), dev, sizeof dev);
    if (!n) return elc_err(ELC_ERR_NOMEM, "out of memory");
    st = elc_run_script(c, n, function, inputs, n_inputs, outputs, n_outputs);
    if (st) {
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", elc_last_error());
        elc_err(st, "An error occurred while executing the %s %s on %s: %s", "script", n, dev, saved);
    }
    free(n);
    return st;
}

static elc_status delete_multigpu(elc_client *c, const char *verb, const char *name,
                                  int first_gpu, int num_gpus)
{
    elc_status st = check_gpus(first_gpu, num_gpus);
    if (st) return st;
    if (!c || !name || !*name) return elc_err(ELC_ERR_PARAMETER, "The name must not be empty");
    for (int i = first_gpu; i < num_gpus && !st; i++) {
        char dev[32];
        char *n = gpu_name(name, i, dev, sizeof dev);
        if (!n) return elc_err(ELC_ERR_NOMEM, "out of memory");
        st = delete_all(c, verb, n);
        free(n);
    }
    return st ? st : delete_all(c, verb, name);
}

elc_status elc_delete_model_multigpu(elc_client *c, const char *name, int first_gpu,
                                     int num_gpus)
{
    return delete_multigpu(c, "AI.MODELDEL", name, first_gpu, num_gpus);
}

elc_status elc_delete_script_multigpu(elc_client *c, const char *name, int first_gpu,
                                      int num_gpus)
{
    return delete_multigpu(c, "AI.SCRIPTDEL", name, first_gpu, num_gpus);
}
