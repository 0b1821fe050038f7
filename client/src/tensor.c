/* tensor.c — dtypes, Fortran/C layout conversion, tensor, key and list commands. */
#define _GNU_SOURCE
#include "elc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const dtype_names[] = {"INVALID", "DOUBLE", "FLOAT", "INT8", "INT16",
                                          "INT32",   "INT64",  "UINT8", "UINT16"};
static const size_t dtype_sizes[] = {0, 8, 4, 1, 2, 4, 8, 1, 2};

size_t elc_dtype_size(elc_dtype d) { return (d >= ELC_DOUBLE && d <= ELC_UINT16) ? dtype_sizes[d] : 0; }

const char *elc_dtype_name(elc_dtype d)
{
    return (d >= ELC_DOUBLE && d <= ELC_UINT16) ? dtype_names[d] : "INVALID";
}

elc_dtype elc_dtype_from_name(const char *s, size_t len)
{
    for (int d = ELC_DOUBLE; d <= ELC_UINT16; d++)
        if (strlen(dtype_names[d]) == len && memcmp(dtype_names[d], s, len) == 0) return (elc_dtype)d;
    return ELC_DTYPE_INVALID;
}

/* Transposition between column-major src (Fortran) and row-major dst for dims in Fortran
 * order: a full reversal of the axes. For every combination of the middle indices it is a 2D
 * transpose between the first axis (contiguous in the column-major array) and the last axis
 * (contiguous in the row-major one), done in cache tiles. dir = 0: F -> C; dir = 1: C -> F. */
#define ELC_TILE 32
#define TILE_LOOP(T)                                                                          \
    for (size_t a0 = 0; a0 < d0; a0 += ELC_TILE) {                                           \
        size_t a1 = a0 + ELC_TILE < d0 ? a0 + ELC_TILE : d0;                                 \
        for (size_t b0 = 0; b0 < dl; b0 += ELC_TILE) {                                       \
            size_t b1 = b0 + ELC_TILE < dl ? b0 + ELC_TILE : dl;                             \
            for (size_t i = a0; i < a1; i++) {                                               \
                for (size_t j = b0; j < b1; j++) {                                           \
                    size_t cm = coff + i + j * cs_last; /* column-major offset */            \
                    size_t rm = roff + i * rs_first + j; /* row-major offset */              \
                    if (dir == 0) ((T *)dst)[rm] = ((const T *)src)[cm];                     \
                    else ((T *)dst)[cm] = ((const T *)src)[rm];                              \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }

/* TILE_LOOP for the element size es (bytes moved as unsigned integers of that width) */
#define TILE_BY_SIZE()                                                                        \
    do {                                                                                      \
        if (es == 8) { TILE_LOOP(uint64_t) }                                                  \
        else if (es == 4) { TILE_LOOP(uint32_t) }                                             \
        else if (es == 2) { TILE_LOOP(uint16_t) }                                             \
        else { TILE_LOOP(uint8_t) }                                                           \
    } while (0)

static void transpose(void *dst, const void *src, const size_t *dims, size_t ndims, size_t es,
                      int dir)
{
    size_t n = 1;
    for (size_t k = 0; k < ndims; k++) n *= dims[k];
    if (ndims <= 1 || n == 0) {
        memcpy(dst, src, n * es);
        return;
    }
    size_t cstride[16], rstride[16], idx[16] = {0};
    size_t s = 1;
    for (size_t k = 0; k < ndims; k++) { cstride[k] = s; s *= dims[k]; }
    s = 1;
    for (size_t k = ndims; k-- > 0;) { rstride[k] = s; s *= dims[k]; }
    size_t d0 = dims[0], dl = dims[ndims - 1];
    size_t cs_last = cstride[ndims - 1], rs_first = rstride[0];
    for (;;) {
        size_t coff = 0, roff = 0;
        for (size_t k = 1; k + 1 < ndims; k++) {
            coff += idx[k] * cstride[k];
            roff += idx[k] * rstride[k];
        }
        TILE_BY_SIZE();
        size_t k = 1;
        while (k + 1 < ndims) {
            if (++idx[k] < dims[k]) break;
            idx[k] = 0;
            k++;
        }
        if (k + 1 >= ndims) break;
    }
}

/* F -> C of the block lo..lo+n-1 of a 3-D column-major array of extents ext (a field with its
 * halos) straight into row-major dst of dims n: the copy out of the array and the transposition
 * in one pass. For every index of the middle axis a 2D transpose in cache tiles, as above. */
void elc_f2c_block3(void *dst, const void *src, const size_t ext[3], const size_t lo[3],
                    const size_t n[3], size_t es)
{
    const int dir = 0;
    size_t d0 = n[0], dl = n[2], cs_last = ext[0] * ext[1], rs_first = n[1] * n[2];
    for (size_t j = 0; j < n[1]; j++) {
        size_t coff = (lo[2] * ext[1] + lo[1] + j) * ext[0] + lo[0], roff = j * n[2];
        TILE_BY_SIZE();
    }
}

void elc_f2c(void *dst, const void *src, const size_t *dims, size_t ndims, size_t es)
{
    transpose(dst, src, dims, ndims, es, 0);
}

void elc_c2f(void *dst, const void *src, const size_t *dims, size_t ndims, size_t es)
{
    transpose(dst, src, dims, ndims, es, 1);
}

static elc_status check_tensor_args(const char *name, const void *data, const size_t *dims,
                                    size_t ndims, elc_dtype dtype, size_t *nbytes)
{
    if (!name || !*name) return elc_err(ELC_ERR_PARAMETER, "The tensor name must not be empty");
    if (elc_dtype_size(dtype) == 0) return elc_err(ELC_ERR_PARAMETER, "Invalid tensor dtype %d", (int)dtype);
    if (ndims == 0 || ndims > 16 || !dims)
        return elc_err(ELC_ERR_PARAMETER, "A tensor needs between 1 and 16 dimensions, got %zu", ndims);
    size_t n = 1;
    for (size_t k = 0; k < ndims; k++) {
        if (dims[k] == 0) return elc_err(ELC_ERR_PARAMETER, "All tensor dimensions must be positive");
        n *= dims[k];
    }
    if (!data) return elc_err(ELC_ERR_PARAMETER, "The tensor data pointer is NULL");
    *nbytes = n * elc_dtype_size(dtype);
    return ELC_OK;
}

elc_status elc_put_tensor(elc_client *c, const char *name, const void *data, const size_t *dims,
                          size_t ndims, elc_dtype dtype, elc_layout layout)
{
    elc_err_clear();
    size_t nb = 0;
    if (!c) return elc_err(ELC_ERR_PARAMETER, "client is NULL");
    elc_status st = check_tensor_args(name, data, dims, ndims, dtype, &nb);
    if (st) return st;
    const void *blob = data;
    void *tmp = NULL;
    if (layout == ELC_LAYOUT_FORTRAN && ndims > 1) {
        tmp = malloc(nb);
        if (!tmp) return elc_err(ELC_ERR_NOMEM, "out of memory (%zu bytes)", nb);
        elc_f2c(tmp, data, dims, ndims, elc_dtype_size(dtype));
        blob = tmp;
    }
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    elc_cmd_str(&cmd, "AI.TENSORSET");
    char *key = elc_key_tensor(c, name, 1);
    elc_cmd_take(&cmd, key, key ? strlen(key) : 0);
    elc_cmd_route(&cmd, 1);
    elc_cmd_str(&cmd, elc_dtype_name(dtype));
    for (size_t k = 0; k < ndims; k++) elc_cmd_fmt(&cmd, "%zu", dims[k]);
    elc_cmd_str(&cmd, "BLOB");
    elc_cmd_arg(&cmd, blob, nb);
    redisReply *r;
    st = elc_exec1(c, &cmd, &r);
    if (r) freeReplyObject(r);
    elc_cmd_free(&cmd);
    free(tmp);
    return st;
}

elc_status elc_parse_tensor_reply(redisReply *r, const char *key, elc_dtype *dtype,
                                  size_t **dims, size_t *ndims, const char **blob,
                                  size_t *blob_len)
{
    *dims = NULL;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 6 || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[3]->type != REDIS_REPLY_ARRAY || r->element[5]->type != REDIS_REPLY_STRING)
        return elc_err(ELC_ERR_RUNTIME, "Unexpected reply to AI.TENSORGET %s", key);
    *dtype = elc_dtype_from_name(r->element[1]->str, r->element[1]->len);
    if (*dtype == ELC_DTYPE_INVALID)
        return elc_err(ELC_ERR_TYPE, "The tensor %s has the unsupported dtype %s", key, r->element[1]->str);
    redisReply *d = r->element[3];
    *ndims = d->elements;
    *dims = malloc((d->elements ? d->elements : 1) * sizeof **dims);
    if (!*dims) return elc_err(ELC_ERR_NOMEM, "out of memory");
    size_t n = 1;
    for (size_t k = 0; k < d->elements; k++) {
        if (d->element[k]->type != REDIS_REPLY_INTEGER || d->element[k]->integer <= 0) {
            free(*dims);
            *dims = NULL;
            return elc_err(ELC_ERR_RUNTIME, "The tensor %s has an invalid shape", key);
        }
        (*dims)[k] = (size_t)d->element[k]->integer;
        n *= (*dims)[k];
    }
    *blob = r->element[5]->str;
    *blob_len = r->element[5]->len;
    if (n * elc_dtype_size(*dtype) != *blob_len) {
        free(*dims);
        *dims = NULL;
        return elc_err(ELC_ERR_RUNTIME, "The tensor %s has %zu bytes for its shape, expected %zu", key,
                       *blob_len, n * elc_dtype_size(*dtype));
    }
    return ELC_OK;
}

/* AI.TENSORGET key META BLOB; missing key -> ELC_ERR_KEY. *r caller frees. */
static elc_status tensorget(elc_client *c, const char *key, redisReply **r)
{
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    elc_cmd_str(&cmd, "AI.TENSORGET");
    elc_cmd_str(&cmd, key);
    elc_cmd_route(&cmd, 1);
    elc_cmd_str(&cmd, "META");
    elc_cmd_str(&cmd, "BLOB");
    elc_status st = elc_exec(c, &cmd, 1, r);
    elc_cmd_free(&cmd);
    if (st) return st;
    if ((*r)->type == REDIS_REPLY_ERROR) {
        int missing = strstr((*r)->str, "empty") != NULL;
        st = elc_err(missing ? ELC_ERR_KEY : ELC_ERR_DATABASE,
                     missing ? "The tensor %s does not exist (%s)" : "Redis error when executing command: AI.TENSORGET %s: %s",
                     key, (*r)->str);
        freeReplyObject(*r);
        *r = NULL;
    }
    return st;
}

/* Copy a fetched row-major blob into a user buffer, checking dtype and dims. */
static elc_status unpack_into(const char *what, elc_dtype got_t, const size_t *got_d, size_t got_n,
                              const char *blob, void *data, const size_t *dims, size_t ndims,
                              elc_dtype dtype, elc_layout layout)
{
    if (got_t != dtype)
        return elc_err(ELC_ERR_TYPE, "The type of the fetched tensor %s (%s) does not match the provided type (%s)",
                       what, elc_dtype_name(got_t), elc_dtype_name(dtype));
    int ok = got_n == ndims;
    for (size_t k = 0; ok && k < ndims; k++) ok = got_d[k] == dims[k];
    if (layout == ELC_LAYOUT_FLAT) {
        size_t total = 1;
        for (size_t k = 0; k < got_n; k++) total *= got_d[k];
        if (ndims != 1 || dims[0] != total)
            return elc_err(ELC_ERR_PARAMETER,
                           "The fetched tensor %s has %zu elements; the contiguous memory space given holds %zu",
                           what, total, ndims == 1 ? dims[0] : (size_t)0);
        memcpy(data, blob, total * elc_dtype_size(dtype));
        return ELC_OK;
    }
    if (!ok) {
        char gs[256] = "", ws[256] = "";
        size_t o = 0;
        for (size_t k = 0; k < got_n && o < 200; k++) o += (size_t)snprintf(gs + o, sizeof gs - o, "%s%zu", k ? "," : "", got_d[k]);
        o = 0;
        for (size_t k = 0; k < ndims && o < 200; k++) o += (size_t)snprintf(ws + o, sizeof ws - o, "%s%zu", k ? "," : "", dims[k]);
        return elc_err(ELC_ERR_PARAMETER,
                       "The dimensions of the fetched tensor %s (%s) do not match the provided memory space (%s)",
                       what, gs, ws);
    }
    size_t n = 1;
    for (size_t k = 0; k < ndims; k++) n *= dims[k];
    if (layout == ELC_LAYOUT_FORTRAN && ndims > 1) elc_c2f(data, blob, dims, ndims, elc_dtype_size(dtype));
    else memcpy(data, blob, n * elc_dtype_size(dtype));
    return ELC_OK;
}

elc_status elc_unpack_tensor(elc_client *c, const char *name, void *data, const size_t *dims,
                             size_t ndims, elc_dtype dtype, elc_layout layout)
{
    elc_err_clear();
    size_t nb = 0;
    if (!c) return elc_err(ELC_ERR_PARAMETER, "client is NULL");
    elc_status st = check_tensor_args(name, data, dims, ndims, dtype, &nb);
    if (st) return st;
    char *key = elc_key_tensor(c, name, 0);
    if (!key) return elc_err(ELC_ERR_NOMEM, "out of memory");
    redisReply *r = NULL;
    st = tensorget(c, key, &r);
    if (!st) {
        elc_dtype t;
        size_t *d, nd, bl;
        const char *blob;
        st = elc_parse_tensor_reply(r, key, &t, &d, &nd, &blob, &bl);
        if (!st) st = unpack_into(key, t, d, nd, blob, data, dims, ndims, dtype, layout);
        free(d);
    }
    if (r) freeReplyObject(r);
    free(key);
    return st;
}

elc_status elc_get_tensor(elc_client *c, const char *name, void **data, size_t **dims,
                          size_t *ndims, elc_dtype *dtype)
{
    elc_err_clear();
    if (!c || !name || !data || !dims || !ndims || !dtype)
        return elc_err(ELC_ERR_PARAMETER, "elc_get_tensor: NULL argument");
    *data = NULL;
    *dims = NULL;
    char *key = elc_key_tensor(c, name, 0);
    if (!key) return elc_err(ELC_ERR_NOMEM, "out of memory");
    redisReply *r = NULL;
    elc_status st = tensorget(c, key, &r);
    if (!st) {
        const char *blob;
        size_t bl;
        st = elc_parse_tensor_reply(r, key, dtype, dims, ndims, &blob, &bl);
        if (!st) {
            *data = malloc(bl ? bl : 1);
            if (!*data) {
                free(*dims);
                *dims = NULL;
                st = elc_err(ELC_ERR_NOMEM, "out of memory");
            } else {
                memcpy(*data, blob, bl);
            }
        }
    }
    if (r) freeReplyObject(r);
    free(key);
    return st;
}

/* simple commands -------------------------------------------------------------------------- */

static elc_status cmd2(elc_client *c, const char *verb, const char *key, long long *ival)
{
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    elc_cmd_str(&cmd, verb);
    elc_cmd_str(&cmd, key);
    elc_cmd_route(&cmd, 1);
    redisReply *r;
    elc_status st = elc_exec1(c, &cmd, &r);
    elc_cmd_free(&cmd);
    if (st) return st;
    if (ival) {
        if (r->type != REDIS_REPLY_INTEGER) st = elc_err(ELC_ERR_RUNTIME, "%s %s did not return an integer", verb, key);
        else *ival = r->integer;
    }
    freeReplyObject(r);
    return st;
}

elc_status elc_delete_tensor(elc_client *c, const char *name)
{
    elc_err_clear();
    if (!c || !name) return elc_err(ELC_ERR_PARAMETER, "elc_delete_tensor: NULL argument");
    char *key = elc_key_tensor(c, name, 0);
    if (!key) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_status st = cmd2(c, c->cluster ? "UNLINK" : "DEL", key, NULL);
    free(key);
    return st;
}

static elc_status exists_raw(elc_client *c, const char *key, bool *exists)
{
    long long v = 0;
    elc_status st = cmd2(c, "EXISTS", key, &v);
    if (!st) *exists = v > 0;
    return st;
}

elc_status elc_tensor_exists(elc_client *c, const char *name, bool *exists)
{
    elc_err_clear();
    if (!c || !name || !exists) return elc_err(ELC_ERR_PARAMETER, "elc_tensor_exists: NULL argument");
    char *key = elc_key_tensor(c, name, 0);
    if (!key) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_status st = exists_raw(c, key, exists);
    free(key);
    return st;
}

elc_status elc_poll_tensor(elc_client *c, const char *name, int poll_ms, int num_tries,
                           bool *exists)
{
    elc_err_clear();
    if (!c || !name || !exists) return elc_err(ELC_ERR_PARAMETER, "elc_poll_tensor: NULL argument");
    char *key = elc_key_tensor(c, name, 0);
    if (!key) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_status st = elc_poll_exists(c, exists_raw, key, poll_ms, num_tries, exists);
    free(key);
    return st;
}

elc_status elc_key_exists(elc_client *c, const char *key, bool *exists)
{
    elc_err_clear();
    if (!c || !key || !exists) return elc_err(ELC_ERR_PARAMETER, "elc_key_exists: NULL argument");
    return exists_raw(c, key, exists);
}

elc_status elc_poll_key(elc_client *c, const char *key, int poll_ms, int num_tries, bool *exists)
{
    elc_err_clear();
    if (!c || !key || !exists) return elc_err(ELC_ERR_PARAMETER, "elc_poll_key: NULL argument");
    return elc_poll_exists(c, exists_raw, key, poll_ms, num_tries, exists);
}

/* lists ------------------------------------------------------------------------------------ */

elc_status elc_get_list_length(elc_client *c, const char *list, long long *length)
{
    elc_err_clear();
    if (!c || !list || !*list || !length) return elc_err(ELC_ERR_PARAMETER, "The list name must not be empty");
    char *key = elc_key_list(c, list, 0);
    if (!key) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_status st = cmd2(c, "LLEN", key, length);
    free(key);
    return st;
}

elc_status elc_poll_list_length(elc_client *c, const char *list, long long length, int poll_ms,
                                int num_tries, bool *reached)
{
    elc_err_clear();
    if (!reached) return elc_err(ELC_ERR_PARAMETER, "reached is NULL");
    *reached = false;
    if (length < 0) return elc_err(ELC_ERR_PARAMETER, "A positive value for list_length must be provided.");
    if (num_tries < 1) num_tries = 1;
    for (int i = 0; i < num_tries; i++) {
        long long n = 0;
        elc_status st = elc_get_list_length(c, list, &n);
        if (st) return st;
        if (n == length) { *reached = true; return ELC_OK; }
        if (i + 1 < num_tries) elc_sleep_ms(poll_ms);
    }
    return ELC_OK;
}

elc_status elc_delete_list(elc_client *c, const char *list)
{
    elc_err_clear();
    if (!c || !list || !*list) return elc_err(ELC_ERR_PARAMETER, "The list name must not be empty");
    char *key = elc_key_list(c, list, 0);
    if (!key) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_status st = cmd2(c, "DEL", key, NULL);
    free(key);
    return st;
}

/* copies and renames ----------------------------------------------------------------------- */

elc_status elc_copy_tensor(elc_client *c, const char *src, const char *dest)
{
    elc_err_clear();
    if (!c || !src || !*src || !dest || !*dest)
        return elc_err(ELC_ERR_PARAMETER, "The source and destination tensor names must not be empty");
    char *sk = elc_key_tensor(c, src, 0), *dk = elc_key_tensor(c, dest, 1);
    elc_status st = ELC_OK;
    bool there = false;
    if (!sk || !dk) st = elc_err(ELC_ERR_NOMEM, "out of memory");
    if (!st) st = exists_raw(c, sk, &there);
    if (!st && !there) st = elc_err(ELC_ERR_KEY, "The tensor %s does not exist", sk);
    if (!st) st = elc_copy_tensor_key(c, sk, strlen(sk), dk, strlen(dk));
    free(sk);
    free(dk);
    return st;
}

elc_status elc_rename_tensor(elc_client *c, const char *src, const char *dest)
{
    elc_status st = elc_copy_tensor(c, src, dest);
    if (st) return st;
    char *sk = elc_key_tensor(c, src, 0), *dk = elc_key_tensor(c, dest, 1);
    if (!sk || !dk) { free(sk); free(dk); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
    if (strcmp(sk, dk) != 0) st = cmd2(c, "DEL", sk, NULL);
    free(sk);
    free(dk);
    return st;
}
