/* dataset.c — in-memory datasets, the SmartRedis metadata byte format (docs/protocol.md §2.3) and the
 * dataset/list commands (docs/protocol.md §3.2). */
#define _GNU_SOURCE
#include "elc_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ds_tensor {
    char *name;
    elc_dtype dtype;
    size_t ndims;
    size_t *dims;
    void *data; /* row-major, or column-major while colmajor is set */
    size_t nbytes;
    int colmajor; /* added with ELC_LAYOUT_FORTRAN: transposed lazily, when it is sent or
                     borrowed, so that the caller (the solver) only pays a memcpy */
    /* a deferred block (elc_dataset_add_block3_deferred): data stays NULL until the block is
     * copied from the caller's array src (extent and lo as for add_block3) */
    int deferred; /* ELC_DEFER_NONE, _PENDING or _COPYING (a stager's thread or fence has it) */
    int lost;     /* the deferred copy failed (out of memory): the tensor cannot be sent */
    const void *src;
    size_t extent[3], lo[3];
} ds_tensor;

typedef struct ds_meta {
    char *name;
    elc_meta_type type;
    char *buf;   /* serialised field: type byte then values */
    size_t len, cap;
    size_t count;
    size_t *soff; /* strings: offset of each string's bytes in buf */
    size_t *slen;
} ds_meta;

struct elc_dataset {
    char *name;
    ds_tensor *t;
    size_t nt, capt;
    ds_meta *m;
    size_t nm, capm;
    size_t nbytes;
};

static const size_t meta_sizes[] = {0, 8, 4, 4, 8, 4, 8, 0};

elc_status elc_dataset_create(elc_dataset **out, const char *name)
{
    elc_err_clear();
    if (!out) return elc_err(ELC_ERR_PARAMETER, "elc_dataset_create: out is NULL");
    *out = NULL;
    if (!name || !*name) return elc_err(ELC_ERR_PARAMETER, "The dataset name must not be empty");
    elc_dataset *ds = calloc(1, sizeof *ds);
    if (!ds || !(ds->name = strdup(name))) {
        free(ds);
        return elc_err(ELC_ERR_NOMEM, "out of memory");
    }
    *out = ds;
    return ELC_OK;
}

/* ---- large tensor buffers, recycled ------------------------------------------------------
 * A solver hands over snapshots of the same sizes again and again. A fresh malloc of several MiB
 * is a fresh mapping whose pages fault in, one by one, as the solver's copy first touches them;
 * recycling the buffers (the solver's copy into one while the sender transposes into another)
 * keeps the copy at memory speed. A reader of datasets (get_dataset) recycles them too; at most
 * POOL_MAX_BYTES are kept idle. Every buffer is malloc'd, so one kept here or not can always be
 * released with free(). */
#define POOL_SLOTS 16
#define POOL_MIN_BYTES ((size_t)1 << 20)
#define POOL_MAX_BYTES ((size_t)128 << 20)
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { void *p; size_t n; } pool[POOL_SLOTS];
static size_t pool_bytes;

void *elc_buf_alloc(size_t n)
{
    if (n >= POOL_MIN_BYTES) {
        pthread_mutex_lock(&pool_mu);
        for (int i = 0; i < POOL_SLOTS; i++) {
            if (pool[i].p && pool[i].n == n) {
                void *p = pool[i].p;
                pool[i].p = NULL;
                pool_bytes -= n;
                pthread_mutex_unlock(&pool_mu);
                return p;
            }
        }
        pthread_mutex_unlock(&pool_mu);
    }
    return malloc(n ? n : 1);
}

/* Make sure the pool holds at least `count` idle buffers of n bytes (as far as its limits let
 * it), each with its pages already written once, so that whoever takes one next copies at memory
 * speed instead of faulting the pages in. The stager's thread calls this for the sizes of the
 * item it has just taken, on its own core; a solver can call it once before its first snapshot. */
void elc_buf_reserve(size_t n, size_t count)
{
    if (n < POOL_MIN_BYTES) return;
    for (;;) {
        size_t have = 0, room = 0;
        pthread_mutex_lock(&pool_mu);
        for (int i = 0; i < POOL_SLOTS; i++) {
            if (!pool[i].p) room++;
            else if (pool[i].n == n) have++;
        }
        int more = have < count && room > 0 && pool_bytes + n <= POOL_MAX_BYTES;
        pthread_mutex_unlock(&pool_mu);
        if (!more) return;
        volatile char *p = malloc(n);
        if (!p) return;
        for (size_t off = 0; off < n; off += 4096) p[off] = 0;
        p[n - 1] = 0;
        elc_buf_free((void *)p, n);
    }
}

elc_status elc_buffers_reserve(size_t nbytes, size_t count)
{
    elc_err_clear();
    if (count > POOL_SLOTS)
        return elc_err(ELC_ERR_PARAMETER, "elc_buffers_reserve: at most %d buffers can be kept, not %zu",
                       POOL_SLOTS, count);
    elc_buf_reserve(nbytes, count);
    return ELC_OK;
}

void elc_buf_free(void *p, size_t n)
{
    if (!p) return;
    if (n >= POOL_MIN_BYTES) {
        pthread_mutex_lock(&pool_mu);
        for (int i = 0; i < POOL_SLOTS && pool_bytes + n <= POOL_MAX_BYTES; i++) {
            if (!pool[i].p) {
                pool[i].p = p;
                pool[i].n = n;
                pool_bytes += n;
                pthread_mutex_unlock(&pool_mu);
                return;
            }
        }
        pthread_mutex_unlock(&pool_mu);
    }
    free(p);
}

/* For each tensor size of ds (1 MiB or more), as many idle buffers as ds has tensors of that
 * size, plus one for the transposition, ready in the pool. */
void elc_dataset_keep_buffers_ready(const elc_dataset *ds)
{
    size_t nt = ds->nt;
    for (size_t i = 0; i < nt; i++) {
        size_t n = ds->t[i].nbytes, count = 1;
        int seen = 0;
        for (size_t j = 0; j < nt; j++) {
            if (j < i && ds->t[j].nbytes == n) seen = 1;
            if (j != i && ds->t[j].nbytes == n) count++;
        }
        if (!seen) elc_buf_reserve(n, count + 1);
    }
}

static void free_tensor(ds_tensor *t)
{
    free(t->name);
    free(t->dims);
    elc_buf_free(t->data, t->nbytes);
}

static void free_meta(ds_meta *m)
{
    free(m->name);
    free(m->buf);
    free(m->soff);
    free(m->slen);
}

void elc_dataset_destroy(elc_dataset *ds)
{
    if (!ds) return;
    for (size_t i = 0; i < ds->nt; i++) free_tensor(&ds->t[i]);
    for (size_t i = 0; i < ds->nm; i++) free_meta(&ds->m[i]);
    free(ds->t);
    free(ds->m);
    free(ds->name);
    free(ds);
}

const char *elc_dataset_name(const elc_dataset *ds) { return ds ? ds->name : NULL; }
size_t elc_dataset_nbytes(const elc_dataset *ds) { return ds ? ds->nbytes : 0; }
size_t elc_dataset_num_tensors(const elc_dataset *ds) { return ds ? ds->nt : 0; }
const char *elc_dataset_tensor_name(const elc_dataset *ds, size_t i)
{
    return (ds && i < ds->nt) ? ds->t[i].name : NULL;
}

static ds_tensor *find_tensor(const elc_dataset *ds, const char *name)
{
    for (size_t i = 0; i < ds->nt; i++)
        if (strcmp(ds->t[i].name, name) == 0) return &ds->t[i];
    return NULL;
}

static ds_meta *find_meta(const elc_dataset *ds, const char *name)
{
    for (size_t i = 0; i < ds->nm; i++)
        if (strcmp(ds->m[i].name, name) == 0) return &ds->m[i];
    return NULL;
}

/* Take ownership of data (row-major) as tensor name. */
static elc_status add_tensor_owned(elc_dataset *ds, const char *name, void *data, size_t nbytes,
                                   const size_t *dims, size_t ndims, elc_dtype dtype, int colmajor)
{
    ds_tensor *t = find_tensor(ds, name);
    if (!t) {
        if (ds->nt == ds->capt) {
            size_t nc = ds->capt ? 2 * ds->capt : 4;
            ds_tensor *n = realloc(ds->t, nc * sizeof *n);
            if (!n) { free(data); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
            ds->t = n;
            ds->capt = nc;
        }
        t = &ds->t[ds->nt];
        memset(t, 0, sizeof *t);
        t->name = strdup(name);
        if (!t->name) { free(data); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
        ds->nt++;
    } else {
        ds->nbytes -= t->nbytes;
        elc_buf_free(t->data, t->nbytes);
        free(t->dims);
        t->data = NULL;
        t->dims = NULL;
    }
    t->dims = malloc(ndims * sizeof *t->dims);
    if (!t->dims) { free(data); t->nbytes = 0; return elc_err(ELC_ERR_NOMEM, "out of memory"); }
    memcpy(t->dims, dims, ndims * sizeof *dims);
    t->ndims = ndims;
    t->dtype = dtype;
    t->data = data;
    t->nbytes = nbytes;
    t->colmajor = colmajor;
    t->deferred = ELC_DEFER_NONE;
    t->lost = 0;
    t->src = NULL;
    ds->nbytes += nbytes;
    return ELC_OK;
}

static elc_status copy_block3(char **out, const void *base, const size_t extent[3],
                              const size_t lo[3], const size_t n[3], size_t es);

/* Copy a deferred block that is still pending (a dataset no stager holds: whoever reads or
 * sends it has the caller's array). Fails when the block could not be copied. */
static elc_status hold(ds_tensor *t)
{
    if (t->deferred == ELC_DEFER_PENDING) {
        char *d;
        elc_status st = copy_block3(&d, t->src, t->extent, t->lo, t->dims, elc_dtype_size(t->dtype));
        t->data = d;
        t->src = NULL;
        t->deferred = ELC_DEFER_NONE;
        t->lost = st != ELC_OK;
        return st;
    }
    if (t->lost)
        return elc_err(ELC_ERR_NOMEM, "The block of tensor %s could not be copied from the caller's "
                       "array (out of memory)", t->name);
    return ELC_OK;
}

/* Bring a tensor to row-major order (a no-op unless it was added in Fortran layout). */
static elc_status materialize(ds_tensor *t)
{
    elc_status st = hold(t);
    if (st) return st;
    if (!t->colmajor) return ELC_OK;
    void *rm = elc_buf_alloc(t->nbytes);
    if (!rm) return elc_err(ELC_ERR_NOMEM, "out of memory (%zu bytes)", t->nbytes);
    elc_f2c(rm, t->data, t->dims, t->ndims, elc_dtype_size(t->dtype));
    elc_buf_free(t->data, t->nbytes);
    t->data = rm;
    t->colmajor = 0;
    return ELC_OK;
}

elc_status elc_dataset_add_tensor(elc_dataset *ds, const char *name, const void *data,
                                  const size_t *dims, size_t ndims, elc_dtype dtype,
                                  elc_layout layout)
{
    elc_err_clear();
    if (!ds) return elc_err(ELC_ERR_PARAMETER, "dataset is NULL");
    if (!name || !*name) return elc_err(ELC_ERR_PARAMETER, "The tensor name must not be empty");
    if (elc_dtype_size(dtype) == 0) return elc_err(ELC_ERR_PARAMETER, "Invalid tensor dtype %d", (int)dtype);
    if (!dims || ndims == 0 || ndims > 16)
        return elc_err(ELC_ERR_PARAMETER, "A tensor needs between 1 and 16 dimensions, got %zu", ndims);
    if (!data) return elc_err(ELC_ERR_PARAMETER, "The tensor data pointer is NULL");
    size_t n = 1;
    for (size_t k = 0; k < ndims; k++) {
        if (dims[k] == 0) return elc_err(ELC_ERR_PARAMETER, "All tensor dimensions must be positive");
        n *= dims[k];
    }
    size_t nb = n * elc_dtype_size(dtype);
    void *copy = elc_buf_alloc(nb);
    if (!copy) return elc_err(ELC_ERR_NOMEM, "out of memory (%zu bytes)", nb);
    memcpy(copy, data, nb);
    return add_tensor_owned(ds, name, copy, nb, dims, ndims, dtype, layout == ELC_LAYOUT_FORTRAN && ndims > 1);
}

/* ---- streaming copy ---------------------------------------------------------------------
 * A snapshot's block is written once here and read next by the sending thread on another core,
 * usually into a recycled buffer that core wrote last. Ordinary stores first fetch each line
 * (from memory or from the other core's cache) and then leave 8 MiB of it in the solver's
 * caches, evicting the solver's own fields; streaming stores write the lines straight to memory.
 * On x86-64 (SSE2: every such CPU) the rows go out 16 bytes at a time to a 16-byte aligned
 * destination; elsewhere, or for rows of other lengths, memcpy. */
#if defined(__SSE2__)
#include <emmintrin.h>
static int stream_copy_fits(const void *dst, size_t line)
{
    return ((uintptr_t)dst % 16) == 0 && line % 16 == 0;
}
static void stream_copy(char *dst, const char *src, size_t len)
{
    size_t i = 0;
    for (; i + 64 <= len; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_stream_si128((__m128i *)(dst + i), a);
        _mm_stream_si128((__m128i *)(dst + i + 16), b);
        _mm_stream_si128((__m128i *)(dst + i + 32), c);
        _mm_stream_si128((__m128i *)(dst + i + 48), d);
    }
    for (; i < len; i += 16)
        _mm_stream_si128((__m128i *)(dst + i), _mm_loadu_si128((const __m128i *)(src + i)));
}
/* streaming stores are weakly ordered: fence them before another thread may read the buffer */
static void stream_copy_done(void) { _mm_sfence(); }
#else
static int stream_copy_fits(const void *dst, size_t line) { (void)dst; (void)line; return 0; }
static void stream_copy(char *dst, const char *src, size_t len) { memcpy(dst, src, len); }
static void stream_copy_done(void) {}
#endif

/* Check the arguments of a block of a 3-D Fortran array; *nb: the block's bytes. */
static elc_status check_block3(const elc_dataset *ds, const char *name, const void *base,
                               const size_t extent[3], const size_t lo[3], const size_t n[3],
                               elc_dtype dtype, size_t *nb)
{
    if (!ds) return elc_err(ELC_ERR_PARAMETER, "dataset is NULL");
    if (!name || !*name) return elc_err(ELC_ERR_PARAMETER, "The tensor name must not be empty");
    size_t es = elc_dtype_size(dtype);
    if (es == 0) return elc_err(ELC_ERR_PARAMETER, "Invalid tensor dtype %d", (int)dtype);
    if (!base || !extent || !lo || !n) return elc_err(ELC_ERR_PARAMETER, "elc_dataset_add_block3: a pointer is NULL");
    for (int k = 0; k < 3; k++) {
        if (n[k] == 0) return elc_err(ELC_ERR_PARAMETER, "All tensor dimensions must be positive");
        if (lo[k] > extent[k] || n[k] > extent[k] - lo[k])
            return elc_err(ELC_ERR_PARAMETER, "Block %zu+%zu of dimension %d passes the array's extent %zu",
                           lo[k], n[k], k + 1, extent[k]);
    }
    *nb = n[0] * n[1] * n[2] * es;
    return ELC_OK;
}

/* The block lo..lo+n-1 of the array at base into a new tensor buffer *out, in one pass. */
static elc_status copy_block3(char **out, const void *base, const size_t extent[3],
                              const size_t lo[3], const size_t n[3], size_t es)
{
    size_t nb = n[0] * n[1] * n[2] * es;
    char *dst = elc_buf_alloc(nb);
    *out = dst;
    if (!dst) return elc_err(ELC_ERR_NOMEM, "out of memory (%zu bytes)", nb);
    const char *src = base;
    size_t line = n[0] * es, at = 0;
    /* a large block goes past the caches (streaming stores), a small one through them */
    int stream = nb >= POOL_MIN_BYTES && stream_copy_fits(dst, line);
    for (size_t k = 0; k < n[2]; k++)
        for (size_t j = 0; j < n[1]; j++) {
            size_t off = ((lo[2] + k) * extent[1] + lo[1] + j) * extent[0] + lo[0];
            if (stream) stream_copy(dst + at, src + off * es, line);
            else memcpy(dst + at, src + off * es, line);
            at += line;
        }
    if (stream) stream_copy_done();
    return ELC_OK;
}

elc_status elc_dataset_add_block3(elc_dataset *ds, const char *name, const void *base,
                                  const size_t extent[3], const size_t lo[3], const size_t n[3],
                                  elc_dtype dtype)
{
    elc_err_clear();
    size_t nb;
    elc_status st = check_block3(ds, name, base, extent, lo, n, dtype, &nb);
    if (st) return st;
    char *dst;
    st = copy_block3(&dst, base, extent, lo, n, elc_dtype_size(dtype));
    if (st) return st;
    return add_tensor_owned(ds, name, dst, nb, n, 3, dtype, 1);
}

elc_status elc_dataset_add_block3_deferred(elc_dataset *ds, const char *name, const void *base,
                                           const size_t extent[3], const size_t lo[3],
                                           const size_t n[3], elc_dtype dtype)
{
    elc_err_clear();
    size_t nb;
    elc_status st = check_block3(ds, name, base, extent, lo, n, dtype, &nb);
    if (st) return st;
    st = add_tensor_owned(ds, name, NULL, nb, n, 3, dtype, 1);
    if (st) return st;
    ds_tensor *t = find_tensor(ds, name);
    t->deferred = ELC_DEFER_PENDING;
    t->src = base;
    memcpy(t->extent, extent, sizeof t->extent);
    memcpy(t->lo, lo, sizeof t->lo);
    return ELC_OK;
}

/* ---- deferred blocks, for the stager (which serialises the state changes) ---- */
int elc_dataset_tensor_deferred(const elc_dataset *ds, size_t i)
{
    return i < ds->nt ? ds->t[i].deferred : ELC_DEFER_NONE;
}

void elc_dataset_tensor_set_deferred(elc_dataset *ds, size_t i, int state)
{
    if (i < ds->nt) ds->t[i].deferred = state;
}

int elc_dataset_has_deferred(const elc_dataset *ds)
{
    for (size_t i = 0; i < ds->nt; i++)
        if (ds->t[i].deferred != ELC_DEFER_NONE) return 1;
    return 0;
}

void elc_dataset_copy_deferred(elc_dataset *ds, size_t i, int transpose)
{
    ds_tensor *t = &ds->t[i];
    char *d;
    elc_status st = ELC_OK;
    if (transpose) {
        d = elc_buf_alloc(t->nbytes);
        if (d) {
            elc_f2c_block3(d, t->src, t->extent, t->lo, t->dims, elc_dtype_size(t->dtype));
            t->colmajor = 0;
        } else {
            st = ELC_ERR_NOMEM;
        }
    } else {
        st = copy_block3(&d, t->src, t->extent, t->lo, t->dims, elc_dtype_size(t->dtype));
    }
    t->data = d;
    t->lost = st != ELC_OK;
    t->src = NULL;
}

static ds_meta *get_or_add_meta(elc_dataset *ds, const char *field, elc_meta_type type,
                                elc_status *st)
{
    ds_meta *m = find_meta(ds, field);
    if (m) {
        if (m->type != type) {
            *st = elc_err(ELC_ERR_TYPE, "The metadata field %s holds another type (%d) than the value given (%d)",
                          field, (int)m->type, (int)type);
            return NULL;
        }
        return m;
    }
    if (ds->nm == ds->capm) {
        size_t nc = ds->capm ? 2 * ds->capm : 8;
        ds_meta *n = realloc(ds->m, nc * sizeof *n);
        if (!n) { *st = elc_err(ELC_ERR_NOMEM, "out of memory"); return NULL; }
        ds->m = n;
        ds->capm = nc;
    }
    m = &ds->m[ds->nm];
    memset(m, 0, sizeof *m);
    m->name = strdup(field);
    m->buf = malloc(64);
    if (!m->name || !m->buf) {
        free(m->name);
        free(m->buf);
        *st = elc_err(ELC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->cap = 64;
    m->buf[0] = (char)type;
    m->len = 1;
    m->type = type;
    ds->nm++;
    return m;
}

static int meta_append(ds_meta *m, const void *p, size_t len)
{
    if (m->len + len > m->cap) {
        size_t nc = m->cap;
        while (nc < m->len + len) nc *= 2;
        char *b = realloc(m->buf, nc);
        if (!b) return -1;
        m->buf = b;
        m->cap = nc;
    }
    memcpy(m->buf + m->len, p, len);
    m->len += len;
    return 0;
}

static int meta_add_string_index(ds_meta *m, size_t off, size_t len)
{
    size_t *a = realloc(m->soff, (m->count + 1) * sizeof *a);
    if (!a) return -1;
    m->soff = a;
    size_t *b = realloc(m->slen, (m->count + 1) * sizeof *b);
    if (!b) return -1;
    m->slen = b;
    m->soff[m->count] = off;
    m->slen[m->count] = len;
    m->count++;
    return 0;
}

elc_status elc_dataset_add_meta_scalar(elc_dataset *ds, const char *field, const void *value,
                                       elc_meta_type type)
{
    elc_err_clear();
    if (!ds || !field || !*field || !value) return elc_err(ELC_ERR_PARAMETER, "elc_dataset_add_meta_scalar: empty argument");
    if (type < ELC_META_DOUBLE || type > ELC_META_UINT64)
        return elc_err(ELC_ERR_PARAMETER, "Invalid metadata scalar type %d", (int)type);
    if (field[0] == '.') return elc_err(ELC_ERR_PARAMETER, "Metadata field names starting with '.' are reserved: %s", field);
    elc_status st = ELC_OK;
    ds_meta *m = get_or_add_meta(ds, field, type, &st);
    if (!m) return st;
    if (meta_append(m, value, meta_sizes[type])) return elc_err(ELC_ERR_NOMEM, "out of memory");
    m->count++;
    return ELC_OK;
}

static elc_status add_string(elc_dataset *ds, const char *field, const char *str, size_t len)
{
    elc_status st = ELC_OK;
    ds_meta *m = get_or_add_meta(ds, field, ELC_META_STRING, &st);
    if (!m) return st;
    uint64_t l = len;
    if (meta_append(m, &l, 8) || meta_append(m, str, len) || meta_add_string_index(m, m->len - len, len))
        return elc_err(ELC_ERR_NOMEM, "out of memory");
    return ELC_OK;
}

elc_status elc_dataset_add_meta_string(elc_dataset *ds, const char *field, const char *str,
                                       size_t len)
{
    elc_err_clear();
    if (!ds || !field || !*field || !str) return elc_err(ELC_ERR_PARAMETER, "elc_dataset_add_meta_string: empty argument");
    if (field[0] == '.') return elc_err(ELC_ERR_PARAMETER, "Metadata field names starting with '.' are reserved: %s", field);
    if (len == (size_t)-1) len = strlen(str);
    return add_string(ds, field, str, len);
}

elc_status elc_dataset_get_tensor(const elc_dataset *ds, const char *name, const void **data,
                                  const size_t **dims, size_t *ndims, elc_dtype *dtype)
{
    elc_err_clear();
    if (!ds || !name) return elc_err(ELC_ERR_PARAMETER, "elc_dataset_get_tensor: NULL argument");
    ds_tensor *t = find_tensor(ds, name);
    if (!t) return elc_err(ELC_ERR_KEY, "The tensor %s is not in the dataset %s", name, ds->name);
    elc_status st = materialize(t);
    if (st) return st;
    if (data) *data = t->data;
    if (dims) *dims = t->dims;
    if (ndims) *ndims = t->ndims;
    if (dtype) *dtype = t->dtype;
    return ELC_OK;
}

elc_status elc_dataset_unpack_tensor(const elc_dataset *ds, const char *name, void *data,
                                     const size_t *dims, size_t ndims, elc_dtype dtype,
                                     elc_layout layout)
{
    elc_err_clear();
    if (!ds || !name || !data || !dims) return elc_err(ELC_ERR_PARAMETER, "elc_dataset_unpack_tensor: NULL argument");
    ds_tensor *t = find_tensor(ds, name);
    if (!t) return elc_err(ELC_ERR_KEY, "The tensor %s is not in the dataset %s", name, ds->name);
    elc_status st = hold(t);
    if (st) return st;
    if (t->dtype != dtype)
        return elc_err(ELC_ERR_TYPE, "The type of the fetched tensor %s (%s) does not match the provided type (%s)",
                       name, elc_dtype_name(t->dtype), elc_dtype_name(dtype));
    if (layout == ELC_LAYOUT_FLAT) {
        size_t total = t->nbytes / elc_dtype_size(t->dtype);
        if (ndims != 1 || dims[0] != total)
            return elc_err(ELC_ERR_PARAMETER,
                           "The tensor %s has %zu elements; the contiguous memory space given holds %zu",
                           name, total, ndims == 1 ? dims[0] : (size_t)0);
        if (t->colmajor) elc_f2c(data, t->data, t->dims, t->ndims, elc_dtype_size(dtype));
        else memcpy(data, t->data, t->nbytes);
        return ELC_OK;
    }
    int ok = t->ndims == ndims;
    for (size_t k = 0; ok && k < ndims; k++) ok = t->dims[k] == dims[k];
    if (!ok)
        return elc_err(ELC_ERR_PARAMETER, "The dimensions of the tensor %s (rank %zu) do not match the provided memory space (rank %zu)",
                       name, t->ndims, ndims);
    int want_col = layout == ELC_LAYOUT_FORTRAN && ndims > 1;
    if (want_col == t->colmajor) memcpy(data, t->data, t->nbytes);
    else if (want_col) elc_c2f(data, t->data, dims, ndims, elc_dtype_size(dtype));
    else elc_f2c(data, t->data, dims, ndims, elc_dtype_size(dtype));
    return ELC_OK;
}

elc_status elc_dataset_get_meta_type(const elc_dataset *ds, const char *field,
                                     elc_meta_type *type)
{
    elc_err_clear();
    if (!ds || !field || !type) return elc_err(ELC_ERR_PARAMETER, "NULL argument");
    ds_meta *m = find_meta(ds, field);
    *type = m ? m->type : ELC_META_INVALID;
    return m ? ELC_OK : elc_err(ELC_ERR_KEY, "The metadata field %s does not exist in the dataset %s", field, ds->name);
}

elc_status elc_dataset_get_meta_scalars(const elc_dataset *ds, const char *field,
                                        const void **values, size_t *count,
                                        elc_meta_type *type)
{
    elc_err_clear();
    if (!ds || !field || !values || !count) return elc_err(ELC_ERR_PARAMETER, "NULL argument");
    ds_meta *m = find_meta(ds, field);
    if (!m) return elc_err(ELC_ERR_KEY, "The metadata field %s does not exist in the dataset %s", field, ds->name);
    if (m->type == ELC_META_STRING)
        return elc_err(ELC_ERR_TYPE, "The metadata field %s is a string field, not a scalar field", field);
    *values = m->buf + 1;
    *count = m->count;
    if (type) *type = m->type;
    return ELC_OK;
}

elc_status elc_dataset_get_meta_string_count(const elc_dataset *ds, const char *field,
                                             size_t *count)
{
    elc_err_clear();
    if (!ds || !field || !count) return elc_err(ELC_ERR_PARAMETER, "NULL argument");
    ds_meta *m = find_meta(ds, field);
    if (!m) return elc_err(ELC_ERR_KEY, "The metadata field %s does not exist in the dataset %s", field, ds->name);
    if (m->type != ELC_META_STRING) return elc_err(ELC_ERR_TYPE, "The metadata field %s is not a string field", field);
    *count = m->count;
    return ELC_OK;
}

elc_status elc_dataset_get_meta_string(const elc_dataset *ds, const char *field, size_t i,
                                       const char **str, size_t *len)
{
    size_t n;
    elc_status st = elc_dataset_get_meta_string_count(ds, field, &n);
    if (st) return st;
    if (i >= n) return elc_err(ELC_ERR_PARAMETER, "The string field %s has %zu entries, index %zu asked", field, n, i);
    const ds_meta *m = find_meta(ds, field);
    *str = m->buf + m->soff[i];
    *len = m->slen[i];
    return ELC_OK;
}

/* Parse a serialised field (from HGETALL) into the dataset. */
static elc_status parse_meta_field(elc_dataset *ds, const char *field, size_t flen,
                                   const char *buf, size_t len)
{
    char *fname = strndup(field, flen);
    if (!fname) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_status st = ELC_OK;
    if (len < 1) { st = elc_err(ELC_ERR_RUNTIME, "The metadata field %s is empty", fname); goto out; }
    int type = (unsigned char)buf[0];
    if (type < ELC_META_DOUBLE || type > ELC_META_STRING) {
        st = elc_err(ELC_ERR_RUNTIME, "The metadata field %s has the unknown type id %d", fname, type);
        goto out;
    }
    if (type == ELC_META_STRING) {
        size_t off = 1;
        if (!find_meta(ds, fname)) {
            ds_meta *m = get_or_add_meta(ds, fname, ELC_META_STRING, &st);
            if (!m) goto out;
        }
        while (off < len) {
            uint64_t l;
            if (off + 8 > len) { st = elc_err(ELC_ERR_RUNTIME, "The string metadata field %s is truncated", fname); goto out; }
            memcpy(&l, buf + off, 8);
            off += 8;
            if (l > len - off) { st = elc_err(ELC_ERR_RUNTIME, "The string metadata field %s is truncated", fname); goto out; }
            if ((st = add_string(ds, fname, buf + off, (size_t)l))) goto out;
            off += (size_t)l;
        }
    } else {
        size_t es = meta_sizes[type];
        if ((len - 1) % es != 0) { st = elc_err(ELC_ERR_RUNTIME, "The metadata field %s has a bad length", fname); goto out; }
        ds_meta *m = get_or_add_meta(ds, fname, (elc_meta_type)type, &st);
        if (!m) goto out;
        if (meta_append(m, buf + 1, len - 1)) { st = elc_err(ELC_ERR_NOMEM, "out of memory"); goto out; }
        m->count += (len - 1) / es;
    }
out:
    free(fname);
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* commands                                                                                   */
/* ------------------------------------------------------------------------------------------ */

size_t elc_dataset_put_ncmds(const elc_dataset *ds) { return 3 + ds->nt; }

/* serialise the tensor names as a string field */
static char *tensor_names_buf(const elc_dataset *ds, size_t *len)
{
    size_t n = 1;
    for (size_t i = 0; i < ds->nt; i++) n += 8 + strlen(ds->t[i].name);
    char *b = malloc(n);
    if (!b) return NULL;
    b[0] = (char)ELC_META_STRING;
    size_t o = 1;
    for (size_t i = 0; i < ds->nt; i++) {
        uint64_t l = strlen(ds->t[i].name);
        memcpy(b + o, &l, 8);
        memcpy(b + o + 8, ds->t[i].name, l);
        o += 8 + l;
    }
    *len = n;
    return b;
}

elc_status elc_dataset_put_cmds(elc_client *c, const elc_dataset *ds, elc_cmd *cmds, size_t *n,
                                char **basekey_out)
{
    if (ds->nt == 0 && ds->nm == 0)
        return elc_err(ELC_ERR_RUNTIME, "An attempt was made to put a DataSet into the database that does not contain any fields or tensors.");
    /* tensors added in Fortran layout are transposed here, in the sending thread (the
     * dataset is logically const: its content does not change, only its memory order) */
    for (size_t i = 0; i < ds->nt; i++) {
        elc_status st = materialize((ds_tensor *)&ds->t[i]);
        if (st) return st;
    }
    char *b = elc_key_dataset(c, ds->name, 1);
    if (!b) return elc_err(ELC_ERR_NOMEM, "out of memory");
    char *meta = elc_strcat3(b, ".meta", "");
    if (!meta) { free(b); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
    size_t k = *n;
    elc_cmd *d = &cmds[k++];
    elc_cmd_init(d);
    elc_cmd_str(d, "DEL");
    elc_cmd_take(d, meta, strlen(meta));
    elc_cmd_route(d, 1);

    elc_cmd *h = &cmds[k++];
    elc_cmd_init(h);
    elc_cmd_str(h, "HMSET");
    elc_cmd_arg(h, meta, strlen(meta));
    elc_cmd_route(h, 1);
    for (size_t i = 0; i < ds->nm; i++) {
        elc_cmd_str(h, ds->m[i].name);
        elc_cmd_arg(h, ds->m[i].buf, ds->m[i].len);
    }
    if (ds->nt > 0) {
        size_t tl = 0;
        char *tn = tensor_names_buf(ds, &tl);
        elc_cmd_str(h, ".tensor_names");
        elc_cmd_take(h, tn, tl);
    }
    for (size_t i = 0; i < ds->nt; i++) {
        const ds_tensor *t = &ds->t[i];
        elc_cmd *s = &cmds[k++];
        elc_cmd_init(s);
        elc_cmd_str(s, "AI.TENSORSET");
        char *tk = elc_strcat3(b, ".", t->name);
        elc_cmd_take(s, tk, tk ? strlen(tk) : 0);
        elc_cmd_route(s, 1);
        elc_cmd_str(s, elc_dtype_name(t->dtype));
        for (size_t q = 0; q < t->ndims; q++) elc_cmd_fmt(s, "%zu", t->dims[q]);
        elc_cmd_str(s, "BLOB");
        elc_cmd_arg(s, t->data, t->nbytes);
    }
    elc_cmd *cp = &cmds[k++];
    elc_cmd_init(cp);
    elc_cmd_str(cp, "HSET");
    elc_cmd_arg(cp, meta, strlen(meta));
    elc_cmd_route(cp, 1);
    elc_cmd_str(cp, ".COMPLETE");
    elc_cmd_str(cp, "1");
    *n = k;
    if (basekey_out) *basekey_out = b;
    else free(b);
    return ELC_OK;
}

static elc_status check_pipeline(redisReply **r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i]->type == REDIS_REPLY_ERROR)
            return elc_err(ELC_ERR_DATABASE, "Redis failed to execute the pipeline: %s", r[i]->str);
    return ELC_OK;
}

/* An RPUSH of `entry` onto list key `lk` (taken) that is safe to resend. Each append carries a
 * token unique to this call (client id and sequence number); the database records the last
 * APPEND_TOKENS tokens of the list in a side key of the same hash slot and pushes only when the
 * token is new. A resend after a stalled reply (the first push did arrive) therefore cannot list
 * a dataset twice, while appending the same dataset again later lists it again, as SmartRedis
 * does. The side key expires an hour after the list's last append. */
#define APPEND_TOKENS "1024"
static const char append_lua[] =
    "if redis.call('LPOS', KEYS[2], ARGV[2]) then return redis.call('LLEN', KEYS[1]) end "
    "redis.call('LPUSH', KEYS[2], ARGV[2]) "
    "redis.call('LTRIM', KEYS[2], 0, " APPEND_TOKENS " - 1) "
    "redis.call('EXPIRE', KEYS[2], 3600) "
    "return redis.call('RPUSH', KEYS[1], ARGV[1])";

static void append_cmd(elc_client *c, elc_cmd *p, char *lk, const char *entry, size_t len)
{
    size_t lkn = lk ? strlen(lk) : 0;
    char tag[4];
    size_t tagn = 0;
    elc_shard_prefix(elc_key_slot(lk ? lk : "", lkn), tag, &tagn);
    /* {tag} pins the side key to the list's hash slot whatever braces the list name holds */
    size_t skn = 0;
    char *sk = elc_tagged_key(tag, tagn, lk ? lk : "", ".appends", &skn);
    char *token = malloc(40);
    unsigned long long seq = __atomic_add_fetch(&c->append_seq, 1, __ATOMIC_RELAXED);
    if (token) snprintf(token, 40, "%016llx.%llx", c->append_id, seq);
    elc_cmd_init(p);
    elc_cmd_str(p, "EVAL");
    elc_cmd_str(p, append_lua);
    elc_cmd_str(p, "2");
    elc_cmd_take(p, lk, lkn);
    elc_cmd_route(p, 3);
    elc_cmd_take(p, sk, sk ? skn : 0);
    elc_cmd_arg(p, entry, len);
    elc_cmd_take(p, token, token ? strlen(token) : 0); /* owned: the command outlives this frame */
}

static elc_status put_and_maybe_append(elc_client *c, const elc_dataset *ds, const char *list)
{
    elc_err_clear();
    if (!c || !ds) return elc_err(ELC_ERR_PARAMETER, "client or dataset is NULL");
    if (list && !*list) return elc_err(ELC_ERR_PARAMETER, "The list name must not be empty");
    size_t ncap = elc_dataset_put_ncmds(ds) + 1, n = 0;
    elc_cmd *cmds = calloc(ncap, sizeof *cmds);
    redisReply **rep = calloc(ncap, sizeof *rep);
    char *base = NULL;
    elc_status st = ELC_OK;
    if (!cmds || !rep) { st = elc_err(ELC_ERR_NOMEM, "out of memory"); goto out; }
    st = elc_dataset_put_cmds(c, ds, cmds, &n, &base);
    if (st) goto out;
    if (list && c->cluster) {
        /* the list may live on another shard than the dataset: a reader must never find the
         * entry before the dataset is stored, so the append waits for the dataset's replies */
        size_t nd = n;
        st = elc_exec(c, cmds, nd, rep);
        if (!st) st = check_pipeline(rep, nd);
        elc_free_replies(rep, nd);
        if (st) goto out;
        append_cmd(c, &cmds[n++], elc_key_list(c, list, 1), base, strlen(base));
        st = elc_exec(c, &cmds[nd], 1, &rep[nd]);
        if (!st) st = check_pipeline(&rep[nd], 1);
        elc_free_replies(&rep[nd], 1);
        goto out;
    }
    if (list) append_cmd(c, &cmds[n++], elc_key_list(c, list, 1), base, strlen(base));
    st = elc_exec(c, cmds, n, rep);
    if (!st) st = check_pipeline(rep, n);
    elc_free_replies(rep, n);
out:
    for (size_t i = 0; i < n; i++) elc_cmd_free(&cmds[i]);
    free(cmds);
    free(rep);
    free(base);
    return st;
}

elc_status elc_put_dataset(elc_client *c, const elc_dataset *ds) { return put_and_maybe_append(c, ds, NULL); }

elc_status elc_put_dataset_and_append(elc_client *c, const elc_dataset *ds, const char *list)
{
    if (!list) return elc_err(ELC_ERR_PARAMETER, "The list name must not be empty");
    return put_and_maybe_append(c, ds, list);
}

elc_status elc_append_to_list(elc_client *c, const char *list, const elc_dataset *ds)
{
    elc_err_clear();
    if (!c || !ds || !list || !*list) return elc_err(ELC_ERR_PARAMETER, "The list name must not be empty");
    elc_cmd cmd;
    char *b = elc_key_dataset(c, ds->name, 1);
    append_cmd(c, &cmd, elc_key_list(c, list, 1), b ? b : "", b ? strlen(b) : 0);
    redisReply *r;
    elc_status st = elc_exec1(c, &cmd, &r);
    if (r) freeReplyObject(r);
    elc_cmd_free(&cmd);
    free(b); /* borrowed by the command until here */
    return st;
}

/* HGETALL B.meta; *r caller frees. Empty -> ELC_ERR_KEY with SmartRedis's message. */
static elc_status hgetall(elc_client *c, const char *name, const char *meta, int runtime,
                          redisReply **r)
{
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    elc_cmd_str(&cmd, "HGETALL");
    elc_cmd_str(&cmd, meta);
    elc_cmd_route(&cmd, 1);
    elc_status st = elc_exec1(c, &cmd, r);
    elc_cmd_free(&cmd);
    if (st) return st;
    if ((*r)->type != REDIS_REPLY_ARRAY || (*r)->elements == 0 || (*r)->elements % 2) {
        freeReplyObject(*r);
        *r = NULL;
        return runtime ? elc_err(ELC_ERR_RUNTIME, "The requested DataSet %s does not exist.", name)
                       : elc_err(ELC_ERR_KEY, "The requested DataSet, \"%s\", does not exist.", name);
    }
    return ELC_OK;
}

/* The dataset named name stored under base key bkey (borrowed). */
static elc_status get_dataset_at(elc_client *c, const char *name, const char *bkey,
                                 elc_dataset **out)
{
    *out = NULL;
    char *b = strdup(bkey);
    char *meta = b ? elc_strcat3(b, ".meta", "") : NULL;
    redisReply *r = NULL, **rep = NULL;
    elc_cmd *cmds = NULL;
    size_t nt = 0;
    elc_dataset *ds = NULL;
    elc_status st;
    if (!meta) { st = elc_err(ELC_ERR_NOMEM, "out of memory"); goto out; }
    if ((st = hgetall(c, name, meta, 0, &r))) goto out;
    if ((st = elc_dataset_create(&ds, name))) goto out;
    const redisReply *names = NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        redisReply *f = r->element[i], *v = r->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        if (strcmp(f->str, ".COMPLETE") == 0) continue;
        if (strcmp(f->str, ".tensor_names") == 0) { names = v; continue; }
        if ((st = parse_meta_field(ds, f->str, f->len, v->str, v->len))) goto out;
    }
    if (names) {
        elc_dataset *tmp;
        if ((st = elc_dataset_create(&tmp, "names"))) goto out;
        st = parse_meta_field(tmp, ".tensor_names", 13, names->str, names->len);
        if (st) { elc_dataset_destroy(tmp); goto out; }
        ds_meta *m = &tmp->m[0];
        nt = m->count;
        cmds = calloc(nt ? nt : 1, sizeof *cmds);
        rep = calloc(nt ? nt : 1, sizeof *rep);
        if (!cmds || !rep) { elc_dataset_destroy(tmp); st = elc_err(ELC_ERR_NOMEM, "out of memory"); goto out; }
        for (size_t i = 0; i < nt; i++) {
            elc_cmd_init(&cmds[i]);
            elc_cmd_str(&cmds[i], "AI.TENSORGET");
            char *tn = strndup(m->buf + m->soff[i], m->slen[i]);
            char *tk = tn ? elc_strcat3(b, ".", tn) : NULL;
            free(tn);
            elc_cmd_take(&cmds[i], tk, tk ? strlen(tk) : 0);
            elc_cmd_route(&cmds[i], 1);
            elc_cmd_str(&cmds[i], "META");
            elc_cmd_str(&cmds[i], "BLOB");
        }
        st = elc_exec(c, cmds, nt, rep);
        if (!st) st = check_pipeline(rep, nt);
        for (size_t i = 0; !st && i < nt; i++) {
            elc_dtype t;
            size_t *d, nd, bl;
            const char *blob;
            st = elc_parse_tensor_reply(rep[i], cmds[i].argv[1], &t, &d, &nd, &blob, &bl);
            if (st) break;
            void *copy = elc_buf_alloc(bl);
            char *tn = strndup(m->buf + m->soff[i], m->slen[i]);
            if (!copy || !tn) { elc_buf_free(copy, bl); free(tn); free(d); st = elc_err(ELC_ERR_NOMEM, "out of memory"); break; }
            memcpy(copy, blob, bl);
            st = add_tensor_owned(ds, tn, copy, bl, d, nd, t, 0);
            free(tn);
            free(d);
        }
        elc_dataset_destroy(tmp);
    }
out:
    if (rep) elc_free_replies(rep, nt);
    for (size_t i = 0; cmds && i < nt; i++) elc_cmd_free(&cmds[i]);
    free(cmds);
    free(rep);
    if (r) freeReplyObject(r);
    free(meta);
    free(b);
    if (st) elc_dataset_destroy(ds);
    else *out = ds;
    return st;
}

elc_status elc_get_dataset(elc_client *c, const char *name, elc_dataset **out)
{
    elc_err_clear();
    if (!out) return elc_err(ELC_ERR_PARAMETER, "out is NULL");
    *out = NULL;
    if (!c || !name || !*name) return elc_err(ELC_ERR_PARAMETER, "The dataset name must not be empty");
    char *b = elc_key_dataset(c, name, 0);
    if (!b) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_status st = get_dataset_at(c, name, b, out);
    free(b);
    return st;
}

elc_status elc_delete_dataset(elc_client *c, const char *name)
{
    elc_err_clear();
    if (!c || !name || !*name) return elc_err(ELC_ERR_PARAMETER, "The dataset name must not be empty");
    char *b = elc_key_dataset(c, name, 0);
    char *meta = b ? elc_strcat3(b, ".meta", "") : NULL;
    redisReply *r = NULL;
    elc_status st;
    if (!meta) { free(b); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
    if ((st = hgetall(c, name, meta, 1, &r))) goto out;
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    elc_cmd_str(&cmd, "DEL");
    elc_cmd_str(&cmd, meta);
    elc_cmd_route(&cmd, 1);
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        redisReply *f = r->element[i], *v = r->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || strcmp(f->str, ".tensor_names") != 0) continue;
        size_t off = 1;
        while (off + 8 <= v->len) {
            uint64_t l;
            memcpy(&l, v->str + off, 8);
            off += 8;
            if (l > v->len - off) break;
            char *tn = strndup(v->str + off, (size_t)l);
            char *tk = tn ? elc_strcat3(b, ".", tn) : NULL;
            free(tn);
            elc_cmd_take(&cmd, tk, tk ? strlen(tk) : 0);
            off += (size_t)l;
        }
    }
    redisReply *d;
    st = elc_exec1(c, &cmd, &d);
    if (d) freeReplyObject(d);
    elc_cmd_free(&cmd);
out:
    if (r) freeReplyObject(r);
    free(meta);
    free(b);
    return st;
}

elc_status elc_dataset_exists(elc_client *c, const char *name, bool *exists)
{
    elc_err_clear();
    if (!c || !name || !*name || !exists) return elc_err(ELC_ERR_PARAMETER, "The dataset name must not be empty");
    char *b = elc_key_dataset(c, name, 0);
    char *meta = b ? elc_strcat3(b, ".meta", "") : NULL;
    free(b);
    if (!meta) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    elc_cmd_str(&cmd, "HEXISTS");
    elc_cmd_take(&cmd, meta, strlen(meta));
    elc_cmd_route(&cmd, 1);
    elc_cmd_str(&cmd, ".COMPLETE");
    redisReply *r;
    elc_status st = elc_exec1(c, &cmd, &r);
    elc_cmd_free(&cmd);
    if (st) return st;
    *exists = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    return ELC_OK;
}

elc_status elc_poll_dataset(elc_client *c, const char *name, int poll_ms, int num_tries,
                            bool *exists)
{
    return elc_poll_exists(c, elc_dataset_exists, name, poll_ms, num_tries, exists);
}

/* copies, renames and list ranges ---------------------------------------------------------- */

elc_status elc_copy_dataset(elc_client *c, const char *src, const char *dest)
{
    elc_err_clear();
    if (!c || !src || !*src || !dest || !*dest)
        return elc_err(ELC_ERR_PARAMETER, "The source and destination dataset names must not be empty");
    elc_dataset *ds;
    elc_status st = elc_get_dataset(c, src, &ds);
    if (st) return st;
    st = elc_dataset_set_name(ds, dest);
    if (!st) st = elc_put_dataset(c, ds);
    elc_dataset_destroy(ds);
    return st;
}

elc_status elc_rename_dataset(elc_client *c, const char *src, const char *dest)
{
    elc_status st = elc_copy_dataset(c, src, dest);
    if (st) return st;
    char *a = elc_key_dataset(c, src, 0), *b = elc_key_dataset(c, dest, 1);
    if (!a || !b) st = elc_err(ELC_ERR_NOMEM, "out of memory");
    else if (strcmp(a, b) != 0) st = elc_delete_dataset(c, src);
    free(a);
    free(b);
    return st;
}

/* LRANGE key start end; *r (an array of strings) caller frees. */
static elc_status lrange(elc_client *c, const char *key, long long start, long long end,
                         redisReply **r)
{
    elc_cmd cmd;
    elc_cmd_init(&cmd);
    elc_cmd_str(&cmd, "LRANGE");
    elc_cmd_str(&cmd, key);
    elc_cmd_route(&cmd, 1);
    elc_cmd_fmt(&cmd, "%lld", start);
    elc_cmd_fmt(&cmd, "%lld", end);
    elc_status st = elc_exec1(c, &cmd, r);
    elc_cmd_free(&cmd);
    if (st) return st;
    if ((*r)->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(*r);
        *r = NULL;
        return elc_err(ELC_ERR_RUNTIME, "An unexpected type was returned for the aggregation list %s.", key);
    }
    for (size_t i = 0; i < (*r)->elements; i++) {
        redisReply *e = (*r)->element[i];
        if (e->type != REDIS_REPLY_STRING || e->len == 0) {
            freeReplyObject(*r);
            *r = NULL;
            return elc_err(ELC_ERR_RUNTIME, "Element %zu of the aggregation list %s is not a dataset key.", i, key);
        }
    }
    return ELC_OK;
}

elc_status elc_copy_list(elc_client *c, const char *src, const char *dest)
{
    elc_err_clear();
    if (!c || !src || !*src || !dest || !*dest)
        return elc_err(ELC_ERR_PARAMETER, "The src_name and dest_name parameters cannot be empty strings.");
    if (strcmp(src, dest) == 0) return ELC_OK;
    char *sk = elc_key_list(c, src, 0), *dk = elc_key_list(c, dest, 1);
    redisReply *r = NULL;
    elc_status st = (!sk || !dk) ? elc_err(ELC_ERR_NOMEM, "out of memory") : lrange(c, sk, 0, -1, &r);
    if (!st && r->elements == 0) st = elc_err(ELC_ERR_RUNTIME, "The source aggregation list does not exist.");
    if (!st) {
        elc_cmd cmds[2];
        elc_cmd_init(&cmds[0]);
        elc_cmd_str(&cmds[0], "DEL");
        elc_cmd_str(&cmds[0], dk);
        elc_cmd_route(&cmds[0], 1);
        elc_cmd_init(&cmds[1]);
        elc_cmd_str(&cmds[1], "RPUSH");
        elc_cmd_str(&cmds[1], dk);
        elc_cmd_route(&cmds[1], 1);
        for (size_t i = 0; i < r->elements; i++)
            elc_cmd_arg(&cmds[1], r->element[i]->str, r->element[i]->len);
        redisReply *rep[2];
        st = elc_exec(c, cmds, 2, rep);
        if (!st) {
            st = check_pipeline(rep, 2);
            elc_free_replies(rep, 2);
        }
        elc_cmd_free(&cmds[0]);
        elc_cmd_free(&cmds[1]);
    }
    if (r) freeReplyObject(r);
    free(sk);
    free(dk);
    return st;
}

elc_status elc_rename_list(elc_client *c, const char *src, const char *dest)
{
    elc_err_clear();
    if (!c || !src || !*src || !dest || !*dest)
        return elc_err(ELC_ERR_PARAMETER, "The src_name and dest_name parameters cannot be empty strings.");
    if (strcmp(src, dest) == 0) return ELC_OK;
    elc_status st = elc_copy_list(c, src, dest);
    return st ? st : elc_delete_list(c, src);
}

elc_status elc_poll_list_length_cmp(elc_client *c, const char *list, long long length, int cmp,
                                    int poll_ms, int num_tries, bool *reached)
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
        if ((cmp == 0 && n == length) || (cmp > 0 && n >= length) || (cmp < 0 && n <= length)) {
            *reached = true;
            return ELC_OK;
        }
        if (i + 1 < num_tries) elc_sleep_ms(poll_ms);
    }
    return ELC_OK;
}

elc_status elc_get_dataset_list_range(elc_client *c, const char *list, long long start,
                                      long long end, elc_dataset ***out, size_t *n)
{
    elc_err_clear();
    if (!out || !n) return elc_err(ELC_ERR_PARAMETER, "out or n is NULL");
    *out = NULL;
    *n = 0;
    if (!c || !list || !*list) return elc_err(ELC_ERR_PARAMETER, "The list name must have length greater than zero");
    char *lk = elc_key_list(c, list, 0);
    if (!lk) return elc_err(ELC_ERR_NOMEM, "out of memory");
    redisReply *r = NULL;
    elc_status st = lrange(c, lk, start, end, &r);
    free(lk);
    if (st) return st;
    elc_dataset **v = calloc(r->elements ? r->elements : 1, sizeof *v);
    if (!v) { freeReplyObject(r); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
    size_t k = 0;
    for (; k < r->elements; k++) {
        const char *e = r->element[k]->str;
        /* an entry is the dataset's base key: <prefix>{<name>} */
        const char *lb = strchr(e, '{'), *rb = strrchr(e, '}');
        char *name = (lb && rb && rb > lb) ? strndup(lb + 1, (size_t)(rb - lb - 1)) : strdup(e);
        if (!name) { st = elc_err(ELC_ERR_NOMEM, "out of memory"); break; }
        st = get_dataset_at(c, name, e, &v[k]);
        free(name);
        if (st) break;
    }
    freeReplyObject(r);
    if (st) {
        for (size_t i = 0; i < k; i++) elc_dataset_destroy(v[i]);
        free(v);
        return st;
    }
    *out = v;
    *n = k;
    return ELC_OK;
}

/* introspection and copies ----------------------------------------------------------------- */

size_t elc_dataset_num_meta(const elc_dataset *ds) { return ds ? ds->nm : 0; }

const char *elc_dataset_meta_name(const elc_dataset *ds, size_t i)
{
    return (ds && i < ds->nm) ? ds->m[i].name : NULL;
}

elc_status elc_dataset_copy(const elc_dataset *src, const char *name, elc_dataset **out)
{
    elc_err_clear();
    if (!out) return elc_err(ELC_ERR_PARAMETER, "out is NULL");
    *out = NULL;
    if (!src) return elc_err(ELC_ERR_PARAMETER, "dataset is NULL");
    elc_dataset *ds;
    elc_status st = elc_dataset_create(&ds, name ? name : src->name);
    if (st) return st;
    for (size_t i = 0; i < src->nt && !st; i++) {
        ds_tensor *t = &src->t[i];
        if ((st = hold(t))) break;
        void *d = malloc(t->nbytes ? t->nbytes : 1);
        if (!d) { st = elc_err(ELC_ERR_NOMEM, "out of memory"); break; }
        memcpy(d, t->data, t->nbytes);
        st = add_tensor_owned(ds, t->name, d, t->nbytes, t->dims, t->ndims, t->dtype, t->colmajor);
    }
    if (!st && src->nm) {
        ds->m = calloc(src->nm, sizeof *ds->m);
        if (!ds->m) st = elc_err(ELC_ERR_NOMEM, "out of memory");
        else ds->capm = src->nm;
    }
    for (size_t i = 0; i < src->nm && !st; i++) {
        const ds_meta *a = &src->m[i];
        ds_meta *b = &ds->m[i];
        b->type = a->type;
        b->len = b->cap = a->len;
        b->count = a->count;
        b->name = strdup(a->name);
        b->buf = malloc(a->len ? a->len : 1);
        if (a->soff) {
            b->soff = malloc(a->count * sizeof *b->soff + 1);
            b->slen = malloc(a->count * sizeof *b->slen + 1);
        }
        ds->nm++;
        if (!b->name || !b->buf || (a->soff && (!b->soff || !b->slen))) {
            st = elc_err(ELC_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(b->buf, a->buf, a->len);
        if (a->soff) {
            memcpy(b->soff, a->soff, a->count * sizeof *b->soff);
            memcpy(b->slen, a->slen, a->count * sizeof *b->slen);
        }
    }
    if (st) { elc_dataset_destroy(ds); return st; }
    *out = ds;
    return ELC_OK;
}

elc_status elc_dataset_set_name(elc_dataset *ds, const char *name)
{
    elc_err_clear();
    if (!ds || !name || !*name) return elc_err(ELC_ERR_PARAMETER, "Name must be non-zero length");
    char *n = strdup(name);
    if (!n) return elc_err(ELC_ERR_NOMEM, "out of memory");
    free(ds->name);
    ds->name = n;
    return ELC_OK;
}

elc_status elc_dataset_clear_field(elc_dataset *ds, const char *field)
{
    elc_err_clear();
    if (!ds || !field) return elc_err(ELC_ERR_PARAMETER, "dataset or field is NULL");
    for (size_t i = 0; i < ds->nm; i++)
        if (strcmp(ds->m[i].name, field) == 0) {
            free_meta(&ds->m[i]);
            memmove(&ds->m[i], &ds->m[i + 1], (ds->nm - i - 1) * sizeof *ds->m);
            ds->nm--;
            return ELC_OK;
        }
    return elc_err(ELC_ERR_KEY, "The field %s does not exist in the dataset %s", field, ds->name);
}
