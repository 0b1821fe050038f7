/* elc_internal.h — shared internals of the eddylearn client library (not installed). */
#ifndef ELC_INTERNAL_H
#define ELC_INTERNAL_H

#include <sys/uio.h>
#include "eddylearn_client.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>

#define ELC_NSLOTS 16384

/* ---- errors (thread-local last error) ---- */
elc_status elc_err(elc_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void elc_err_clear(void);

/* ---- one database node (a connection) ---- */
typedef struct elc_node {
    char *host;          /* TCP host, or NULL for a unix socket */
    int port;
    char *path;          /* unix socket path or NULL */
    redisContext *ctx;   /* NULL when not connected */
} elc_node;

/* a slot range of the cluster (SmartRedis "DB node") with its shard prefix */
typedef struct elc_range {
    int first, last;
    int node;
    char prefix[4];
    size_t prefix_len;
} elc_range;

struct elc_client {
    int cluster;
    char *address;             /* the SSDB entry chosen, as written */
    elc_node *nodes;
    size_t n_nodes, cap_nodes;
    elc_range *ranges;         /* cluster: sorted by first slot */
    size_t n_ranges;
    unsigned long slot_gen;    /* counts the slot maps applied (the ranges' prefixes may change) */
    int16_t slot_node[ELC_NSLOTS];
    /* configuration */
    int conn_timeout_s, conn_interval_ms, cmd_timeout_s, cmd_interval_ms, socket_timeout_ms;
    long long model_timeout_ms;
    char *put_prefix;          /* "x." or "" */
    char **get_prefixes;       /* "x." entries */
    size_t n_get, cur_get;
    bool use_tensor_prefix, use_dataset_prefix, use_list_prefix, use_model_prefix;
    long long chunk_size;      /* -1: not asked yet */
    /* counters */
    unsigned long long retries;   /* resends after I/O errors */
    unsigned long long redirects; /* MOVED/ASK followed */
    unsigned int seed;
    /* set by elc_exec when it gave up after SR_CMD_TIMEOUT without a working connection */
    int io_gave_up;
    /* when set, elc_exec makes a single attempt (the stager uses it while the database is
     * known to be down, so a backlog fails fast instead of waiting SR_CMD_TIMEOUT per item) */
    int single_attempt;
    /* identity of this client for list appends: each append carries the token
     * <append_id>.<append_seq>, so a resend of the same command is recognised by the
     * database while a new append of the same dataset is listed again (docs/protocol.md) */
    unsigned long long append_id;
    unsigned long long append_seq;
    /* 1 while the last attempt to connect to a node failed (nothing reachable there), 0 once a
     * command got its replies; read from other threads with __atomic_load_n (the stager's
     * submit uses it so as not to wait for queue space that a dead connection cannot free) */
    int unreachable;
    /* > 0: connection attempts of elc_client_create instead of SR_CONN_TIMEOUT's count */
    int conn_attempts;
    /* credentials from EDDYLEARN_DB_USER / EDDYLEARN_DB_PASSWORD (NULL: none), sent with AUTH
     * on every new connection; auth_refused is set when the server rejects them */
    char *db_user, *db_password;
    int auth_refused;
};

/* elc_client_create_at with overrides (values <= 0 keep the environment's): the number of
 * connection attempts at creation and the socket timeout (for clients that must not wait). */
elc_status elc_client_create_opts(elc_client **out, const char *address, int cluster,
                                  const char *suffix, int conn_attempts, int socket_timeout_ms);
/* Key of a model or tensor on shard range i in cluster mode ("{prefix}.key" + suffix), key +
 * suffix otherwise; malloc'd. */
/* "{tag}.key<suffix>" (malloc'd; *len its length when len is given). The tag may hold any byte,
 * NUL included: the key is built with lengths. */
char *elc_tagged_key(const char *tag, size_t tagn, const char *key, const char *suffix, size_t *len);
char *elc_shard_key(elc_client *c, size_t i, const char *key, const char *suffix);
/* Its length in bytes (a shard prefix may contain NUL bytes: never use strlen on it). */
size_t elc_shard_key_len(elc_client *c, size_t i, const char *key, const char *suffix);

/* ---- connections (connection.c) ---- */
/* Index of the node host:port (or unix path), added when new; -1 when out of memory. */
int elc_node_add(elc_client *c, const char *host, int port, const char *path);
/* One connection attempt to node i (AUTH included); -1 with *why set on failure. */
int elc_node_connect(elc_client *c, int i, char *why, size_t wlen);
void elc_node_close(elc_node *nd);
struct timeval elc_ms_tv(long ms);
/* Ask any reachable node for the slot map; 0 on success. */
int elc_refresh_slots(elc_client *c, char *why, size_t wlen);
/* One command (one or two arguments) on a context, written with the SIGPIPE-safe writer of
 * command.c; NULL on I/O error (ctx->errstr says why). */
redisReply *elc_simple_cmd(redisContext *ctx, const char *a, const char *b);

/* ---- command builder ---- */
typedef struct elc_cmd {
    int argc, cap;
    const char **argv;
    size_t *lens;
    char **owned;
    int n_owned, cap_owned;
    const char *rkey;          /* routing key (borrowed from argv) or NULL */
    size_t rlen;
    int node;                  /* >= 0: fixed node index; -1: route by rkey (node 0 standalone) */
    int oom;
} elc_cmd;

void elc_cmd_init(elc_cmd *c);
void elc_cmd_free(elc_cmd *c);
void elc_cmd_arg(elc_cmd *c, const void *p, size_t len);   /* borrowed */
void elc_cmd_str(elc_cmd *c, const char *s);                /* borrowed */
void elc_cmd_take(elc_cmd *c, char *p, size_t len);         /* takes a malloc'd buffer */
void elc_cmd_fmt(elc_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void elc_cmd_route(elc_cmd *c, int argi);                   /* route by argv[argi] */

/* ---- a command written by its caller without waiting, its reply read later (infer.c) ---- */
/* Writes a command already encoded (RESP) in the caller's buffers iov[0..niov), 1 to 8 of them,
 * as they are (no copy) and without blocking, to the node that rkey routes to (node 0
 * standalone). 1: the socket took all of it; 0: it took part (maybe none): *rest (malloc'd)
 * holds the *rest_len bytes still to write, which must go before anything else on that
 * connection (elc_send_all); -1: the node is not connected, or the write failed (errno; a
 * failed write closes the node). *node: the node. */
int elc_send_nowait_iov(elc_client *c, const char *rkey, size_t rlen, const struct iovec *iov,
                        int niov, int *node, char **rest, size_t *rest_len);
/* The RESP encoding of cmd around its argument `gap`: *pre (malloc'd) holds the bytes before
 * that argument's own (its length header included), *post those after them (its CRLF first),
 * so that pre, the argument's bytes and post are the command. -1 (errno) on failure. */
int elc_cmd_encode_around(const elc_cmd *cmd, int gap, char **pre, size_t *pre_len, char **post,
                          size_t *post_len);
/* Writes all of buf to node (blocking, within the socket timeout); -1 with errno on failure,
 * which closes the node. */
int elc_send_all(elc_client *c, int node, const char *buf, size_t len);

/* Run n commands as one pipeline (grouped per node, one round trip per node). replies[i] get
 * the replies (caller frees with freeReplyObject). MOVED/ASK are followed, I/O errors retried
 * per SR_CMD_TIMEOUT/SR_CMD_INTERVAL. Error replies are returned as replies, not as status. */
elc_status elc_exec(elc_client *c, elc_cmd *cmds, size_t n, redisReply **replies);
/* One command; *reply caller frees. An error reply becomes ELC_ERR_DATABASE with message
 * "Redis error when executing command: <text>" and *reply is freed and NULL. */
elc_status elc_exec1(elc_client *c, elc_cmd *cmd, redisReply **reply);
void elc_free_replies(redisReply **r, size_t n);

/* ---- keys ---- */
char *elc_key_tensor(elc_client *c, const char *name, int put);  /* malloc'd */
char *elc_key_dataset(elc_client *c, const char *name, int put); /* base key B, malloc'd */
char *elc_key_list(elc_client *c, const char *name, int put);
char *elc_key_model(elc_client *c, const char *name, int put);   /* without shard prefix */
char *elc_strcat3(const char *a, const char *b, const char *c);
uint16_t elc_crc16(const char *buf, size_t len);
int elc_key_slot(const char *key, size_t len);
void elc_shard_prefix(int slot, char *out, size_t *len);
void elc_sleep_ms(long ms);
/* Call probe(c, name, exists) up to tries times (at least once), poll_ms apart, until *exists
 * or an error; the shared loop of every poll_* function. */
elc_status elc_poll_exists(elc_client *c, elc_status (*probe)(elc_client *, const char *, bool *),
                           const char *name, int poll_ms, int tries, bool *exists);
double elc_now(void);

/* ---- tensors ---- */
elc_dtype elc_dtype_from_name(const char *s, size_t len);
/* transpose between Fortran (column-major) and C (row-major) for dims in Fortran order */
void elc_f2c(void *dst, const void *src, const size_t *dims, size_t ndims, size_t esize);
/* the block lo..lo+n-1 of a 3-D column-major array of extents ext, transposed into row-major dst */
void elc_f2c_block3(void *dst, const void *src, const size_t ext[3], const size_t lo[3],
                    const size_t n[3], size_t esize);
/* Tensor buffers of datasets (dataset.c): malloc'd, buffers of 1 MiB or more recycled by size. */
void *elc_buf_alloc(size_t n);
void elc_buf_free(void *p, size_t n);
void elc_buf_reserve(size_t n, size_t count);
void elc_dataset_keep_buffers_ready(const elc_dataset *ds);
/* Deferred blocks (elc_dataset_add_block3_deferred), for the stager, which holds its lock to
 * read or change a state: tensor i is ELC_DEFER_PENDING until someone claims its copy
 * (ELC_DEFER_COPYING), then ELC_DEFER_NONE. elc_dataset_copy_deferred copies tensor i's block
 * from the caller's array (no lock; a failure marks the tensor lost, reported when it is sent):
 * transposed to row-major on the way (the stager's thread: one pass instead of a copy and a
 * transposition) or not (a fence: the quickest copy, transposed later by the sending thread). */
enum { ELC_DEFER_NONE = 0, ELC_DEFER_PENDING = 1, ELC_DEFER_COPYING = 2 };
int elc_dataset_has_deferred(const elc_dataset *ds);
int elc_dataset_tensor_deferred(const elc_dataset *ds, size_t i);
void elc_dataset_tensor_set_deferred(elc_dataset *ds, size_t i, int state);
void elc_dataset_copy_deferred(elc_dataset *ds, size_t i, int transpose);
void elc_c2f(void *dst, const void *src, const size_t *dims, size_t ndims, size_t esize);
/* Parse an AI.TENSORGET META BLOB reply; blob/dims point into the reply / a malloc'd array. */
elc_status elc_parse_tensor_reply(redisReply *r, const char *key, elc_dtype *dtype,
                                  size_t **dims, size_t *ndims, const char **blob,
                                  size_t *blob_len);

/* Copy the tensor at raw key src to raw key dst (any shards). */
elc_status elc_copy_tensor_key(elc_client *c, const char *src, size_t slen, const char *dst,
                               size_t dlen);

/* ---- datasets ---- */
/* Append the put_dataset commands for ds (routed to its slot) to cmds starting at *n. */
elc_status elc_dataset_put_cmds(elc_client *c, const elc_dataset *ds, elc_cmd *cmds, size_t *n,
                                char **basekey_out);
size_t elc_dataset_put_ncmds(const elc_dataset *ds);

#endif
