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
 * elc_infer_start writes the request to the handle's own connection without waiting and returns;
 * the caller computes while the database works, and elc_infer_finish reads the answer on the
 * caller's thread, waiting until a deadline and giving up (ELC_ERR_TIMEOUT) instead of blocking
 * the solver. No thread is woken on the way: two hand-overs and their context switches per
 * request were most of a small request's cost in the client. A background thread makes what
 * cannot go that way: the first request (it connects, which may take long), one with a
 * metadata read, the rest of a request that the socket did not take at once (a large one), and
 * a request the cluster redirected. A request abandoned by finish is discarded: the next start
 * takes its answer off the connection first, and fails at once while it is still to come. The
 * connection makes a single attempt per request (no resend): a solver has a fallback and would
 * rather use it than wait. */
#define _GNU_SOURCE
#include "elc_internal.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
    /* a request written by start itself (no hand-over to the worker): its reply is read by
     * finish on the caller's thread (direct), or, when finish gave up on it, by the next start
     * before it sends (direct_abandoned); direct_node is its connection */
    int direct, direct_abandoned, direct_node;
    int started_any;                /* a request was started */
    /* the part of a request that start could not write without waiting: the worker writes it
     * (first, on rest_node) and reads the reply */
    char *rest;
    size_t rest_len;
    int rest_node;
    /* start's request encoded once for its model, input dtype and shape and the client's slot
     * map (elc_cmd_encode_around): the bytes before the input's (enc_pre) and after them
     * (enc_post), written with the input from f->in in one sendmsg; enc_rkey routes it */
    char *enc_model, *enc_pre, *enc_post, *enc_rkey;
    size_t enc_pre_len, enc_post_len, enc_rlen, enc_n, enc_nin;
    elc_dtype enc_dt;
    unsigned long enc_slot_gen;
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

typedef struct { elc_cmd cmd; char *mkey, *skey, *kin, *kout; int blob_arg; size_t lskey; } infer_req;

static void free_request(infer_req *q)
{
    elc_cmd_free(&q->cmd);
    free(q->mkey); free(q->skey); free(q->kin); free(q->kout);
}

static int build_request(elc_infer *f, elc_client *c, const char *model, const void *in,
                         elc_dtype in_dtype, size_t n, size_t nin, infer_req *q)
{
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
        return -1;
    }
    /* one command: the input, the run and the answer as the ops of one DAG */
    elc_cmd *cmdp = &q->cmd;
    elc_cmd_init(cmdp);
    q->mkey = mkey; q->skey = skey; q->kin = kin; q->kout = kout;
    /* read-only: it writes nothing to the keyspace, so a server above maxmemory or unable to
     * persist still answers it */
    elc_cmd_str(cmdp, "AI.DAGEXECUTE_RO");
    elc_cmd_str(cmdp, "ROUTING");
    elc_cmd_arg(cmdp, skey, lskey);
    elc_cmd_route(cmdp, 2);
    elc_cmd_str(cmdp, "TIMEOUT");
    elc_cmd_fmt(cmdp, "%d", f->timeout_ms > 0 ? f->timeout_ms : 1000);
    elc_cmd_str(cmdp, "|>");
    elc_cmd_str(cmdp, "AI.TENSORSET");
    elc_cmd_arg(cmdp, kin, lkin);
    elc_cmd_str(cmdp, in_dtype == ELC_FLOAT ? "FLOAT" : "DOUBLE");
    elc_cmd_fmt(cmdp, "%zu", n);
    elc_cmd_fmt(cmdp, "%zu", nin);
    elc_cmd_str(cmdp, "BLOB");
    q->blob_arg = cmdp->argc;
    q->lskey = lskey;
    elc_cmd_arg(cmdp, in, n * nin * elc_dtype_size(in_dtype));
    elc_cmd_str(cmdp, "|>");
    elc_cmd_str(cmdp, "AI.MODELEXECUTE");
    elc_cmd_arg(cmdp, skey, lskey);
    elc_cmd_str(cmdp, "INPUTS");
    elc_cmd_str(cmdp, "1");
    elc_cmd_arg(cmdp, kin, lkin);
    elc_cmd_str(cmdp, "OUTPUTS");
    elc_cmd_str(cmdp, "1");
    elc_cmd_arg(cmdp, kout, lkout);
    elc_cmd_str(cmdp, "|>");
    elc_cmd_str(cmdp, "AI.TENSORGET");
    elc_cmd_arg(cmdp, kout, lkout);
    elc_cmd_str(cmdp, "META");
    elc_cmd_str(cmdp, "BLOB");
    return 0;
}

static void take_answer(elc_infer *f, elc_client *c, const char *model, size_t n, elc_status st,
                        redisReply *rep)
{
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
}

/* ---- the caller's own request (no hand-over to the worker) ---- */

/* The result fields as serve() starts them. */
static void reset_result(elc_infer *f)
{
    f->st = ELC_OK;
    f->err[0] = '\0';
    f->rows = f->cols = 0;
    if (f->ans) freeReplyObject(f->ans);
    f->ans = NULL;
    f->ans_blob = NULL;
    memset(&f->meta_res, 0, sizeof f->meta_res);
    f->meta_res.version = -1;
}

/* Read one reply of node's connection, waiting at most until deadline (elc_now() clock; a
 * deadline already passed only takes what has arrived). 1: *rep is the reply, *arrived when its
 * last bytes reached this host (the kernel's receive timestamp, else when they were read); 0:
 * not complete by the deadline; -1: the connection failed (closed; why says how). */
static int read_reply_until(elc_infer *f, int node, double deadline, redisReply **rep,
                            double *arrived, char *why, size_t wlen)
{
    elc_client *c = f->client;
    redisContext *ctx = (node >= 0 && (size_t)node < c->n_nodes) ? c->nodes[node].ctx : NULL;
    *rep = NULL;
    if (!ctx) {
        snprintf(why, wlen, "the connection was closed");
        return -1;
    }
    *arrived = elc_now();
    for (;;) {
        void *rp = NULL;
        if (redisGetReplyFromReader(ctx, &rp) != REDIS_OK) {
            snprintf(why, wlen, "%s", ctx->errstr[0] ? ctx->errstr : "protocol error");
            elc_node_close(&c->nodes[node]);
            return -1;
        }
        if (rp) {
            *rep = rp;
            return 1;
        }
        double left = deadline - elc_now();
        int ms = left <= 0 ? 0 : (int)ceil(left * 1000.0);
        struct pollfd p = {.fd = ctx->fd, .events = POLLIN};
        int pr = poll(&p, 1, ms);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) {
            snprintf(why, wlen, "poll failed: %s", strerror(errno));
            elc_node_close(&c->nodes[node]);
            return -1;
        }
        if (pr == 0) return 0;
        char buf[65536];
        union { char b[CMSG_SPACE(sizeof(struct timespec))]; struct cmsghdr align; } cbuf;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cbuf.b;
        mh.msg_controllen = sizeof cbuf.b;
        ssize_t r = recvmsg(ctx->fd, &mh, MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (r <= 0) {
            snprintf(why, wlen, "%s", r == 0 ? "the database closed the connection" : strerror(errno));
            elc_node_close(&c->nodes[node]);
            return -1;
        }
        *arrived = elc_now();
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_TIMESTAMPNS) {
                struct timespec stamp, now_rt;
                memcpy(&stamp, CMSG_DATA(cm), sizeof stamp);
                clock_gettime(CLOCK_REALTIME, &now_rt);
                double ago = (double)(now_rt.tv_sec - stamp.tv_sec) + (now_rt.tv_nsec - stamp.tv_nsec) * 1e-9;
                if (ago >= 0 && ago < 3600) *arrived -= ago;
            }
        }
        if (redisReaderFeed(ctx->reader, buf, (size_t)r) != REDIS_OK) {
            snprintf(why, wlen, "%s", ctx->reader->errstr);
            elc_node_close(&c->nodes[node]);
            return -1;
        }
    }
}

static void drop_encoded(elc_infer *f)
{
    free(f->enc_model); free(f->enc_pre); free(f->enc_post); free(f->enc_rkey);
    f->enc_model = f->enc_pre = f->enc_post = f->enc_rkey = NULL;
}

/* The encoded request of start for this model, dtype and shape (made again when one of them or
 * the slot map changed). 0: ready; -1: out of memory. */
static int encode_request(elc_infer *f, const char *model, elc_dtype dt, size_t n, size_t nin)
{
    elc_client *c = f->client;
    if (f->enc_pre && f->enc_dt == dt && f->enc_n == n && f->enc_nin == nin &&
        f->enc_slot_gen == c->slot_gen && strcmp(f->enc_model, model) == 0)
        return 0;
    drop_encoded(f);
    infer_req q;
    if (build_request(f, c, model, NULL, dt, n, nin, &q)) return -1;
    int rc = elc_cmd_encode_around(&q.cmd, q.blob_arg, &f->enc_pre, &f->enc_pre_len, &f->enc_post,
                                   &f->enc_post_len);
    f->enc_model = strdup(model);
    f->enc_rkey = malloc(q.lskey ? q.lskey : 1);
    if (rc == 0 && f->enc_model && f->enc_rkey) {
        memcpy(f->enc_rkey, q.skey, q.lskey);
        f->enc_rlen = q.lskey;
        f->enc_dt = dt;
        f->enc_n = n;
        f->enc_nin = nin;
        f->enc_slot_gen = c->slot_gen;
    } else {
        drop_encoded(f);
        rc = -1;
    }
    free_request(&q);
    return rc;
}

/* With f->mu held, the worker idle: write the request from start itself. 1: all of it written
 * (f->direct set); 0: for the worker, either all of it (no connection to its node yet: the
 * worker connects) or, when the socket took only part, the rest (f->rest set). */
static int try_direct(elc_infer *f, const char *model, elc_dtype dt, size_t n, size_t nin)
{
    elc_client *c = f->client;
    c->single_attempt = 1;
    reset_result(f);
    if (encode_request(f, model, dt, n, nin)) {
        reset_result(f);        /* the worker makes it the usual way, and says so if it fails */
        return 0;
    }
    struct iovec iov[3] = {{f->enc_pre, f->enc_pre_len},
                           {f->in, n * nin * elc_dtype_size(dt)},
                           {f->enc_post, f->enc_post_len}};
    int node = -1;
    char *rest = NULL;
    size_t rest_len = 0;
    int rc = elc_send_nowait_iov(c, f->enc_rkey, f->enc_rlen, iov, 3, &node, &rest, &rest_len);
    if (rc < 0) return 0;       /* a failed write closed the node: the worker reconnects */
    if (rc == 1) {
        f->direct = 1;
        f->direct_node = node;
        return 1;
    }
    f->rest = rest;             /* handed to the worker by start, like any other request */
    f->rest_len = rest_len;
    f->rest_node = node;
    return 0;
}

/* The reply of the caller's own request, until its deadline, on the caller's thread. 1: the
 * result is set (an answer or an error); 0: none by the deadline (the request is abandoned:
 * the next start takes its reply first); 2: the cluster redirected it (the worker must make it
 * again). */
static int finish_direct(elc_infer *f)
{
    redisReply *rep = NULL;
    double arrived = 0;
    char why[512] = "";
    int got = read_reply_until(f, f->direct_node, f->t_start + f->timeout_ms / 1000.0, &rep,
                               &arrived, why, sizeof why);
    f->direct = 0;
    if (got == 0) {
        f->direct_abandoned = 1;
        return 0;
    }
    if (got < 0) {
        set_result_err(f, ELC_ERR_DATABASE, "Redis IO error when executing command (1 attempts): %s", why);
        f->lat = elc_now() - f->t_start;
        return 1;
    }
    if (rep->type == REDIS_REPLY_ERROR &&
        (strncmp(rep->str, "MOVED ", 6) == 0 || strncmp(rep->str, "ASK ", 4) == 0)) {
        freeReplyObject(rep);
        return 2;
    }
    take_answer(f, f->client, f->model, f->n, ELC_OK, rep);
    f->lat = arrived - f->t_start;
    return 1;
}

/* With f->mu held, before a start: take the reply of a request given up on by finish, if it has
 * come. 0: the connection is free; -1: that reply is still to come. A reply still missing at
 * twice the request's timeout is not waited for any longer: the connection is closed (a peer
 * gone without a word, a dropped route), and the next request makes a new one. */
static int drain_abandoned(elc_infer *f)
{
    if (!f->direct_abandoned) return 0;
    redisReply *rep = NULL;
    double arrived;
    char why[512];
    int got = read_reply_until(f, f->direct_node, -1.0, &rep, &arrived, why, sizeof why);
    if (got == 0) {
        if (elc_now() < f->t_start + 2.0 * f->timeout_ms / 1000.0) return -1;
        elc_node_close(&f->client->nodes[f->direct_node]);
    }
    if (rep) freeReplyObject(rep);
    f->direct_abandoned = 0;    /* its reply (discarded), or a closed connection */
    return 0;
}

/* One request: connect if needed, optionally read the metadata, run the pipeline. Called by the
 * worker without the lock; writes f->st/err/out/rows/cols/meta_res. */
static void serve(elc_infer *f, const char *model, const char *meta, const void *in,
                  elc_dtype in_dtype, size_t n, size_t nin)
{
    reset_result(f);
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
    infer_req q;
    if (build_request(f, c, model, in, in_dtype, n, nin, &q)) return;
    redisReply *rep = NULL;
    elc_status st = elc_exec(c, &q.cmd, 1, &rep);
    take_answer(f, c, model, n, st, rep);
    free_request(&q);
}


/* The worker's part of a request that start began to write: the rest of its bytes, then its
 * reply (within the socket timeout, as serve's). */
static void finish_written(elc_infer *f, const char *model, size_t n, const char *rest,
                           size_t rest_len, int node)
{
    elc_client *c = f->client;
    if (elc_send_all(c, node, rest, rest_len) != 0) {
        set_result_err(f, ELC_ERR_DATABASE, "Redis IO error when executing command (1 attempts): "
                       "write failed: %s", strerror(errno));
        return;
    }
    void *rp = NULL;
    redisContext *ctx = c->nodes[node].ctx;
    if (redisGetReply(ctx, &rp) != REDIS_OK) {
        set_result_err(f, ELC_ERR_DATABASE, "Redis IO error when executing command (1 attempts): %s",
                       ctx->errstr[0] ? ctx->errstr : strerror(errno));
        elc_node_close(&c->nodes[node]);
        return;
    }
    redisReply *rep = rp;
    if (rep->type == REDIS_REPLY_ERROR &&
        (strncmp(rep->str, "MOVED ", 6) == 0 || strncmp(rep->str, "ASK ", 4) == 0)) {
        /* redirected (cluster): made again the usual way, which follows it */
        freeReplyObject(rep);
        serve(f, model, NULL, f->in, f->in_dtype, n, f->nin);
        return;
    }
    take_answer(f, c, model, n, ELC_OK, rep);
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
        char *rest = f->rest;
        size_t rest_len = f->rest_len;
        int rest_node = f->rest_node;
        f->rest = NULL;
        /* the input buffer is not touched by start() while busy */
        pthread_mutex_unlock(&f->mu);
        if (rest) finish_written(f, model, n, rest, rest_len, rest_node);
        else if (oom) set_result_err(f, ELC_ERR_NOMEM, "out of memory");
        else serve(f, model, meta, f->in, in_dtype, n, nin);
        free(rest);
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

/* Rows per block of the conversion of the answer into the caller's column-major doubles: each
 * column of a block is written contiguously, and the block's rows on the row-major side (256 x a
 * few values) stay in the L1 cache meanwhile. */
#define ELC_INFER_BLOCK 256

/* in (n, nin) doubles in the caller's layout -> dst row-major floats, in one pass. From the
 * column-major layout a row at a time: its values are written next to each other and read from
 * the nin columns as nin sequential streams. A block of a column at a time, whose stores are
 * nin floats apart, took 1.5-1.8 times as long (9 columns, 256 and 16384 rows). */
static void copy_to_float(float *dst, const double *in, size_t n, size_t nin, elc_layout layout)
{
    if (layout == ELC_LAYOUT_FORTRAN) {
        for (size_t i = 0; i < n; i++) {
            float *row = dst + i * nin;
            for (size_t j = 0; j < nin; j++) row[j] = (float)in[j * n + i];
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
    if (f->direct) {            /* started and never finished: given up on, as by finish */
        f->direct = 0;
        f->direct_abandoned = 1;
    }
    if (f->busy || f->seq_req != f->seq_done || drain_abandoned(f) != 0) {
        f->stats.busy++;
        pthread_mutex_unlock(&f->mu);
        return elc_err(ELC_ERR_TIMEOUT, "the previous request to %s is still in flight",
                       meta_only ? meta : model);
    }
    elc_status st = ELC_OK;
    if (meta_only) n = nin = 0;
    elc_dtype dt = f->next_dtype;
    if (nin && n > SIZE_MAX / nin / elc_dtype_size(dt)) {
        pthread_mutex_unlock(&f->mu);
        return elc_err(ELC_ERR_PARAMETER, "An input of %zu x %zu values is more than this machine can address", n, nin);
    }
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
    f->started_any = 1;
    /* the request goes out from here when its connection is up (the worker makes the first,
     * and any with a metadata read); the worker only takes what the socket could not */
    if (!meta_only && !mt && f->client && try_direct(f, m, dt, n, nin)) {
        pthread_mutex_unlock(&f->mu);
        return st;
    }
    f->stats.handed_over++;
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
    if (f->direct) {
        /* the caller's own request: its reply is read here, without the lock (the worker is
         * idle and start is not called meanwhile) */
        pthread_mutex_unlock(&f->mu);
        int got = finish_direct(f);
        pthread_mutex_lock(&f->mu);
        if (got == 0) {
            f->stats.timeouts++;
            pthread_mutex_unlock(&f->mu);
            return elc_err(ELC_ERR_TIMEOUT, "no answer from the database within %d ms", f->timeout_ms);
        }
        if (got == 2) {
            /* redirected (cluster): the worker makes the request again, following the
             * redirection, within the same deadline */
            f->seq_req++;
            pthread_cond_signal(&f->cv_req);
        }
    } else if (!f->started_any) {
        pthread_mutex_unlock(&f->mu);
        return elc_err(ELC_ERR_PARAMETER, "elc_infer_finish without a request");
    } else if (f->direct_abandoned) {
        f->stats.timeouts++;
        pthread_mutex_unlock(&f->mu);
        return elc_err(ELC_ERR_TIMEOUT, "no answer from the database within %d ms", f->timeout_ms);
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
    free(f->rest);   /* handed to the thread, which stopped before taking it */
    drop_encoded(f);
    free(f);
}
