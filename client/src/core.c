/* core.c — errors, configuration from the environment, connections, cluster routing and the
 * pipelined command executor with retries and MOVED/ASK following. */
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
/* errors                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static _Thread_local char g_err[2048];

elc_status elc_err(elc_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return st;
}

void elc_err_clear(void) { g_err[0] = '\0'; }

const char *elc_last_error(void) { return g_err; }

size_t elc_last_error_copy(char *buf, size_t buflen)
{
    size_t n = strlen(g_err);
    if (buflen > 0) {
        size_t k = n < buflen - 1 ? n : buflen - 1;
        memcpy(buf, g_err, k);
        buf[k] = '\0';
    }
    return n;
}

void elc_f_last_error(char *buf, int buflen)
{
    size_t n = strlen(g_err);
    if (buflen <= 0) return;
    size_t k = n < (size_t)buflen ? n : (size_t)buflen;
    memcpy(buf, g_err, k);
    memset(buf + k, ' ', (size_t)buflen - k);
}

void elc_free(void *p) { free(p); }

/* ------------------------------------------------------------------------------------------ */
/* small utilities                                                                            */
/* ------------------------------------------------------------------------------------------ */

void elc_sleep_ms(long ms)
{
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

elc_status elc_poll_exists(elc_client *c, elc_status (*probe)(elc_client *, const char *, bool *),
                           const char *name, int poll_ms, int tries, bool *exists)
{
    if (exists) *exists = false;   /* a NULL is the probe's to report */
    if (tries < 1) tries = 1;
    for (int i = 0; i < tries; i++) {
        elc_status st = probe(c, name, exists);
        if (st || *exists) return st;
        if (i + 1 < tries) elc_sleep_ms(poll_ms);
    }
    return ELC_OK;
}

double elc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

char *elc_strcat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc);
    s[la + lb + lc] = '\0';
    return s;
}

/* CRC16-CCITT (XMODEM), as Redis Cluster uses it. */
uint16_t elc_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((unsigned char)buf[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

int elc_key_slot(const char *key, size_t len)
{
    size_t s, e;
    for (s = 0; s < len; s++)
        if (key[s] == '{') break;
    if (s < len) {
        for (e = s + 1; e < len; e++)
            if (key[e] == '}') break;
        if (e < len && e != s + 1) return elc_crc16(key + s + 1, e - s - 1) & 16383;
    }
    return elc_crc16(key, len) & 16383;
}

/* The 2- or 3-byte string p with crc16(p) % 16384 == slot and no braces (docs/protocol.md §2.5). */
void elc_shard_prefix(int slot, char *out, size_t *len)
{
    const uint64_t poly = 69665; /* 0x11021 */
    uint64_t r = (uint64_t)slot;
    for (int i = 0; i < 16; i++)
        if (r & (1ULL << i)) r ^= poly << i;
    int nbits = 16;
    for (;;) {
        size_t n = (size_t)(nbits + 7) / 8;
        uint64_t v = r >> 16;
        int bad = 0;
        for (size_t k = 0; k < n; k++) {
            unsigned char ch = (unsigned char)(v >> (8 * k));
            if (ch == '{' || ch == '}') bad = 1;
        }
        if (!bad || nbits >= 24) {
            for (size_t k = 0; k < n; k++) out[k] = (char)(unsigned char)(v >> (8 * (n - 1 - k)));
            *len = n;
            return;
        }
        /* apply the XOR step at the next bit position */
        int i = nbits;
        if (r & (1ULL << i)) r ^= poly << i;
        nbits++;
        /* r>>16 now may use one more bit: keep the bit count at least i-15 */
        (void)i;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* command builder                                                                            */
/* ------------------------------------------------------------------------------------------ */

void elc_cmd_init(elc_cmd *c)
{
    memset(c, 0, sizeof *c);
    c->node = -1;
}

void elc_cmd_free(elc_cmd *c)
{
    for (int i = 0; i < c->n_owned; i++) free(c->owned[i]);
    free(c->owned);
    free(c->argv);
    free(c->lens);
    memset(c, 0, sizeof *c);
    c->node = -1;
}

void elc_cmd_arg(elc_cmd *c, const void *p, size_t len)
{
    if (c->oom) return;
    if (c->argc == c->cap) {
        int nc = c->cap ? 2 * c->cap : 16;
        const char **a = realloc(c->argv, (size_t)nc * sizeof *a);
        if (!a) { c->oom = 1; return; }
        c->argv = a;
        size_t *l = realloc(c->lens, (size_t)nc * sizeof *l);
        if (!l) { c->oom = 1; return; }
        c->lens = l;
        c->cap = nc;
    }
    c->argv[c->argc] = p ? (const char *)p : "";
    c->lens[c->argc] = len;
    c->argc++;
}

void elc_cmd_str(elc_cmd *c, const char *s) { elc_cmd_arg(c, s, strlen(s)); }

void elc_cmd_take(elc_cmd *c, char *p, size_t len)
{
    if (!p) { c->oom = 1; return; }
    if (c->n_owned == c->cap_owned) {
        int nc = c->cap_owned ? 2 * c->cap_owned : 8;
        char **o = realloc(c->owned, (size_t)nc * sizeof *o);
        if (!o) { free(p); c->oom = 1; return; }
        c->owned = o;
        c->cap_owned = nc;
    }
    c->owned[c->n_owned++] = p;
    elc_cmd_arg(c, p, len);
}

void elc_cmd_fmt(elc_cmd *c, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) { c->oom = 1; return; }
    elc_cmd_take(c, s, (size_t)n);
}

void elc_cmd_route(elc_cmd *c, int argi)
{
    if (argi < c->argc) {
        c->rkey = c->argv[argi];
        c->rlen = c->lens[argi];
    }
}

void elc_free_replies(redisReply **r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i]) { freeReplyObject(r[i]); r[i] = NULL; }
}

/* ------------------------------------------------------------------------------------------ */
/* configuration                                                                              */
/* ------------------------------------------------------------------------------------------ */

static const char *getenv_sfx(const char *name, const char *suffix, char *buf, size_t blen)
{
    if (suffix && *suffix) {
        snprintf(buf, blen, "%s_%s", name, suffix);
        return getenv(buf);
    }
    snprintf(buf, blen, "%s", name);
    return getenv(name);
}

static elc_status env_int(const char *name, const char *suffix, long long def, int positive,
                          long long *out)
{
    char full[256];
    const char *v = getenv_sfx(name, suffix, full, sizeof full);
    *out = def;
    if (!v || !*v) return ELC_OK;
    const char *p = v;
    if (*p == '-') p++;
    if (!*p) return elc_err(ELC_ERR_PARAMETER, "The value of %s must be a valid number.", full);
    for (; *p; p++)
        if (!isdigit((unsigned char)*p))
            return elc_err(ELC_ERR_PARAMETER, "The value of %s must be a valid number.", full);
    *out = strtoll(v, NULL, 10);
    if (positive && *out <= 0)
        return elc_err(ELC_ERR_PARAMETER, "%s must be greater than 0, got %s", full, v);
    return ELC_OK;
}

static char **split_commas(const char *s, size_t *n)
{
    size_t cnt = 1;
    for (const char *p = s; *p; p++)
        if (*p == ',') cnt++;
    char **out = calloc(cnt, sizeof *out);
    if (!out) return NULL;
    size_t k = 0;
    const char *st = s;
    for (const char *p = s;; p++) {
        if (*p == ',' || *p == '\0') {
            if (p > st) {
                out[k] = strndup(st, (size_t)(p - st));
                if (!out[k]) break;
                k++;
            }
            if (!*p) break;
            st = p + 1;
        }
    }
    *n = k;
    return out;
}

static void free_strv(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static int add_node(elc_client *c, const char *host, int port, const char *path)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        elc_node *nd = &c->nodes[i];
        if (path && nd->path && strcmp(path, nd->path) == 0) return (int)i;
        if (host && nd->host && nd->port == port && strcmp(host, nd->host) == 0) return (int)i;
    }
    if (c->n_nodes == c->cap_nodes) {
        size_t nc = c->cap_nodes ? 2 * c->cap_nodes : 4;
        elc_node *nn = realloc(c->nodes, nc * sizeof *nn);
        if (!nn) return -1;
        c->nodes = nn;
        c->cap_nodes = nc;
    }
    elc_node *nd = &c->nodes[c->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->host = host ? strdup(host) : NULL;
    nd->path = path ? strdup(path) : NULL;
    nd->port = port;
    if ((host && !nd->host) || (path && !nd->path)) return -1;
    return (int)c->n_nodes++;
}

static void node_close(elc_node *nd)
{
    if (nd->ctx) redisFree(nd->ctx);
    nd->ctx = NULL;
}

static struct timeval ms_tv(long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* One connection attempt to node i; on failure *why gets hiredis's message. */
static int node_connect(elc_client *c, int i, char *why, size_t wlen)
{
    elc_node *nd = &c->nodes[i];
    if (nd->ctx) return 0;
    long cto = c->socket_timeout_ms > 1000 ? c->socket_timeout_ms : 1000;
    redisContext *ctx = nd->path ? redisConnectUnixWithTimeout(nd->path, ms_tv(cto))
                                 : redisConnectWithTimeout(nd->host, nd->port, ms_tv(cto));
    if (!ctx || ctx->err) {
        snprintf(why, wlen, "%s", ctx ? ctx->errstr : "out of memory");
        if (ctx) redisFree(ctx);
        return -1;
    }
    redisSetTimeout(ctx, ms_tv(c->socket_timeout_ms));
    if (c->db_password) {
        redisReply *r = c->db_user ? redisCommand(ctx, "AUTH %s %s", c->db_user, c->db_password)
                                   : redisCommand(ctx, "AUTH %s", c->db_password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            if (r) c->auth_refused = 1;
            snprintf(why, wlen, "authentication failed: %s", r && r->str ? r->str : ctx->errstr);
            if (r) freeReplyObject(r);
            redisFree(ctx);
            return -1;
        }
        freeReplyObject(r);
    }
    nd->ctx = ctx;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* low-level send: our own RESP writer with writev (no copy of large arguments)               */
/* ------------------------------------------------------------------------------------------ */

typedef struct wseg { const char *p; size_t off; size_t len; int inbuf; } wseg;
typedef struct wbuf {
    char *buf; size_t len, cap;
    wseg *seg; size_t nseg, capseg;
    size_t total;
    int oom;
} wbuf;

static void wb_seg(wbuf *w, const char *p, size_t off, size_t len, int inbuf)
{
    if (w->oom || len == 0) return;
    if (w->nseg && inbuf && w->seg[w->nseg - 1].inbuf &&
        w->seg[w->nseg - 1].off + w->seg[w->nseg - 1].len == off) {
        w->seg[w->nseg - 1].len += len;
    } else {
        if (w->nseg == w->capseg) {
            size_t nc = w->capseg ? 2 * w->capseg : 64;
            wseg *s = realloc(w->seg, nc * sizeof *s);
            if (!s) { w->oom = 1; return; }
            w->seg = s;
            w->capseg = nc;
        }
        w->seg[w->nseg++] = (wseg){p, off, len, inbuf};
    }
    w->total += len;
}

static void wb_copy(wbuf *w, const void *p, size_t len)
{
    if (w->oom) return;
    if (w->len + len > w->cap) {
        size_t nc = w->cap ? w->cap : 4096;
        while (nc < w->len + len) nc *= 2;
        char *b = realloc(w->buf, nc);
        if (!b) { w->oom = 1; return; }
        w->buf = b;
        w->cap = nc;
    }
    memcpy(w->buf + w->len, p, len);
    wb_seg(w, NULL, w->len, len, 1);
    w->len += len;
}

static void wb_cmd(wbuf *w, int argc, const char **argv, const size_t *lens)
{
    char hdr[48];
    int n = snprintf(hdr, sizeof hdr, "*%d\r\n", argc);
    wb_copy(w, hdr, (size_t)n);
    for (int i = 0; i < argc; i++) {
        n = snprintf(hdr, sizeof hdr, "$%zu\r\n", lens[i]);
        wb_copy(w, hdr, (size_t)n);
        if (lens[i] >= 16384) wb_seg(w, argv[i], 0, lens[i], 0);
        else wb_copy(w, argv[i], lens[i]);
        wb_copy(w, "\r\n", 2);
    }
}

static void wb_free(wbuf *w)
{
    free(w->buf);
    free(w->seg);
    memset(w, 0, sizeof *w);
}

/* Write all of w to fd. Returns 0, or -1 with errno. */
static int wb_write(wbuf *w, int fd)
{
    size_t si = 0, soff = 0;
    struct iovec iov[256];
    while (si < w->nseg) {
        int k = 0;
        for (size_t j = si; j < w->nseg && k < 256; j++, k++) {
            const wseg *s = &w->seg[j];
            const char *base = s->inbuf ? w->buf + s->off : s->p;
            size_t skip = (j == si) ? soff : 0;
            iov[k].iov_base = (void *)(base + skip);
            iov[k].iov_len = s->len - skip;
        }
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)k;
        /* MSG_NOSIGNAL: a peer that went away gives EPIPE, never SIGPIPE */
        ssize_t r = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        size_t done = (size_t)r;
        while (done > 0 && si < w->nseg) {
            size_t left = w->seg[si].len - soff;
            if (done >= left) { done -= left; si++; soff = 0; }
            else { soff += done; done = 0; }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* cluster slots                                                                              */
/* ------------------------------------------------------------------------------------------ */

static int cmp_range(const void *a, const void *b)
{
    return ((const elc_range *)a)->first - ((const elc_range *)b)->first;
}

/* Apply a CLUSTER SLOTS reply. Returns 0, or -1 with *why set. */
static int apply_slots(elc_client *c, redisReply *r, char *why, size_t wlen)
{
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        snprintf(why, wlen, "CLUSTER SLOTS gave %s", r && r->type == REDIS_REPLY_ERROR ? r->str : "an unexpected reply");
        return -1;
    }
    if (r->elements == 0) {
        snprintf(why, wlen, "CLUSTER SLOTS is empty (the cluster is not formed yet)");
        return -1;
    }
    elc_range *rg = calloc(r->elements, sizeof *rg);
    if (!rg) { snprintf(why, wlen, "out of memory"); return -1; }
    size_t nr = 0;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 || e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER || e->element[2]->type != REDIS_REPLY_ARRAY ||
            e->element[2]->elements < 2 || e->element[2]->element[0]->type != REDIS_REPLY_STRING ||
            e->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
            continue;
        int first = (int)e->element[0]->integer, last = (int)e->element[1]->integer;
        if (first < 0 || last >= ELC_NSLOTS || first > last) continue;
        int nd = add_node(c, e->element[2]->element[0]->str, (int)e->element[2]->element[1]->integer, NULL);
        if (nd < 0) { free(rg); snprintf(why, wlen, "out of memory"); return -1; }
        rg[nr].first = first;
        rg[nr].last = last;
        rg[nr].node = nd;
        elc_shard_prefix(first, rg[nr].prefix, &rg[nr].prefix_len);
        for (int s = first; s <= last; s++) c->slot_node[s] = (int16_t)nd;
        nr++;
    }
    if (nr == 0) { free(rg); snprintf(why, wlen, "CLUSTER SLOTS has no usable entry"); return -1; }
    qsort(rg, nr, sizeof *rg, cmp_range);
    free(c->ranges);
    c->ranges = rg;
    c->n_ranges = nr;
    return 0;
}

/* One command on a context, written with our SIGPIPE-safe writer. NULL on I/O error. */
static redisReply *simple_cmd(redisContext *ctx, const char *a, const char *b)
{
    const char *argv[2] = {a, b};
    size_t lens[2] = {strlen(a), b ? strlen(b) : 0};
    wbuf w = {0};
    wb_cmd(&w, b ? 2 : 1, argv, lens);
    int rc = w.oom ? -1 : wb_write(&w, ctx->fd);
    wb_free(&w);
    if (rc != 0) {
        snprintf(ctx->errstr, sizeof ctx->errstr, "write failed: %s", strerror(errno));
        return NULL;
    }
    void *r = NULL;
    if (redisGetReply(ctx, &r) != REDIS_OK) return NULL;
    return r;
}

/* Ask any reachable node for the slot map. Best effort; returns 0 on success. */
static int refresh_slots(elc_client *c, char *why, size_t wlen)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        if (node_connect(c, (int)i, why, wlen) != 0) continue;
        redisReply *r = simple_cmd(c->nodes[i].ctx, "CLUSTER", "SLOTS");
        if (!r) { node_close(&c->nodes[i]); continue; }
        int rc = apply_slots(c, r, why, wlen);
        freeReplyObject(r);
        if (rc == 0) return 0;
    }
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* client creation                                                                            */
/* ------------------------------------------------------------------------------------------ */

static elc_status parse_address(const char *entry, char **host, int *port, char **path)
{
    *host = NULL;
    *path = NULL;
    *port = 0;
    if (strncmp(entry, "unix://", 7) == 0) {
        if (!entry[7]) return elc_err(ELC_ERR_PARAMETER, "The unix socket address %s has no path", entry);
        *path = strdup(entry + 7);
        return *path ? ELC_OK : elc_err(ELC_ERR_NOMEM, "out of memory");
    }
    if (strncmp(entry, "tcp://", 6) == 0) entry += 6;
    const char *colon = strrchr(entry, ':');
    if (!colon || colon == entry || !colon[1])
        return elc_err(ELC_ERR_PARAMETER, "The address %s is not of the form host:port", entry);
    for (const char *p = colon + 1; *p; p++)
        if (!isdigit((unsigned char)*p))
            return elc_err(ELC_ERR_PARAMETER, "The port in the address %s is not a number", entry);
    long pt = strtol(colon + 1, NULL, 10);
    if (pt <= 0 || pt > 65535)
        return elc_err(ELC_ERR_PARAMETER, "The port in the address %s is out of range", entry);
    *host = strndup(entry, (size_t)(colon - entry));
    *port = (int)pt;
    return *host ? ELC_OK : elc_err(ELC_ERR_NOMEM, "out of memory");
}

static elc_status read_config(elc_client *c, const char *suffix, int cluster)
{
    char full[256];
    long long v;
    elc_status st;
    if ((st = env_int("SR_CONN_TIMEOUT", suffix, 100, 1, &v))) return st;
    c->conn_timeout_s = (int)v;
    if ((st = env_int("SR_CONN_INTERVAL", suffix, 1000, 1, &v))) return st;
    c->conn_interval_ms = (int)v;
    if ((st = env_int("SR_CMD_TIMEOUT", suffix, 100, 1, &v))) return st;
    c->cmd_timeout_s = (int)v;
    if ((st = env_int("SR_CMD_INTERVAL", suffix, 1000, 1, &v))) return st;
    c->cmd_interval_ms = (int)v;
    if ((st = env_int("SR_SOCKET_TIMEOUT", suffix, 250, 1, &v))) return st;
    c->socket_timeout_ms = (int)v;
    if ((st = env_int("SR_MODEL_TIMEOUT", NULL, 60000000, 1, &v))) return st;
    c->model_timeout_ms = v;
    if (cluster < 0) {
        const char *t = getenv_sfx("SR_DB_TYPE", suffix, full, sizeof full);
        c->cluster = (!t || !*t || strcasecmp(t, "clustered") == 0) ? 1 : 0;
    } else {
        c->cluster = cluster ? 1 : 0;
    }
    const char *pw = getenv_sfx("EDDYLEARN_DB_PASSWORD", suffix, full, sizeof full);
    if (pw && *pw) {
        const char *user = getenv_sfx("EDDYLEARN_DB_USER", suffix, full, sizeof full);
        c->db_password = strdup(pw);
        c->db_user = (user && *user) ? strdup(user) : NULL;
        if (!c->db_password || (user && *user && !c->db_user)) return elc_err(ELC_ERR_NOMEM, "out of memory");
    }
    const char *out = getenv_sfx("SSKEYOUT", suffix, full, sizeof full);
    c->put_prefix = (out && *out) ? elc_strcat3(out, ".", "") : strdup("");
    const char *in = getenv_sfx("SSKEYIN", suffix, full, sizeof full);
    if (in && *in) {
        size_t n = 0;
        char **v2 = split_commas(in, &n);
        if (!v2) return elc_err(ELC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            char *p = elc_strcat3(v2[i], ".", "");
            free(v2[i]);
            v2[i] = p;
        }
        c->get_prefixes = v2;
        c->n_get = n;
    }
    if (!c->put_prefix) return elc_err(ELC_ERR_NOMEM, "out of memory");
    c->use_tensor_prefix = c->use_dataset_prefix = c->use_list_prefix = true;
    c->use_model_prefix = false;
    c->chunk_size = -1;
    return ELC_OK;
}

static elc_status connect_first(elc_client *c)
{
    char why[512] = "";
    long attempts = c->conn_attempts > 0 ? c->conn_attempts
                                         : (long)c->conn_timeout_s * 1000 / c->conn_interval_ms + 1;
    for (long a = 0; a < attempts; a++) {
        if (a > 0) elc_sleep_ms(c->conn_interval_ms);
        if (node_connect(c, 0, why, sizeof why) != 0) {
            if (c->auth_refused)  /* a wrong password does not get better with retries */
                return elc_err(ELC_ERR_DATABASE, "the database at %s refused the credentials of "
                               "EDDYLEARN_DB_USER/EDDYLEARN_DB_PASSWORD (%s)", c->address, why);
            continue;
        }
        if (!c->cluster) {
            redisReply *r = simple_cmd(c->nodes[0].ctx, "PING", NULL);
            if (r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0) {
                freeReplyObject(r);
                return ELC_OK;
            }
            snprintf(why, sizeof why, "PING failed: %s", r && r->str ? r->str : c->nodes[0].ctx->errstr);
            if (r) freeReplyObject(r);
            node_close(&c->nodes[0]);
            continue;
        }
        redisReply *r = simple_cmd(c->nodes[0].ctx, "CLUSTER", "SLOTS");
        if (!r) {
            snprintf(why, sizeof why, "%s", c->nodes[0].ctx->errstr);
            node_close(&c->nodes[0]);
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            elc_status st = elc_err(ELC_ERR_DATABASE,
                "The database at %s is not a cluster (%s); set SR_DB_TYPE=Standalone for a "
                "standalone database", c->address, r->str);
            freeReplyObject(r);
            return st;
        }
        int rc = apply_slots(c, r, why, sizeof why);
        freeReplyObject(r);
        if (rc == 0) return ELC_OK;
    }
    return elc_err(ELC_ERR_DATABASE, "cannot connect to the database at %s after %d s (%ld attempts): %s",
                   c->address, c->conn_timeout_s, attempts, why);
}

elc_status elc_client_create_at(elc_client **out, const char *address, int cluster,
                                const char *suffix)
{
    return elc_client_create_opts(out, address, cluster, suffix, -1, -1);
}

elc_status elc_client_create_opts(elc_client **out, const char *address, int cluster,
                                  const char *suffix, int conn_attempts, int socket_timeout_ms)
{
    elc_err_clear();
    if (!out) return elc_err(ELC_ERR_PARAMETER, "elc_client_create: out is NULL");
    *out = NULL;
    char full[256];
    const char *ssdb = address;
    if (!ssdb) ssdb = getenv_sfx("SSDB", suffix, full, sizeof full);
    if (!ssdb || !*ssdb)
        return elc_err(ELC_ERR_PARAMETER, "The environment variable %s must be set to the database address (host:port or unix:///path)",
                       address ? "SSDB" : full);
    for (const char *p = ssdb; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr(".:,/_-", *p))
            return elc_err(ELC_ERR_PARAMETER,
                           "The provided SSDB value, %s is invalid because of character %c", ssdb, *p);
    }
    elc_client *c = calloc(1, sizeof *c);
    if (!c) return elc_err(ELC_ERR_NOMEM, "out of memory");
    c->seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
    elc_status st = read_config(c, suffix, cluster);
    if (st) { elc_client_destroy(c); return st; }
    if (conn_attempts > 0) c->conn_attempts = conn_attempts;
    if (socket_timeout_ms > 0) c->socket_timeout_ms = socket_timeout_ms;
    size_t n = 0;
    char **entries = split_commas(ssdb, &n);
    if (!entries || n == 0) {
        free_strv(entries, n);
        elc_client_destroy(c);
        return elc_err(ELC_ERR_PARAMETER, "The provided SSDB value, %s has no address", ssdb);
    }
    const char *pick = entries[(size_t)rand_r(&c->seed) % n];
    c->address = strdup(pick);
    char *host = NULL, *path = NULL;
    int port = 0;
    st = parse_address(pick, &host, &port, &path);
    free_strv(entries, n);
    if (st) { elc_client_destroy(c); return st; }
    if (path && c->cluster) {
        free(path);
        elc_client_destroy(c);
        return elc_err(ELC_ERR_PARAMETER, "Unix Domain Socket is not supported with clustered Redis");
    }
    int nd = add_node(c, host, port, path);
    free(host);
    free(path);
    if (nd < 0 || !c->address) { elc_client_destroy(c); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
    st = connect_first(c);
    if (st) { elc_client_destroy(c); return st; }
    *out = c;
    return ELC_OK;
}

elc_status elc_client_create(elc_client **out, int cluster, const char *suffix)
{
    return elc_client_create_at(out, NULL, cluster, suffix);
}

void elc_client_destroy(elc_client *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n_nodes; i++) {
        node_close(&c->nodes[i]);
        free(c->nodes[i].host);
        free(c->nodes[i].path);
    }
    free(c->nodes);
    free(c->ranges);
    free(c->address);
    free(c->put_prefix);
    free_strv(c->get_prefixes, c->n_get);
    free(c->db_user);
    if (c->db_password) {
        memset(c->db_password, 0, strlen(c->db_password));
        free(c->db_password);
    }
    free(c);
}

int elc_client_is_cluster(const elc_client *c) { return c ? c->cluster : 0; }

/* ------------------------------------------------------------------------------------------ */
/* executor                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static int route(elc_client *c, const elc_cmd *cmd)
{
    if (cmd->node >= 0) return cmd->node;
    if (!c->cluster || !cmd->rkey) return 0;
    return c->slot_node[elc_key_slot(cmd->rkey, cmd->rlen)];
}

/* Parse "MOVED 3999 127.0.0.1:6381" / "ASK ..."; returns node index or -1. */
static int parse_redirect(elc_client *c, const char *s, int *slot)
{
    const char *sp = strchr(s, ' ');
    if (!sp) return -1;
    *slot = atoi(sp + 1);
    const char *addr = strchr(sp + 1, ' ');
    if (!addr) return -1;
    addr++;
    const char *colon = strrchr(addr, ':');
    if (!colon) return -1;
    char host[256];
    size_t hl = (size_t)(colon - addr);
    if (hl == 0 || hl >= sizeof host) return -1;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    return add_node(c, host, atoi(colon + 1), NULL);
}

elc_status elc_exec(elc_client *c, elc_cmd *cmds, size_t n, redisReply **replies)
{
    for (size_t i = 0; i < n; i++) {
        replies[i] = NULL;
        if (cmds[i].oom) return elc_err(ELC_ERR_NOMEM, "out of memory while building a command");
    }
    int *node = malloc(n * sizeof *node), *ask = malloc(n * sizeof *ask);
    if (!node || !ask) { free(node); free(ask); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
    for (size_t i = 0; i < n; i++) ask[i] = -1;
    long attempts = c->single_attempt ? 1 : (long)c->cmd_timeout_s * 1000 / c->cmd_interval_ms + 1;
    long attempt = 0;
    c->io_gave_up = 0;
    int redirects = 0;
    char why[512] = "";
    elc_status st = ELC_OK;
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < n; i++) {
            if (replies[i]) continue;
            node[i] = ask[i] >= 0 ? ask[i] : route(c, &cmds[i]);
            pending++;
        }
        if (pending == 0) {
            __atomic_store_n(&c->unreachable, 0, __ATOMIC_RELAXED);
            break;
        }
        int io_fail = 0, redirected = 0;
        for (size_t nd = 0; nd < c->n_nodes && !io_fail; nd++) {
            /* commands of this node */
            size_t cnt = 0, bytes = 0;
            for (size_t i = 0; i < n; i++)
                if (!replies[i] && node[i] == (int)nd) {
                    cnt++;
                    for (int a = 0; a < cmds[i].argc; a++) bytes += cmds[i].lens[a];
                }
            if (cnt == 0) continue;
            if (node_connect(c, (int)nd, why, sizeof why) != 0) {
                __atomic_store_n(&c->unreachable, 1, __ATOMIC_RELAXED);
                io_fail = 1;
                break;
            }
            redisContext *ctx = c->nodes[nd].ctx;
            wbuf w = {0};
            for (size_t i = 0; i < n; i++) {
                if (replies[i] || node[i] != (int)nd) continue;
                if (ask[i] >= 0) {
                    const char *av[1] = {"ASKING"};
                    size_t al[1] = {6};
                    wb_cmd(&w, 1, av, al);
                }
                wb_cmd(&w, cmds[i].argc, cmds[i].argv, cmds[i].lens);
            }
            if (w.oom) { wb_free(&w); st = elc_err(ELC_ERR_NOMEM, "out of memory"); goto done; }
            /* a generous reply timeout for large transfers: SR_SOCKET_TIMEOUT plus 1 s per 50 MB */
            int scaled = bytes > (1u << 20);
            if (scaled)
                redisSetTimeout(ctx, ms_tv(c->socket_timeout_ms + (long)(bytes / 50000)));
            if (wb_write(&w, ctx->fd) != 0) {
                snprintf(why, sizeof why, "write failed: %s", strerror(errno));
                wb_free(&w);
                node_close(&c->nodes[nd]);
                io_fail = 1;
                break;
            }
            wb_free(&w);
            for (size_t i = 0; i < n && !io_fail; i++) {
                if (replies[i] || node[i] != (int)nd) continue;
                void *rp = NULL;
                if (ask[i] >= 0) {
                    if (redisGetReply(ctx, &rp) != REDIS_OK) {
                        snprintf(why, sizeof why, "%s", ctx->errstr);
                        io_fail = 1;
                        break;
                    }
                    freeReplyObject(rp);
                    rp = NULL;
                    ask[i] = -1;
                }
                if (redisGetReply(ctx, &rp) != REDIS_OK) {
                    snprintf(why, sizeof why, "%s", ctx->errstr[0] ? ctx->errstr : strerror(errno));
                    io_fail = 1;
                    break;
                }
                redisReply *r = rp;
                if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "LOADING", 7) == 0) {
                    /* a restarted server still loading its RDB file: wait and resend, like an
                     * I/O error, so that a database restart does not lose what was staged */
                    snprintf(why, sizeof why, "%s", r->str);
                    freeReplyObject(r);
                    io_fail = 1;
                    break;
                }
                if (r->type == REDIS_REPLY_ERROR &&
                    (strncmp(r->str, "MOVED ", 6) == 0 || strncmp(r->str, "ASK ", 4) == 0)) {
                    int slot = 0;
                    int tgt = parse_redirect(c, r->str, &slot);
                    if (tgt >= 0 && slot >= 0 && slot < ELC_NSLOTS) {
                        if (r->str[0] == 'M') c->slot_node[slot] = (int16_t)tgt;
                        else ask[i] = tgt;
                        redirected = 1;
                        freeReplyObject(r);
                        continue;
                    }
                }
                replies[i] = r;
            }
            if (io_fail) node_close(&c->nodes[nd]);
            else if (scaled) redisSetTimeout(ctx, ms_tv(c->socket_timeout_ms));
        }
        if (io_fail) {
            attempt++;
            if (attempt >= attempts) {
                c->io_gave_up = 1;
                st = elc_err(ELC_ERR_DATABASE, "Redis IO error when executing command (%ld attempts in %d s): %s",
                             attempts, c->cmd_timeout_s, why);
                goto done;
            }
            c->retries++;
            for (size_t i = 0; i < n; i++) ask[i] = -1;
            elc_sleep_ms(c->cmd_interval_ms);
            if (c->cluster) refresh_slots(c, why, sizeof why);
            continue;
        }
        if (redirected) {
            c->redirects++;
            if (++redirects > 16) {
                st = elc_err(ELC_ERR_DATABASE, "too many cluster redirections (MOVED/ASK) for one command");
                goto done;
            }
            /* a MOVED usually means a resharding: take the whole new map */
            char w2[256];
            int any_moved = 0;
            for (size_t i = 0; i < n; i++)
                if (!replies[i] && ask[i] < 0) any_moved = 1;
            if (any_moved) refresh_slots(c, w2, sizeof w2);
        }
    }
done:
    if (st) elc_free_replies(replies, n);
    free(node);
    free(ask);
    return st;
}

elc_status elc_exec1(elc_client *c, elc_cmd *cmd, redisReply **reply)
{
    *reply = NULL;
    elc_status st = elc_exec(c, cmd, 1, reply);
    if (st) return st;
    if ((*reply)->type == REDIS_REPLY_ERROR) {
        st = elc_err(ELC_ERR_DATABASE, "Redis error when executing command: %s", (*reply)->str);
        freeReplyObject(*reply);
        *reply = NULL;
    }
    return st;
}

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
