/* c_dataset.c — SmartRedis's C dataset API over elc_dataset. */
#define _GNU_SOURCE
#include "sr_internal.h"
#include "c_dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sr_dataset *ds_of(void *p, const char *where, SRError *st)
{
    sr_dataset *d = p;
    if (!d || d->obj.magic != SR_MAGIC_DATASET) {
        *st = sr_error(SRParameterError, where, "The handle is not a DataSet");
        return NULL;
    }
    return d;
}

#define DS_OR_RETURN(d, p, w)                 \
    elc_err_clear();                          \
    SRError st_;                              \
    sr_dataset *d = ds_of((p), (w), &st_);    \
    if (!d) return st_

sr_dataset *sr_dataset_wrap(elc_dataset *ds)
{
    sr_dataset *d = calloc(1, sizeof *d);
    if (!d || !(d->obj.lname = strdup(elc_dataset_name(ds)))) {
        free(d);
        return NULL;
    }
    d->obj.magic = SR_MAGIC_DATASET;
    d->ds = ds;
    return d;
}

sr_dataset *sr_dataset_clone(const sr_dataset *src)
{
    elc_dataset *c;
    if (elc_dataset_copy(src->ds, NULL, &c)) return NULL;
    sr_dataset *d = sr_dataset_wrap(c);
    if (!d) elc_dataset_destroy(c);
    return d;
}

SRError CDataSet(const char *name, const size_t name_length, void **new_dataset)
{
    elc_err_clear();
    const char *w = "CDataSet";
    if (!name || !new_dataset) return sr_error(SRParameterError, w, "name or new_dataset is NULL");
    char *n = sr_strndup(name, name_length);
    if (!n) return sr_error(SRBadAllocError, w, "out of memory");
    elc_dataset *ds;
    elc_status st = elc_dataset_create(&ds, n);
    free(n);
    if (st) return sr_fail((SRError)st, w);
    sr_dataset *d = sr_dataset_wrap(ds);
    if (!d) { elc_dataset_destroy(ds); return sr_error(SRBadAllocError, w, "out of memory"); }
    *new_dataset = d;
    return SRNoError;
}

SRError DeallocateDataSet(void **dataset)
{
    elc_err_clear();
    if (!dataset) return sr_error(SRParameterError, "DeallocateDataSet", "dataset is NULL");
    if (*dataset) {
        SRError st;
        sr_dataset *d = ds_of(*dataset, "DeallocateDataSet", &st);
        if (!d) return st;
        elc_dataset_destroy(d->ds);
        sr_keep_free(&d->keep);
        free(d->obj.lname);
        d->obj.magic = 0;
        free(d);
    }
    *dataset = NULL;
    return SRNoError;
}

SRError add_tensor(void *dataset, const char *name, const size_t name_length, void *data,
                   const size_t *dims, const size_t n_dims, const SRTensorType type,
                   const SRMemoryLayout mem_layout)
{
    const char *w = "add_tensor";
    DS_OR_RETURN(d, dataset, w);
    if (!name || !data || (!dims && n_dims)) return sr_error(SRParameterError, w, "name, data or dims is NULL");
    int l = sr_layout(mem_layout);
    if (l == -2) return sr_error(SRParameterError, w, "The memory layout %d is not supported", (int)mem_layout);
    size_t es = elc_dtype_size((elc_dtype)type);
    if (!es) return sr_error(SRParameterError, w, "The tensor type %d is not valid", (int)type);
    char *n = sr_strndup(name, name_length);
    if (!n) return sr_error(SRBadAllocError, w, "out of memory");
    elc_status st;
    if (l == -1) {
        void *flat = malloc(sr_count(dims, n_dims) * es + 1);
        if (!flat) { free(n); return sr_error(SRBadAllocError, w, "out of memory"); }
        sr_nested_gather(flat, data, dims, n_dims, es);
        st = elc_dataset_add_tensor(d->ds, n, flat, dims, n_dims, (elc_dtype)type, ELC_LAYOUT_C);
        free(flat);
    } else {
        st = elc_dataset_add_tensor(d->ds, n, data, dims, n_dims, (elc_dtype)type, (elc_layout)l);
    }
    free(n);
    return SR_RET(st, w);
}

SRError add_meta_scalar(void *dataset, const char *name, const size_t name_length, const void *data,
                        const SRMetaDataType type)
{
    const char *w = "add_meta_scalar";
    DS_OR_RETURN(d, dataset, w);
    if (!name || !data) return sr_error(SRParameterError, w, "name or data is NULL");
    if (type == SRMetadataTypeString || type == SRMetadataTypeInvalid || type > SRMetadataTypeString)
        return sr_error(SRParameterError, w, "The metadata type %d is not a scalar type (use add_meta_string for strings)", (int)type);
    char *n = sr_strndup(name, name_length);
    if (!n) return sr_error(SRBadAllocError, w, "out of memory");
    elc_status st = elc_dataset_add_meta_scalar(d->ds, n, data, (elc_meta_type)type);
    free(n);
    return SR_RET(st, w);
}

SRError add_meta_string(void *dataset, const char *name, const size_t name_length, const char *data,
                        const size_t data_length)
{
    const char *w = "add_meta_string";
    DS_OR_RETURN(d, dataset, w);
    if (!name || !data) return sr_error(SRParameterError, w, "name or data is NULL");
    char *n = sr_strndup(name, name_length);
    if (!n) return sr_error(SRBadAllocError, w, "out of memory");
    elc_status st = elc_dataset_add_meta_string(d->ds, n, data, data_length);
    free(n);
    return SR_RET(st, w);
}

SRError get_dataset_tensor(void *dataset, const char *name, const size_t name_length, void **data,
                           size_t **dims, size_t *n_dims, SRTensorType *type,
                           const SRMemoryLayout mem_layout)
{
    const char *w = "get_dataset_tensor";
    DS_OR_RETURN(d, dataset, w);
    if (!name || !data || !dims || !n_dims || !type) return sr_error(SRParameterError, w, "NULL argument");
    char *n = sr_strndup(name, name_length);
    if (!n) return sr_error(SRBadAllocError, w, "out of memory");
    const void *p;
    const size_t *dd;
    size_t nd;
    elc_dtype t;
    elc_status st = elc_dataset_get_tensor(d->ds, n, &p, &dd, &nd, &t);
    free(n);
    if (st) return sr_fail((SRError)st, w);
    size_t *dcopy = sr_keep_alloc(&d->keep, nd * sizeof *dcopy);
    if (!dcopy) return sr_error(SRBadAllocError, w, "out of memory");
    memcpy(dcopy, dd, nd * sizeof *dcopy);
    SRError s2 = sr_layout_out(&d->keep, p, dd, nd, elc_dtype_size(t), mem_layout, data, w);
    if (s2) return s2;
    *dims = dcopy;
    *n_dims = nd;
    *type = (SRTensorType)t;
    return SRNoError;
}

SRError unpack_dataset_tensor(void *dataset, const char *name, const size_t name_length, void *data,
                              const size_t *dims, const size_t n_dims, const SRTensorType type,
                              const SRMemoryLayout mem_layout)
{
    const char *w = "unpack_dataset_tensor";
    DS_OR_RETURN(d, dataset, w);
    if (!name || !data || (!dims && n_dims)) return sr_error(SRParameterError, w, "NULL argument");
    int l = sr_layout(mem_layout);
    if (l == -2) return sr_error(SRParameterError, w, "The memory layout %d is not supported", (int)mem_layout);
    char *n = sr_strndup(name, name_length);
    if (!n) return sr_error(SRBadAllocError, w, "out of memory");
    elc_status st;
    if (l == -1) {
        size_t es = elc_dtype_size((elc_dtype)type);
        void *flat = malloc(sr_count(dims, n_dims) * (es ? es : 1) + 1);
        if (!flat) { free(n); return sr_error(SRBadAllocError, w, "out of memory"); }
        st = elc_dataset_unpack_tensor(d->ds, n, flat, dims, n_dims, (elc_dtype)type, ELC_LAYOUT_C);
        if (!st) sr_nested_scatter(data, flat, dims, n_dims, es);
        free(flat);
    } else {
        /* SmartRedis unpacks into contiguous memory described by one dim, its length */
        if (mem_layout == SRMemLayoutContiguous && n_dims == 1) l = ELC_LAYOUT_FLAT;
        st = elc_dataset_unpack_tensor(d->ds, n, data, dims, n_dims, (elc_dtype)type, (elc_layout)l);
    }
    free(n);
    return SR_RET(st, w);
}

static const size_t meta_size[] = {0, 8, 4, 4, 8, 4, 8, 0};

SRError get_meta_scalars(void *dataset, const char *name, const size_t name_length, size_t *length,
                         SRMetaDataType *type, void **scalar_data)
{
    const char *w = "get_meta_scalars";
    DS_OR_RETURN(d, dataset, w);
    if (!name || !length || !type || !scalar_data) return sr_error(SRParameterError, w, "NULL argument");
    char *n = sr_strndup(name, name_length);
    if (!n) return sr_error(SRBadAllocError, w, "out of memory");
    const void *v;
    size_t cnt;
    elc_meta_type t;
    elc_status st = elc_dataset_get_meta_scalars(d->ds, n, &v, &cnt, &t);
    free(n);
    if (st) return sr_fail((SRError)st, w);
    /* an aligned copy, owned by the dataset */
    void *c = sr_keep_alloc(&d->keep, cnt * meta_size[t]);
    if (!c) return sr_error(SRBadAllocError, w, "out of memory");
    memcpy(c, v, cnt * meta_size[t]);
    *length = cnt;
    *type = (SRMetaDataType)t;
    *scalar_data = c;
    return SRNoError;
}

/* n strings into retained arrays */
static SRError keep_strings(sr_keep *k, const char *w, size_t n, const char **s, const size_t *len,
                            char ***data, size_t *n_strings, size_t **lengths)
{
    char **v = sr_keep_alloc(k, n * sizeof *v);
    size_t *l = sr_keep_alloc(k, n * sizeof *l);
    if (!v || !l) return sr_error(SRBadAllocError, w, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] = sr_keep_strndup(k, s[i], len[i]))) return sr_error(SRBadAllocError, w, "out of memory");
        l[i] = len[i];
    }
    *data = v;
    *n_strings = n;
    *lengths = l;
    return SRNoError;
}

SRError get_meta_strings(void *dataset, const char *name, const size_t name_length, char ***data,
                         size_t *n_strings, size_t **lengths)
{
    const char *w = "get_meta_strings";
    DS_OR_RETURN(d, dataset, w);
    if (!name || !data || !n_strings || !lengths) return sr_error(SRParameterError, w, "NULL argument");
    char *n = sr_strndup(name, name_length);
    if (!n) return sr_error(SRBadAllocError, w, "out of memory");
    size_t cnt;
    elc_status st = elc_dataset_get_meta_string_count(d->ds, n, &cnt);
    const char **s = st ? NULL : calloc(cnt + 1, sizeof *s);
    size_t *l = st ? NULL : calloc(cnt + 1, sizeof *l);
    if (!st && (!s || !l)) st = ELC_ERR_NOMEM;
    for (size_t i = 0; !st && i < cnt; i++) st = elc_dataset_get_meta_string(d->ds, n, i, &s[i], &l[i]);
    SRError r = st ? sr_fail((SRError)st, w) : keep_strings(&d->keep, w, cnt, s, l, data, n_strings, lengths);
    free(n);
    free(s);
    free(l);
    return r;
}

static SRError names(sr_dataset *d, const char *w, int meta, char ***data, size_t *n_strings,
                     size_t **lengths)
{
    size_t n = meta ? elc_dataset_num_meta(d->ds) : elc_dataset_num_tensors(d->ds);
    const char **s = calloc(n + 1, sizeof *s);
    size_t *l = calloc(n + 1, sizeof *l);
    if (!s || !l) { free(s); free(l); return sr_error(SRBadAllocError, w, "out of memory"); }
    for (size_t i = 0; i < n; i++) {
        s[i] = meta ? elc_dataset_meta_name(d->ds, i) : elc_dataset_tensor_name(d->ds, i);
        l[i] = strlen(s[i]);
    }
    SRError r = keep_strings(&d->keep, w, n, s, l, data, n_strings, lengths);
    free(s);
    free(l);
    return r;
}

SRError get_tensor_names(void *dataset, char ***data, size_t *n_strings, size_t **lengths)
{
    const char *w = "get_tensor_names";
    DS_OR_RETURN(d, dataset, w);
    if (!data || !n_strings || !lengths) return sr_error(SRParameterError, w, "NULL argument");
    return names(d, w, 0, data, n_strings, lengths);
}

SRError get_metadata_field_names(void *dataset, char ***data, size_t *n_strings, size_t **lengths)
{
    const char *w = "get_metadata_field_names";
    DS_OR_RETURN(d, dataset, w);
    if (!data || !n_strings || !lengths) return sr_error(SRParameterError, w, "NULL argument");
    return names(d, w, 1, data, n_strings, lengths);
}

SRError get_tensor_type(void *dataset, const char *name, size_t name_len, SRTensorType *ttype)
{
    const char *w = "get_tensor_type";
    DS_OR_RETURN(d, dataset, w);
    if (!name || !ttype) return sr_error(SRParameterError, w, "NULL argument");
    char *n = sr_strndup(name, name_len);
    if (!n) return sr_error(SRBadAllocError, w, "out of memory");
    const void *p;
    const size_t *dd;
    size_t nd;
    elc_dtype t;
    elc_status st = elc_dataset_get_tensor(d->ds, n, &p, &dd, &nd, &t);
    free(n);
    if (!st) *ttype = (SRTensorType)t;
    return SR_RET(st, w);
}

SRError get_tensor_dims(void *dataset, const char *name, size_t name_len, size_t **dims, size_t *ndims)
{
    const char *w = "get_tensor_dims";
    DS_OR_RETURN(d, dataset, w);
    if (!name || !dims || !ndims) return sr_error(SRParameterError, w, "NULL argument");
    char *n = sr_strndup(name, name_len);
    if (!n) return sr_error(SRBadAllocError, w, "out of memory");
    const void *p;
    const size_t *dd;
    size_t nd;
    elc_dtype t;
    elc_status st = elc_dataset_get_tensor(d->ds, n, &p, &dd, &nd, &t);
    free(n);
    if (st) return sr_fail((SRError)st, w);
    if (nd > *ndims) {
        *ndims = nd;
        return sr_error(SRBadAllocError, w, "The dims buffer has room for fewer dimensions than the tensor has (%zu)", nd);
    }
    *ndims = nd;
    if (!*dims) return sr_error(SRParameterError, w, "The dims buffer is NULL");
    memcpy(*dims, dd, nd * sizeof *dd);
    return SRNoError;
}

SRError get_metadata_field_type(void *dataset, const char *name, size_t name_len, SRMetaDataType *mdtype)
{
    const char *w = "get_metadata_field_type";
    DS_OR_RETURN(d, dataset, w);
    if (!name || !mdtype) return sr_error(SRParameterError, w, "NULL argument");
    char *n = sr_strndup(name, name_len);
    if (!n) return sr_error(SRBadAllocError, w, "out of memory");
    elc_meta_type t;
    elc_status st = elc_dataset_get_meta_type(d->ds, n, &t);
    free(n);
    if (!st) *mdtype = (SRMetaDataType)t;
    return SR_RET(st, w);
}

const char *dataset_to_string(void *dataset)
{
    SRError st;
    sr_dataset *d = ds_of(dataset, "dataset_to_string", &st);
    if (!d) return "dataset_to_string: the handle is not a DataSet";
    size_t cap = 256 + 128 * (elc_dataset_num_tensors(d->ds) + elc_dataset_num_meta(d->ds));
    char *s = sr_keep_alloc(&d->keep, cap);
    if (!s) return "dataset_to_string: out of memory";
    size_t o = (size_t)snprintf(s, cap, "DataSet (%s):\n", elc_dataset_name(d->ds));
    size_t nt = elc_dataset_num_tensors(d->ds);
    o += (size_t)snprintf(s + o, cap - o, "Tensors: %zu\n", nt);
    for (size_t i = 0; i < nt && o < cap; i++) {
        const void *p;
        const size_t *dd;
        size_t nd;
        elc_dtype t;
        const char *tn = elc_dataset_tensor_name(d->ds, i);
        if (elc_dataset_get_tensor(d->ds, tn, &p, &dd, &nd, &t)) continue;
        o += (size_t)snprintf(s + o, cap - o, "  %.60s: %s, %zu dims\n", tn, elc_dtype_name(t), nd);
    }
    size_t nm = elc_dataset_num_meta(d->ds);
    if (o < cap) o += (size_t)snprintf(s + o, cap - o, "Metadata fields: %zu\n", nm);
    for (size_t i = 0; i < nm && o < cap; i++)
        o += (size_t)snprintf(s + o, cap - o, "  %.100s\n", elc_dataset_meta_name(d->ds, i));
    return s;
}
