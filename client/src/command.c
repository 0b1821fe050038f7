/* command.c — the command builder, the RESP writer (writev, no copy of large arguments) and
 * the pipelined executor with retries and MOVED/ASK following. */
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

/* "<mark><v>\r\n" into p (room for at most 23 bytes); returns its length. A command's headers,
 * written for every argument of every command, without printf's format parsing. */
static size_t resp_header(char *p, char mark, size_t v)
{
    char digits[20];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t o = 0;
    p[o++] = mark;
    while (nd) p[o++] = digits[--nd];
    p[o++] = '\r';
    p[o++] = '\n';
    return o;
}

static void wb_cmd(wbuf *w, int argc, const char **argv, const size_t *lens)
{
    char hdr[24];
    wb_copy(w, hdr, resp_header(hdr, '*', (size_t)argc));
    for (int i = 0; i < argc; i++) {
        wb_copy(w, hdr, resp_header(hdr, '$', lens[i]));
        if (lens[i] >= 16384) wb_seg(w, argv[i], 0, lens[i], 0);
        else wb_copy(w, argv[i], lens[i]);
        wb_copy(w, "\r\n", 2);
    }
}

/* One argument, "$<len>\r\n<bytes>\r\n", into p; returns its length. */
static size_t resp_arg(char *p, const char *a, size_t len)
{
    size_t o = resp_header(p, '$', len);
    memcpy(p + o, a, len);
    memcpy(p + o + len, "\r\n", 2);
    return o + len + 2;
}

int elc_cmd_encode_around(const elc_cmd *cmd, int gap, char **pre, size_t *pre_len, char **post,
                          size_t *post_len)
{
    *pre = *post = NULL;
    *pre_len = *post_len = 0;
    if (cmd->oom || gap < 0 || gap >= cmd->argc) { errno = cmd->oom ? ENOMEM : EINVAL; return -1; }
    char hdr[24];
    size_t before = resp_header(hdr, '*', (size_t)cmd->argc), after = 2;   /* the gap's CRLF */
    for (int i = 0; i < cmd->argc; i++) {
        size_t h = resp_header(hdr, '$', cmd->lens[i]);
        if (i < gap) before += h + cmd->lens[i] + 2;
        else if (i == gap) before += h;
        else after += h + cmd->lens[i] + 2;
    }
    char *a = malloc(before), *b = malloc(after);
    if (!a || !b) { free(a); free(b); errno = ENOMEM; return -1; }
    size_t o = resp_header(a, '*', (size_t)cmd->argc);
    for (int i = 0; i < gap; i++) o += resp_arg(a + o, cmd->argv[i], cmd->lens[i]);
    o += resp_header(a + o, '$', cmd->lens[gap]);
    size_t q = 2;
    memcpy(b, "\r\n", 2);
    for (int i = gap + 1; i < cmd->argc; i++) q += resp_arg(b + q, cmd->argv[i], cmd->lens[i]);
    *pre = a;
    *pre_len = o;
    *post = b;
    *post_len = q;
    return 0;
}

static void wb_free(wbuf *w)
{
    free(w->buf);
    free(w->seg);
    memset(w, 0, sizeof *w);
}

/* Start of what is left of segment j, writing having stopped at offset soff of segment si. */
static const char *wb_left(const wbuf *w, size_t j, size_t si, size_t soff, size_t *len)
{
    const wseg *s = &w->seg[j];
    size_t skip = (j == si) ? soff : 0;
    *len = s->len - skip;
    return (s->inbuf ? w->buf + s->off : s->p) + skip;
}

/* Write w to fd from segment si, offset soff, with sendmsg flags (MSG_NOSIGNAL added: a peer
 * that went away gives EPIPE, never SIGPIPE), and leave si and soff where it stopped. 0: all
 * written; 1: the socket would block (MSG_DONTWAIT); -1: failed (errno). */
static int wb_send(const wbuf *w, int fd, int flags, size_t *si, size_t *soff)
{
    struct iovec iov[256];
    while (*si < w->nseg) {
        int k = 0;
        for (size_t j = *si; j < w->nseg && k < 256; j++, k++)
            iov[k].iov_base = (void *)wb_left(w, j, *si, *soff, &iov[k].iov_len);
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)k;
        ssize_t r = sendmsg(fd, &mh, flags | MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR) continue;
            if ((flags & MSG_DONTWAIT) && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
            return -1;
        }
        size_t done = (size_t)r;
        while (done > 0 && *si < w->nseg) {
            size_t left = w->seg[*si].len - *soff;
            if (done >= left) { done -= left; (*si)++; *soff = 0; }
            else { *soff += done; done = 0; }
        }
    }
    return 0;
}

/* Write all of w to fd. Returns 0, or -1 with errno. */
static int wb_write(wbuf *w, int fd)
{
    size_t si = 0, soff = 0;
    return wb_send(w, fd, 0, &si, &soff);
}

/* One command on a context, written with our SIGPIPE-safe writer. NULL on I/O error. */
redisReply *elc_simple_cmd(redisContext *ctx, const char *a, const char *b)
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

/* ------------------------------------------------------------------------------------------ */
/* executor                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* The node of a routing key (NULL: node 0, the standalone server's or the cluster's first). */
static int route_key(elc_client *c, const char *rkey, size_t rlen)
{
    if (!c->cluster || !rkey) return 0;
    return c->slot_node[elc_key_slot(rkey, rlen)];
}

static int route(elc_client *c, const elc_cmd *cmd)
{
    return cmd->node >= 0 ? cmd->node : route_key(c, cmd->rkey, cmd->rlen);
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
    return elc_node_add(c, host, atoi(colon + 1), NULL);
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
            if (elc_node_connect(c, (int)nd, why, sizeof why) != 0) {
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
                redisSetTimeout(ctx, elc_ms_tv(c->socket_timeout_ms + (long)(bytes / 50000)));
            if (wb_write(&w, ctx->fd) != 0) {
                snprintf(why, sizeof why, "write failed: %s", strerror(errno));
                wb_free(&w);
                elc_node_close(&c->nodes[nd]);
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
            if (io_fail) elc_node_close(&c->nodes[nd]);
            else if (scaled) redisSetTimeout(ctx, elc_ms_tv(c->socket_timeout_ms));
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
            if (c->cluster) elc_refresh_slots(c, why, sizeof why);
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
            if (any_moved) elc_refresh_slots(c, w2, sizeof w2);
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
/* a command written by its caller without waiting, its reply read later (infer.c)            */
/* ------------------------------------------------------------------------------------------ */

/* Writes w to node nd without blocking, as elc_send_nowait_iov says; w stays the caller's. */
static int send_wb_nowait(elc_client *c, int nd, const wbuf *w, char **rest, size_t *rest_len)
{
    *rest = NULL;
    *rest_len = 0;
    if (w->oom) { errno = ENOMEM; return -1; }
    if (nd < 0 || (size_t)nd >= c->n_nodes || !c->nodes[nd].ctx) { errno = ENOTCONN; return -1; }
    int fd = c->nodes[nd].ctx->fd;
    size_t si = 0, soff = 0;
    int full = wb_send(w, fd, MSG_DONTWAIT, &si, &soff);
    if (full < 0) {
        int e = errno;
        elc_node_close(&c->nodes[nd]);
        errno = e;
        return -1;
    }
    if (!full) return 1;
    /* the bytes not written yet, for elc_send_all */
    size_t n = 0, len;
    for (size_t j = si; j < w->nseg; j++) {
        wb_left(w, j, si, soff, &len);
        n += len;
    }
    char *b = malloc(n ? n : 1);
    if (!b) {
        /* part of a command went out: the connection is unusable now */
        elc_node_close(&c->nodes[nd]);
        errno = ENOMEM;
        return -1;
    }
    size_t o = 0;
    for (size_t j = si; j < w->nseg; j++) {
        const char *p = wb_left(w, j, si, soff, &len);
        memcpy(b + o, p, len);
        o += len;
    }
    *rest = b;
    *rest_len = n;
    return 0;
}

int elc_send_nowait_iov(elc_client *c, const char *rkey, size_t rlen, const struct iovec *iov,
                        int niov, int *node, char **rest, size_t *rest_len)
{
    *rest = NULL;
    *rest_len = 0;
    *node = -1;
    if (niov < 1 || niov > 8) { errno = EINVAL; return -1; }
    int nd = route_key(c, rkey, rlen);
    *node = nd;
    /* the caller's buffers as they are, none copied */
    wseg seg[8];
    wbuf w = {0};
    w.seg = seg;
    w.capseg = 8;
    for (int k = 0; k < niov; k++) wb_seg(&w, iov[k].iov_base, 0, iov[k].iov_len, 0);
    return send_wb_nowait(c, nd, &w, rest, rest_len);
}

int elc_send_all(elc_client *c, int node, const char *buf, size_t len)
{
    if (node < 0 || (size_t)node >= c->n_nodes || !c->nodes[node].ctx) { errno = ENOTCONN; return -1; }
    int fd = c->nodes[node].ctx->fd;
    while (len > 0) {
        ssize_t r = send(fd, buf, len, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            elc_node_close(&c->nodes[node]);
            errno = e;
            return -1;
        }
        buf += r;
        len -= (size_t)r;
    }
    return 0;
}
