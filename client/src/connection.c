/* connection.c — client options and configuration from the environment, connections to the
 * database nodes, the cluster slot map and client creation. */
#define _GNU_SOURCE
#include "elc_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

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

int elc_node_add(elc_client *c, const char *host, int port, const char *path)
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

void elc_node_close(elc_node *nd)
{
    if (nd->ctx) redisFree(nd->ctx);
    nd->ctx = NULL;
}

struct timeval elc_ms_tv(long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* the largest unused read buffer a connection keeps (the answers of the solver's models) */
#define READER_KEEP_BYTES ((size_t)4 << 20)

/* One connection attempt to node i; on failure *why gets hiredis's message. */
int elc_node_connect(elc_client *c, int i, char *why, size_t wlen)
{
    elc_node *nd = &c->nodes[i];
    if (nd->ctx) return 0;
    long cto = c->socket_timeout_ms > 1000 ? c->socket_timeout_ms : 1000;
    redisContext *ctx = nd->path ? redisConnectUnixWithTimeout(nd->path, elc_ms_tv(cto))
                                 : redisConnectWithTimeout(nd->host, nd->port, elc_ms_tv(cto));
    if (!ctx || ctx->err) {
        snprintf(why, wlen, "%s", ctx ? ctx->errstr : "out of memory");
        if (ctx) redisFree(ctx);
        return -1;
    }
    redisSetTimeout(ctx, elc_ms_tv(c->socket_timeout_ms));
    /* keep the reader's buffer between replies up to READER_KEEP_BYTES: hiredis frees it after
     * every reply larger than 16 kB, so that each model answer (a few hundred kB every RK
     * stage) grew it again from 16 kB, copying what it had read at every doubling */
    ctx->reader->maxbuf = READER_KEEP_BYTES;
    /* the kernel's receive time with what recvmsg reads (elc_infer's latency; recv ignores it) */
    int on = 1;
    setsockopt(ctx->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
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
        int nd = elc_node_add(c, e->element[2]->element[0]->str, (int)e->element[2]->element[1]->integer, NULL);
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
    c->slot_gen++;
    return 0;
}

/* Ask any reachable node for the slot map. Best effort; returns 0 on success. */
int elc_refresh_slots(elc_client *c, char *why, size_t wlen)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        if (elc_node_connect(c, (int)i, why, wlen) != 0) continue;
        redisReply *r = elc_simple_cmd(c->nodes[i].ctx, "CLUSTER", "SLOTS");
        if (!r) { elc_node_close(&c->nodes[i]); continue; }
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

void elc_client_options_init(elc_client_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->cluster = -1;
}

/* An option given in o (> 0) wins over the environment variable NAME(_suffix), which wins
 * over the default. */
static elc_status opt_int(int given, const char *name, const char *suffix, long long def,
                          int *out)
{
    long long v;
    if (given > 0) { *out = given; return ELC_OK; }
    elc_status st = env_int(name, suffix, def, 1, &v);
    if (st) return st;
    *out = (int)v;
    return ELC_OK;
}

static elc_status read_config(elc_client *c, const elc_client_options *o)
{
    char full[256];
    const char *suffix = o->suffix;
    long long v;
    elc_status st;
    if ((st = opt_int(o->conn_timeout_s, "SR_CONN_TIMEOUT", suffix, 100, &c->conn_timeout_s))) return st;
    if ((st = opt_int(o->conn_interval_ms, "SR_CONN_INTERVAL", suffix, 1000, &c->conn_interval_ms))) return st;
    if ((st = opt_int(o->cmd_timeout_s, "SR_CMD_TIMEOUT", suffix, 100, &c->cmd_timeout_s))) return st;
    if ((st = opt_int(o->cmd_interval_ms, "SR_CMD_INTERVAL", suffix, 1000, &c->cmd_interval_ms))) return st;
    if ((st = opt_int(o->socket_timeout_ms, "SR_SOCKET_TIMEOUT", suffix, 250, &c->socket_timeout_ms))) return st;
    if ((st = env_int("SR_MODEL_TIMEOUT", NULL, 60000000, 1, &v))) return st;
    c->model_timeout_ms = v;
    if (o->conn_attempts > 0) c->conn_attempts = o->conn_attempts;
    if (o->cluster < 0) {
        const char *t = getenv_sfx("SR_DB_TYPE", suffix, full, sizeof full);
        c->cluster = (!t || !*t || strcasecmp(t, "clustered") == 0) ? 1 : 0;
    } else {
        c->cluster = o->cluster ? 1 : 0;
    }
    const char *pw = o->password ? o->password : getenv_sfx("EDDYLEARN_DB_PASSWORD", suffix, full, sizeof full);
    if (pw && *pw) {
        const char *user = o->user ? o->user : getenv_sfx("EDDYLEARN_DB_USER", suffix, full, sizeof full);
        c->db_password = strdup(pw);
        c->db_user = (user && *user) ? strdup(user) : NULL;
        if (!c->db_password || (user && *user && !c->db_user)) return elc_err(ELC_ERR_NOMEM, "out of memory");
    }
    const char *out = o->key_out ? o->key_out : getenv_sfx("SSKEYOUT", suffix, full, sizeof full);
    c->put_prefix = (out && *out) ? elc_strcat3(out, ".", "") : strdup("");
    const char *in = o->keys_in ? o->keys_in : getenv_sfx("SSKEYIN", suffix, full, sizeof full);
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
        if (elc_node_connect(c, 0, why, sizeof why) != 0) {
            if (c->auth_refused)  /* a wrong password does not get better with retries */
                return elc_err(ELC_ERR_DATABASE, "the database at %s refused the credentials of "
                               "EDDYLEARN_DB_USER/EDDYLEARN_DB_PASSWORD (%s)", c->address, why);
            continue;
        }
        if (!c->cluster) {
            redisReply *r = elc_simple_cmd(c->nodes[0].ctx, "PING", NULL);
            if (r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0) {
                freeReplyObject(r);
                return ELC_OK;
            }
            snprintf(why, sizeof why, "PING failed: %s", r && r->str ? r->str : c->nodes[0].ctx->errstr);
            if (r) freeReplyObject(r);
            elc_node_close(&c->nodes[0]);
            continue;
        }
        redisReply *r = elc_simple_cmd(c->nodes[0].ctx, "CLUSTER", "SLOTS");
        if (!r) {
            snprintf(why, sizeof why, "%s", c->nodes[0].ctx->errstr);
            elc_node_close(&c->nodes[0]);
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
    elc_client_options o;
    elc_client_options_init(&o);
    o.address = address;
    o.cluster = cluster;
    o.suffix = suffix;
    o.conn_attempts = conn_attempts > 0 ? conn_attempts : 0;
    o.socket_timeout_ms = socket_timeout_ms > 0 ? socket_timeout_ms : 0;
    return elc_client_create_with(out, &o);
}

elc_status elc_client_create_with(elc_client **out, const elc_client_options *opts)
{
    elc_err_clear();
    if (!out) return elc_err(ELC_ERR_PARAMETER, "elc_client_create: out is NULL");
    *out = NULL;
    elc_client_options o;
    if (opts) o = *opts;
    else elc_client_options_init(&o);
    const char *address = o.address, *suffix = o.suffix;
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
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long r = 0;
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(&r, sizeof r, 1, f) != 1) r = 0;
        if (f) fclose(f);
        c->append_id = r ^ ((unsigned long long)ts.tv_sec << 32) ^ (unsigned long long)ts.tv_nsec
                       ^ ((unsigned long long)getpid() << 16) ^ (unsigned long long)(uintptr_t)c;
    }
    elc_status st = read_config(c, &o);
    if (st) { elc_client_destroy(c); return st; }
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
    int nd = elc_node_add(c, host, port, path);
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
        elc_node_close(&c->nodes[i]);
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
