/* admin.c — commands sent to one database node named by its address: FLUSHDB, SAVE,
 * CONFIG GET/SET, INFO, CLUSTER INFO and AI.INFO (SmartRedis's address-based calls). */
#define _GNU_SOURCE
#include "elc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void elc_free_strings(char **strings, size_t n)
{
    if (!strings) return;
    for (size_t i = 0; i < n; i++) free(strings[i]);
    free(strings);
}

static char *node_address(const elc_node *nd)
{
    char *s = NULL;
    if (nd->path) {
        if (asprintf(&s, "unix://%s", nd->path) < 0) s = NULL;
    } else if (asprintf(&s, "%s:%d", nd->host, nd->port) < 0) s = NULL;
    return s;
}

elc_status elc_node_addresses(elc_client *c, char ***addresses, size_t *n)
{
    elc_err_clear();
    if (!c || !addresses || !n) return elc_err(ELC_ERR_PARAMETER, "NULL argument");
    *addresses = NULL;
    *n = 0;
    /* in a cluster the nodes that serve slots; standalone the one node */
    size_t cnt = 0;
    char **v = calloc(c->n_nodes ? c->n_nodes : 1, sizeof *v);
    if (!v) return elc_err(ELC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c->n_nodes; i++) {
        int serves = !c->cluster;
        for (size_t r = 0; c->cluster && r < c->n_ranges; r++)
            if (c->ranges[r].node == (int)i) serves = 1;
        if (!serves) continue;
        if (!(v[cnt] = node_address(&c->nodes[i]))) {
            elc_free_strings(v, cnt);
            return elc_err(ELC_ERR_NOMEM, "out of memory");
        }
        cnt++;
    }
    *addresses = v;
    *n = cnt;
    return ELC_OK;
}

/* Index of the node at address, or -1 with the error set in *st. */
static int find_node(elc_client *c, const char *address, elc_status *st)
{
    if (!address || !*address) {
        *st = elc_err(ELC_ERR_PARAMETER, "The database address must not be empty");
        return -1;
    }
    const char *a = strncmp(address, "tcp://", 6) == 0 ? address + 6 : address;
    for (size_t i = 0; i < c->n_nodes; i++) {
        const elc_node *nd = &c->nodes[i];
        if (nd->path) {
            if (strncmp(a, "unix://", 7) == 0 && strcmp(a + 7, nd->path) == 0) return (int)i;
            continue;
        }
        const char *colon = strrchr(a, ':');
        if (!colon) continue;
        size_t hl = (size_t)(colon - a);
        if (strlen(nd->host) == hl && strncmp(a, nd->host, hl) == 0 && atoi(colon + 1) == nd->port)
            return (int)i;
    }
    *st = elc_err(ELC_ERR_RUNTIME, "The provided address %s does not match a database node of this client "
            "(in a cluster: an address that CLUSTER SLOTS lists; standalone: the address of SSDB)", address);
    return -1;
}

/* Run argv on the node at address; *r caller frees (an error reply is ELC_ERR_DATABASE). */
static elc_status at(elc_client *c, const char *address, int argc, const char **argv,
                     redisReply **r)
{
    elc_err_clear();
    *r = NULL;
    if (!c) return elc_err(ELC_ERR_PARAMETER, "client is NULL");
    elc_status st;
    int nd = find_node(c, address, &st);
    if (nd < 0) return st;
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    for (int i = 0; i < argc; i++) elc_cmd_str(&cmd, argv[i]);
    cmd.node = nd;
    st = elc_exec1(c, &cmd, r);
    elc_cmd_free(&cmd);
    return st;
}

static elc_status expect_ok(elc_client *c, const char *address, int argc, const char **argv)
{
    redisReply *r;
    elc_status st = at(c, address, argc, argv, &r);
    if (r) freeReplyObject(r);
    return st;
}

elc_status elc_flush_db(elc_client *c, const char *address)
{
    const char *argv[] = {"FLUSHDB"};
    return expect_ok(c, address, 1, argv);
}

elc_status elc_save(elc_client *c, const char *address)
{
    const char *argv[] = {"SAVE"};
    return expect_ok(c, address, 1, argv);
}

elc_status elc_config_set(elc_client *c, const char *address, const char *param,
                          const char *value)
{
    if (!param || !*param || !value) return elc_err(ELC_ERR_PARAMETER, "The configuration parameter and value must be given");
    const char *argv[] = {"CONFIG", "SET", param, value};
    return expect_ok(c, address, 4, argv);
}

/* Flatten an array reply of strings/integers (key, value, ...) into new strings. */
static elc_status flatten(redisReply *r, char ***pairs, size_t *n)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return elc_err(ELC_ERR_RUNTIME, "An unexpected reply type was returned");
    char **v = calloc(r->elements ? r->elements : 1, sizeof *v);
    if (!v) return elc_err(ELC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        int ok;
        if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) {
            v[i] = malloc(e->len + 1);
            if (v[i]) { memcpy(v[i], e->str, e->len); v[i][e->len] = '\0'; }
            ok = v[i] != NULL;
        } else if (e->type == REDIS_REPLY_INTEGER) {
            ok = asprintf(&v[i], "%lld", e->integer) >= 0;
        } else {
            ok = (v[i] = strdup("")) != NULL;
        }
        if (!ok) { v[i] = NULL; elc_free_strings(v, i); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
    }
    *pairs = v;
    *n = r->elements;
    return ELC_OK;
}

elc_status elc_config_get(elc_client *c, const char *address, const char *expression,
                          char ***pairs, size_t *n_pairs)
{
    if (!pairs || !n_pairs) return elc_err(ELC_ERR_PARAMETER, "pairs or n_pairs is NULL");
    *pairs = NULL;
    *n_pairs = 0;
    if (!expression || !*expression) return elc_err(ELC_ERR_PARAMETER, "The configuration expression must not be empty");
    const char *argv[] = {"CONFIG", "GET", expression};
    redisReply *r;
    elc_status st = at(c, address, 3, argv, &r);
    if (st) return st;
    st = flatten(r, pairs, n_pairs);
    freeReplyObject(r);
    return st;
}

static elc_status text_of(elc_client *c, const char *address, int argc, const char **argv,
                          char **text)
{
    if (!text) return elc_err(ELC_ERR_PARAMETER, "text is NULL");
    *text = NULL;
    redisReply *r;
    elc_status st = at(c, address, argc, argv, &r);
    if (st) return st;
    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) {
        freeReplyObject(r);
        return elc_err(ELC_ERR_RUNTIME, "%s did not return text", argv[0]);
    }
    char *s = malloc(r->len + 1);
    if (s) { memcpy(s, r->str, r->len); s[r->len] = '\0'; }
    freeReplyObject(r);
    if (!s) return elc_err(ELC_ERR_NOMEM, "out of memory");
    *text = s;
    return ELC_OK;
}

elc_status elc_db_node_info(elc_client *c, const char *address, char **text)
{
    const char *argv[] = {"INFO", "everything"};
    return text_of(c, address, 2, argv, text);
}

elc_status elc_db_cluster_info(elc_client *c, const char *address, char **text)
{
    if (c && !c->cluster) return elc_err(ELC_ERR_RUNTIME, "Cannot run on non-cluster environment");
    const char *argv[] = {"CLUSTER", "INFO"};
    return text_of(c, address, 2, argv, text);
}

elc_status elc_ai_info(elc_client *c, const char *address, const char *key, bool reset_stat,
                       char ***pairs, size_t *n_pairs)
{
    if (!pairs || !n_pairs) return elc_err(ELC_ERR_PARAMETER, "pairs or n_pairs is NULL");
    *pairs = NULL;
    *n_pairs = 0;
    if (!c || !key || !*key) return elc_err(ELC_ERR_PARAMETER, "The model or script key must not be empty");
    elc_status st;
    int nd = find_node(c, address, &st);
    if (nd < 0) return st;
    char *k = NULL;
    size_t kl = 0;
    if (c->cluster) {
        for (size_t i = 0; i < c->n_ranges && !k; i++)
            if (c->ranges[i].node == nd) {
                k = elc_shard_key(c, i, key, "");
                kl = elc_shard_key_len(c, i, key, "");
            }
        if (!k) return elc_err(ELC_ERR_RUNTIME, "The database node %s serves no hash slots", address);
    } else {
        k = strdup(key);
        kl = strlen(key);
    }
    if (!k) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    elc_cmd_str(&cmd, "AI.INFO");
    elc_cmd_take(&cmd, k, kl);
    if (reset_stat) elc_cmd_str(&cmd, "RESETSTAT");
    cmd.node = nd;
    redisReply *r;
    st = elc_exec1(c, &cmd, &r);
    elc_cmd_free(&cmd);
    if (st) return st;
    if (r->type == REDIS_REPLY_STATUS) {  /* RESETSTAT answers OK */
        freeReplyObject(r);
        return ELC_OK;
    }
    st = flatten(r, pairs, n_pairs);
    freeReplyObject(r);
    return st;
}
