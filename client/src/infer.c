/* infer.c — model inference for a solver that runs one model every step (the learned SGS model).
 *
 * One request is one command, a DAG of three ops on the caller's own names:
 *     AI.DAGEXECUTE_RO ROUTING <model> TIMEOUT <ms>
 *       |> AI.TENSORSET <base>.in DOUBLE|FLOAT n nin BLOB ...   (elc_infer_set_input_dtype)
 *       |> AI.MODELEXECUTE <model> INPUTS 1 <base>.in OUTPUTS 1 <base>.out
 *       |> AI.TENSORGET <base>.out META BLOB
 * The input and output are the DAG's own tensors (nothing is written to the keyspace), and the
 * database batches such DAGs like AI.MODELEXECUTE requests (docs/database.md, "DAGs in a
 * batch"). In cluster mode the model key carries the hash tag of the caller's shard, so the
 * request goes to that shard and runs the model's copy there.
 *
 * A background thread with its own connection does the round trip: elc_infer_start returns at
 * once and the caller computes while the database works; elc_infer_finish waits until a
 * deadline and gives up (ELC_ERR_TIMEOUT) instead of blocking the solver. A request abandoned
 * that way finishes in the background and is discarded; while it is still in flight the next
 * start fails at once. The connection makes a single attempt per request (no resend): a
 * solver has a fallback and would rather use it than wait. */
#define _GNU_SOURCE
#include "elc_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct elc_infer {
    pthread_mutex_t mu;
    pthread_cond_t cv_req, cv_done;
    pthread_t thread;
    int stop;
    /* configuration */
    char *address, *base;
    int shard, timeout_ms;
    /* worker-owned */
    elc_client *client;
    /* the request (guarded by mu; the worker copies what it needs) */
    unsigned long long seq_req, seq_done;
    int busy;                       /* the worker is running a request */
    char *model, *meta;             /* meta may be NULL */
    void *in;                       /* row-major n x nin, of in_dtype */
    size_t n, nin, cap_in;          /* cap_in in bytes */
    elc_dtype in_dtype, next_dtype; /* of the request in flight; of the next ones */
    double t_start;
    /* the result of request seq_done */
    double lat;                     /* its start-to-answer seconds */
    elc_status st;
    char err[1024];
    /* the answer as it came: row-major rows x cols of ans_dt, inside the reply ans (kept until
     * the next request), converted by finish straight into the caller's array */
    redisReply *ans;
    const char *ans_blob;
    elc_dtype ans_dt;
    size_t rows, cols;
    elc_infer_meta meta_res;
    elc_infer_stats stats;
    double lat_sum;
};

static void set_result_err(elc_infer *f, elc_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_result_err(elc_infer *f, elc_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, sizeof f->err, fmt, ap);
    va_end(ap);
    f->st = st;
}

/* Read the metadata dataset (version, normalisation); absent fields leave the defaults. A
 * dataset that does not exist is not an error (found = 0); a failed read is. */
static elc_status read_meta(elc_client *c, const char *name, elc_infer_meta *m)
{
    memset(m, 0, sizeof *m);
    m->version = -1;
    elc_dataset *ds = NULL;
    elc_status st = elc_get_dataset(c, name, &ds);
    if (st == ELC_ERR_KEY) return ELC_OK;
    if (st != ELC_OK || !ds) return st ? st : ELC_ERR_INTERNAL;
    m->found = 1;
    const void *vals;
    size_t count;
    elc_meta_type t;
    if (elc_dataset_get_meta_scalars(ds, "version", &vals, &count, &t) == ELC_OK && count > 0) {
        if (t == ELC_META_INT64) m->version = ((const int64_t *)vals)[count - 1];
        else if (t == ELC_META_INT32) m->version = ((const int32_t *)vals)[count - 1];
        else if (t == ELC_META_UINT64) m->version = (int64_t)((const uint64_t *)vals)[count - 1];
    }
    const char *s;
    size_t len;
    if (elc_dataset_get_meta_string(ds, "normalisation", 0, &s, &len) == ELC_OK) {
        /* "applied by the caller": the caller maps inputs to (x - f_mean)/f_std and outputs
         * back as y*l_std + l_mean; anything else means the model does it itself */
        static const char by_caller[] = "applied by the caller";
        m->caller_normalises = len == sizeof by_caller - 1 && memcmp(s, by_caller, len) == 0;
    }
    if (elc_dataset_get_meta_string(ds, "input_dtype", 0, &s, &len) == ELC_OK)
        m->float_inputs = len == 5 && memcmp(s, "FLOAT", 5) == 0;
    if (m->caller_normalises) {
        const char *names[4] = {"f_mean", "f_std", "l_mean", "l_std"};
        double *dst[4] = {m->f_mean, m->f_std, m->l_mean, m->l_std};
        size_t *cnt[4] = {&m->n_in, &m->n_in, &m->n_out, &m->n_out};
        for (int k = 0; k < 4; k++) {
            const void *data;
            const size_t *dims;
            size_t nd;
            elc_dtype dt;
            if (elc_dataset_get_tensor(ds, names[k], &data, &dims, &nd, &dt) != ELC_OK ||
                nd != 1 || dims[0] > ELC_INFER_MAX_NORM || (dt != ELC_DOUBLE && dt != ELC_FLOAT)) {
                m->caller_normalises = -1;   /* announced but unusable */
                break;
            }
            *cnt[k] = dims[0];
            for (size_t i = 0; i < dims[0]; i++)
                dst[k][i] = dt == ELC_DOUBLE ? ((const double *)data)[i] : ((const float *)data)[i];
        }
    }
    elc_dataset_destroy(ds);
    return ELC_OK;
}

/* Whether an error reply is Redis refusing any command in its present state (out of memory,
 * loading, busy, a cluster or replica not ready, no permission) rather than an answer about
 * this request: its first word is one of Redis's error codes for those. */
static int server_refusal(const char *err)
{
    static const char *codes[] = {"OOM", "MISCONF", "BUSY", "LOADING", "CLUSTERDOWN", "TRYAGAIN",
                                  "MASTERDOWN", "READONLY", "NOREPLICAS", "NOAUTH", "NOPERM",
                                  "MOVED", "ASK"};
    size_t n = strcspn(err, " ");
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strlen(codes[i]) == n && strncmp(err, codes[i], n) == 0) return 1;
    return 0;
}

/* One request: connect if needed, optionally read the metadata, run the pipeline. Called by the
 * worker without the lock; writes f->st/err/out/rows/cols/meta_res. */
static void serve(elc_infer *f, const char *model, const char *meta, const void *in,
                  elc_dtype in_dtype, size_t n, size_t nin)
{
    f->st = ELC_OK;
    f->err[0] = '\0';
    f->rows = f->cols = 0;
    if (f->ans) freeReplyObject(f->ans);
    f->ans = NULL;
    f->ans_blob = NULL;
    memset(&f->meta_res, 0, sizeof f->meta_res);
    f->meta_res.version = -1;
    if (!f->client) {
        /* one quick connection attempt, reply timeout = the caller's deadline */
        elc_status st = elc_client_create_opts(&f->client, f->address, -1, NULL, 1,
                                               f->timeout_ms > 0 ? f->timeout_ms : 1000);
        if (st) {
            set_result_err(f, ELC_ERR_DATABASE, "%s", elc_last_error());
            return;
        }
    }
    elc_client *c = f->client;
    c->single_attempt = 1;
    if (meta) {
        elc_status st = read_meta(c, meta, &f->meta_res);
        if (st) {
            set_result_err(f, c->io_gave_up ? ELC_ERR_DATABASE : st, "reading %s failed: %s", meta,
                           elc_last_error());
            return;
        }
        if (!model) return;     /* a metadata read only */
    }
    size_t range = 0;
    if (c->cluster && c->n_ranges > 0) range = (size_t)f->shard % c->n_ranges;
    char *mkey = elc_key_model(c, model, 0);
    char *skey = mkey ? elc_shard_key(c, range, mkey, "") : NULL;
    char *kin = elc_shard_key(c, range, f->base, ".in");
    char *kout = elc_shard_key(c, range, f->base, ".out");
    /* lengths: a shard's hash tag may contain NUL bytes */
    size_t lskey = mkey ? elc_shard_key_len(c, range, mkey, "") : 0;
    size_t lkin = elc_shard_key_len(c, range, f->base, ".in");
    size_t lkout = elc_shard_key_len(c, range, f->base, ".out");
    if (!mkey || !skey || !kin || !kout) {
        set_result_err(f, ELC_ERR_NOMEM, "out of memory");
        free(mkey); free(skey); free(kin); free(kout);
        return;
    }
    /* one command: the input, the run and the answer as the ops of one DAG */
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    /* read-only: it writes nothing to the keyspace, so a server above maxmemory or unable to
     * persist still answers it */
    elc_cmd_str(&cmd, "AI.DAGEXECUTE_RO");
    elc_cmd_str(&cmd, "ROUTING");
    elc_cmd_arg(&cmd, skey, lskey);
    elc_cmd_route(&cmd, 2);
    elc_cmd_str(&cmd, "TIMEOUT");
    elc_cmd_fmt(&cmd, "%d", f->timeout_ms > 0 ? f->timeout_ms : 1000);
    elc_cmd_str(&cmd, "|>");
    elc_cmd_str(&cmd, "AI.TENSORSET");
    elc_cmd_arg(&cmd, kin, lkin);
    elc_cmd_str(&cmd, in_dtype == ELC_FLOAT ? "FLOAT" : "DOUBLE");
    elc_cmd_fmt(&cmd, "%zu", n);
    elc_cmd_fmt(&cmd, "%zu", nin);
    elc_cmd_str(&cmd, "BLOB");
    elc_cmd_arg(&cmd, in, n * nin * elc_dtype_size(in_dtype));
    elc_cmd_str(&cmd, "|>");
    elc_cmd_str(&cmd, "AI.MODELEXECUTE");
    elc_cmd_arg(&cmd, skey, lskey);
    elc_cmd_str(&cmd, "INPUTS");
    elc_cmd_str(&cmd, "1");
    elc_cmd_arg(&cmd, kin, lkin);
    elc_cmd_str(&cmd, "OUTPUTS");
    elc_cmd_str(&cmd, "1");
    elc_cmd_arg(&cmd, kout, lkout);
    elc_cmd_str(&cmd, "|>");
    elc_cmd_str(&cmd, "AI.TENSORGET");
    elc_cmd_arg(&cmd, kout, lkout);
    elc_cmd_str(&cmd, "META");
    elc_cmd_str(&cmd, "BLOB");
    redisReply *rep = NULL;
    elc_status st = elc_exec(c, &cmd, 1, &rep);
    redisReply *r[3] = {NULL, NULL, NULL};
    const redisReply *failed_op = NULL;   /* the first op that failed (the others reply NA) */
    if (!st && rep->type == REDIS_REPLY_ARRAY && rep->elements == 3)
        for (int i = 0; i < 3; i++) {
            r[i] = rep->element[i];
            if (!failed_op && r[i]->type == REDIS_REPLY_ERROR) failed_op = r[i];
        }
    if (st) {
        set_result_err(f, c->io_gave_up ? ELC_ERR_DATABASE : st, "%s", elc_last_error());
    } else if (rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "TIMEDOUT") == 0) {
        set_result_err(f, ELC_ERR_TIMEOUT, "the database gave up running %s (TIMEDOUT)", model);
    } else if (rep->type == REDIS_REPLY_ERROR) {
        /* refused as a whole, before anything ran: by the server's state (the solver falls
         * back), for want of the model, or for the request itself */
        if (server_refusal(rep->str))
            set_result_err(f, ELC_ERR_DATABASE, "the database refused the request: %s", rep->str);
        else if (strstr(rep->str, "model key is empty"))
            set_result_err(f, ELC_ERR_KEY, "the model %s is not stored in the database", model);
        else
            set_result_err(f, ELC_ERR_RUNTIME, "running the model %s failed: %s", model, rep->str);
    } else if (!r[0]) {
        set_result_err(f, ELC_ERR_RUNTIME, "running the model %s: the database's answer is not "
                       "the three replies of the request", model);
    } else if (failed_op) {
        set_result_err(f, ELC_ERR_RUNTIME, "running the model %s failed: %s", model, failed_op->str);
    } else {
        elc_dtype dt;
        size_t *dims = NULL, nd = 0, blen = 0;
        const char *blob = NULL;
        st = elc_parse_tensor_reply(r[2], f->base, &dt, &dims, &nd, &blob, &blen);
        if (st) {
            set_result_err(f, st, "%s", elc_last_error());
        } else if (dt != ELC_DOUBLE && dt != ELC_FLOAT) {
            set_result_err(f, ELC_ERR_TYPE, "the model %s returned a tensor of dtype %s; expected "
                           "DOUBLE or FLOAT", model, elc_dtype_name(dt));
        } else if (nd != 2 || dims[0] != n) {
            char shape[128] = "";
            size_t o = 0;
            for (size_t k = 0; k < nd && o < sizeof shape - 24; k++)
                o += (size_t)snprintf(shape + o, sizeof shape - o, k ? ", %zu" : "%zu", dims[k]);
            set_result_err(f, ELC_ERR_TYPE, "the model %s returned a tensor of shape (%s); expected "
                           "(%zu, k) for %zu input rows", model, shape, n, n);
        } else {
            /* kept as it came (the whole reply, which owns it): finish converts it into the
             * caller's array in one pass */
            f->ans = rep;
            rep = NULL;
            f->ans_blob = blob;
            f->ans_dt = dt;
            f->rows = dims[0];
            f->cols = dims[1];
        }
        free(dims);
    }
    if (rep) freeReplyObject(rep);
    elc_cmd_free(&cmd);
    free(mkey); free(skey); free(kin); free(kout);
}

static void *infer_main(void *arg)
{
    elc_infer *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (f->seq_req == f->seq_done && !f->stop) pthread_cond_wait(&f->cv_req, &f->mu);
        if (f->stop) break;
        unsigned long long seq = f->seq_req;
        f->busy = 1;
        char *model = f->model ? strdup(f->model) : NULL;
        char *meta = f->meta ? strdup(f->meta) : NULL;
        size_t n = f->n, nin = f->nin;
        elc_dtype in_dtype = f->in_dtype;
        double t0 = f->t_start;
        int oom = (f->model && !model) || (f->meta && !meta);
        /* the input buffer is not touched by start() while busy */
        pthread_mutex_unlock(&f->mu);
        if (oom) set_result_err(f, ELC_ERR_NOMEM, "out of memory");
        else serve(f, model, meta, f->in, in_dtype, n, nin);
        free(model);
        free(meta);
        double lat = elc_now() - t0;
        pthread_mutex_lock(&f->mu);
        f->seq_done = seq;
        f->busy = 0;
        f->lat = lat;             /* counted by finish, for answers it hands out only */
        pthread_cond_broadcast(&f->cv_done);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

elc_status elc_infer_create(elc_infer **out, const char *address, const char *base, int shard,
                            int timeout_ms)
{
    elc_err_clear();
    if (!out) return elc_err(ELC_ERR_PARAMETER, "elc_infer_create: out is NULL");
    *out = NULL;
    if (!base || !*base) return elc_err(ELC_ERR_PARAMETER, "The key base must not be empty");
    if (timeout_ms <= 0) return elc_err(ELC_ERR_PARAMETER, "The inference timeout must be positive (got %d ms)", timeout_ms);
    if (shard < 0) return elc_err(ELC_ERR_PARAMETER, "The shard index must be >= 0");
    if (!address) {
        const char *a = getenv("SSDB");
        if (!a || !*a) return elc_err(ELC_ERR_PARAMETER, "The environment variable SSDB must be set to the database address (host:port or unix:///path)");
    }
    elc_infer *f = calloc(1, sizeof *f);
    if (!f) return elc_err(ELC_ERR_NOMEM, "out of memory");
    f->address = address ? strdup(address) : NULL;
    f->base = strdup(base);
    f->shard = shard;
    f->timeout_ms = timeout_ms;
    f->in_dtype = f->next_dtype = ELC_DOUBLE;
    if ((address && !f->address) || !f->base) {
        free(f->address); free(f->base); free(f);
        return elc_err(ELC_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv_req, NULL);
    pthread_cond_init(&f->cv_done, NULL);
    int rc = pthread_create(&f->thread, NULL, infer_main, f);
    if (rc) {
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv_req);
        pthread_cond_destroy(&f->cv_done);
        free(f->address); free(f->base); free(f);
        return elc_err(ELC_ERR_RUNTIME, "cannot start the inference thread: %s", strerror(rc));
    }
    *out = f;
    return ELC_OK;
}

/* Rows per block of the conversions between the caller's column-major doubles and the wire's
 * row-major values: each column of a block is read (or written) contiguously, and the block's
 * rows on the row-major side (256 x a few values) stay in the L1 cache meanwhile. */
#define ELC_INFER_BLOCK 256

/* in (n, nin) doubles in the caller's layout -> dst row-major floats, in one pass */
static void copy_to_float(float *dst, const double *in, size_t n, size_t nin, elc_layout layout)
{
    if (layout == ELC_LAYOUT_FORTRAN) {
        for (size_t i0 = 0; i0 < n; i0 += ELC_INFER_BLOCK) {
            size_t i1 = i0 + ELC_INFER_BLOCK < n ? i0 + ELC_INFER_BLOCK : n;
            for (size_t j = 0; j < nin; j++) {
                const double *col = in + j * n;
                for (size_t i = i0; i < i1; i++) dst[i * nin + j] = (float)col[i];
            }
        }
    } else {
        for (size_t k = 0; k < n * nin; k++) dst[k] = (float)in[k];
    }
}

/* the answer, row-major (n, k) of dt (DOUBLE or FLOAT) -> out (n, k) doubles in the caller's
 * layout, in one pass */
static void answer_to_double(double *out, const char *blob, elc_dtype dt, size_t n, size_t k,
                             elc_layout layout)
{
    if (dt == ELC_DOUBLE) {
        size_t dims[2] = {n, k};
        if (layout == ELC_LAYOUT_FORTRAN) elc_c2f(out, blob, dims, 2, sizeof(double));
        else memcpy(out, blob, n * k * sizeof(double));
        return;
    }
    const float *src = (const float *)blob;
    if (layout == ELC_LAYOUT_FORTRAN) {
        for (size_t i0 = 0; i0 < n; i0 += ELC_INFER_BLOCK) {
            size_t i1 = i0 + ELC_INFER_BLOCK < n ? i0 + ELC_INFER_BLOCK : n;
            for (size_t j = 0; j < k; j++) {
                double *col = out + j * n;
                for (size_t i = i0; i < i1; i++) col[i] = src[i * k + j];
            }
        }
    } else {
        for (size_t q = 0; q < n * k; q++) out[q] = src[q];
    }
}

elc_status elc_infer_set_input_dtype(elc_infer *f, elc_dtype dtype)
{
    elc_err_clear();
    if (!f) return elc_err(ELC_ERR_PARAMETER, "elc_infer_set_input_dtype: NULL handle");
    if (dtype != ELC_DOUBLE && dtype != ELC_FLOAT)
        return elc_err(ELC_ERR_PARAMETER, "The inputs of an inference are sent as DOUBLE or FLOAT, "
                       "not %s", elc_dtype_name(dtype));
    pthread_mutex_lock(&f->mu);
    f->next_dtype = dtype;
    pthread_mutex_unlock(&f->mu);
    return ELC_OK;
}

elc_status elc_infer_start(elc_infer *f, const char *model, const char *meta, const double *in,
                           size_t n, size_t nin, elc_layout layout)
{
    elc_err_clear();
    if (!f) return elc_err(ELC_ERR_PARAMETER, "elc_infer_start: NULL handle");
    int meta_only = (!model || !*model);
    if (meta_only && (!meta || !*meta))
        return elc_err(ELC_ERR_PARAMETER, "elc_infer_start: neither a model nor a metadata dataset");
    if (!meta_only && (!in || n == 0 || nin == 0))
        return elc_err(ELC_ERR_PARAMETER, "The input must have at least one row and one column");
    pthread_mutex_lock(&f->mu);
    f->stats.requests++;
    if (f->busy || f->seq_req != f->seq_done) {
        f->stats.busy++;
        pthread_mutex_unlock(&f->mu);
        return elc_err(ELC_ERR_TIMEOUT, "the previous request to %s is still in flight",
                       meta_only ? meta : model);
    }
    elc_status st = ELC_OK;
    if (meta_only) n = nin = 0;
    elc_dtype dt = f->next_dtype;
    size_t bytes = n * nin * elc_dtype_size(dt);
    if (bytes > f->cap_in) {
        void *p = realloc(f->in, bytes);
        if (!p) { pthread_mutex_unlock(&f->mu); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
        f->in = p;
        f->cap_in = bytes;
    }
    size_t dims[2] = {n, nin};
    if (meta_only) { /* nothing to copy */ }
    else if (dt == ELC_FLOAT) copy_to_float(f->in, in, n, nin, layout);
    else if (layout == ELC_LAYOUT_FORTRAN) elc_f2c(f->in, in, dims, 2, sizeof(double));
    else memcpy(f->in, in, bytes);
    f->in_dtype = dt;
    char *m = meta_only ? NULL : strdup(model), *mt = meta && *meta ? strdup(meta) : NULL;
    if ((!meta_only && !m) || (meta && *meta && !mt)) {
        free(m); free(mt);
        pthread_mutex_unlock(&f->mu);
        return elc_err(ELC_ERR_NOMEM, "out of memory");
    }
    free(f->model);
    free(f->meta);
    f->model = m;
    f->meta = mt;
    f->n = n;
    f->nin = nin;
    f->t_start = elc_now();
    f->seq_req++;
    pthread_cond_signal(&f->cv_req);
    pthread_mutex_unlock(&f->mu);
    return st;
}

elc_status elc_infer_finish(elc_infer *f, double *out, size_t n, size_t nout, elc_layout layout,
                            elc_infer_meta *meta)
{
    elc_err_clear();
    if (meta) { memset(meta, 0, sizeof *meta); meta->version = -1; }
    if (!f || (!out && n * nout > 0)) return elc_err(ELC_ERR_PARAMETER, "elc_infer_finish: NULL argument");
    pthread_mutex_lock(&f->mu);
    if (f->seq_req == 0) {
        pthread_mutex_unlock(&f->mu);
        return elc_err(ELC_ERR_PARAMETER, "elc_infer_finish without a request");
    }
    double deadline = f->t_start + f->timeout_ms / 1000.0;
    struct timespec ts;
    double whole, frac;
    /* elc_now() is CLOCK_MONOTONIC; the condition variable waits on CLOCK_REALTIME */
    struct timespec now_rt;
    clock_gettime(CLOCK_REALTIME, &now_rt);
    double rt_deadline = (double)now_rt.tv_sec + now_rt.tv_nsec * 1e-9 + (deadline - elc_now());
    frac = modf(rt_deadline, &whole);
    ts.tv_sec = (time_t)whole;
    ts.tv_nsec = (long)(frac * 1e9);
    int rc = 0;
    while (f->seq_done != f->seq_req && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&f->cv_done, &f->mu, &ts);
    if (f->seq_done != f->seq_req) {
        f->stats.timeouts++;
        pthread_mutex_unlock(&f->mu);
        return elc_err(ELC_ERR_TIMEOUT, "no answer from the database within %d ms", f->timeout_ms);
    }
    elc_status st = f->st;
    if (meta) *meta = f->meta_res;
    if (st == ELC_OK && !f->model) {
        /* a metadata read only */
    } else if (st == ELC_OK) {
        if (f->rows != n || f->cols != nout) {
            st = elc_err(ELC_ERR_TYPE, "the model %s returned a tensor of shape (%zu, %zu); "
                         "expected (%zu, %zu)", f->model, f->rows, f->cols, n, nout);
            f->stats.failures++;
        } else {
            answer_to_double(out, f->ans_blob, f->ans_dt, n, nout, layout);
            f->stats.answered++;
            f->lat_sum += f->lat;
            if (f->lat > f->stats.max_latency_s) f->stats.max_latency_s = f->lat;
            f->stats.mean_latency_s = f->lat_sum / (double)f->stats.answered;
        }
    } else {
        if (st == ELC_ERR_DATABASE) f->stats.unreachable++;
        else if (st == ELC_ERR_KEY) f->stats.missing_model++;
        else if (st == ELC_ERR_TIMEOUT) f->stats.timeouts++;
        else f->stats.failures++;
        elc_err(st, "%s", f->err);
    }
    pthread_mutex_unlock(&f->mu);
    return st;
}

elc_status elc_infer_stats_get(elc_infer *f, elc_infer_stats *stats)
{
    if (!f || !stats) return elc_err(ELC_ERR_PARAMETER, "elc_infer_stats_get: NULL argument");
    pthread_mutex_lock(&f->mu);
    *stats = f->stats;
    pthread_mutex_unlock(&f->mu);
    return ELC_OK;
}

void elc_infer_destroy(elc_infer *f)
{
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_cond_broadcast(&f->cv_req);
    pthread_mutex_unlock(&f->mu);
    /* a request in flight ends within its socket timeout (single attempt) */
    pthread_join(f->thread, NULL);
    elc_client_destroy(f->client);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv_req);
    pthread_cond_destroy(&f->cv_done);
    if (f->ans) freeReplyObject(f->ans);
    free(f->address); free(f->base); free(f->model); free(f->meta); free(f->in);
    free(f);
}
