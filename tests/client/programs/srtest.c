/* srtest.c — exercises the SmartRedis 0.6.1 C API (c_client.h, c_dataset.h, c_configoptions.h,
 * c_logger.h, c_logcontext.h) against a real database; test_client_smartredis.py compares what
 * it writes and reads with the genuine SmartRedis Python client. Written in SmartRedis's API only.
 *
 *   srtest write TAG     write tensors of every type and layout, a dataset, a list, a script
 *   srtest read TAG DIR  read what the Python client wrote (DIR: model.pt, script.txt, out files)
 *   srtest ops TAG       copies, renames, polls, exists, deletes, errors
 *   srtest config SFX    ConfigOptions from the environment with suffix SFX, CreateClient
 *   srtest log           log_data/log_warning/log_error with every kind of context
 *   srtest multigpu TAG  multi-GPU model and script calls
 * Prints OK on success; on failure the reason and exit status 1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_client.h"
#include "c_configoptions.h"
#include "c_dataset.h"
#include "c_logcontext.h"
#include "c_logger.h"

#define CHECK(call)                                                                          \
    do {                                                                                     \
        SRError e_ = (call);                                                                 \
        if (e_ != SRNoError) {                                                               \
            printf("FAIL line %d: %s -> %d: %s (at %s)\n", __LINE__, #call, (int)e_,          \
                   SRGetLastError(), SRGetLastErrorLocation());                              \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)
#define EXPECT(cond, ...)                                                                    \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            printf("FAIL line %d: %s: ", __LINE__, #cond);                                   \
            printf(__VA_ARGS__);                                                             \
            printf("\n");                                                                    \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)
#define S(s) (s), strlen(s)

static const SRTensorType TYPES[] = {SRTensorTypeDouble, SRTensorTypeFloat, SRTensorTypeInt8,
                                     SRTensorTypeInt16, SRTensorTypeInt32, SRTensorTypeInt64,
                                     SRTensorTypeUint8, SRTensorTypeUint16};
static const char *TNAMES[] = {"DOUBLE", "FLOAT", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16"};
static const size_t TSIZE[] = {8, 4, 1, 2, 4, 8, 1, 2};

/* value j of a test tensor of type index k (the Python side uses the same formula) */
static double val(int k, size_t j)
{
    if (k <= 1) return (double)j * 0.5 - 3.0;
    if (k <= 5) return (double)j - 5.0;
    return (double)j + 1.0;
}

static void store(int k, void *buf, size_t j, double v)
{
    switch (k) {
    case 0: ((double *)buf)[j] = v; break;
    case 1: ((float *)buf)[j] = (float)v; break;
    case 2: ((int8_t *)buf)[j] = (int8_t)v; break;
    case 3: ((int16_t *)buf)[j] = (int16_t)v; break;
    case 4: ((int32_t *)buf)[j] = (int32_t)v; break;
    case 5: ((int64_t *)buf)[j] = (int64_t)v; break;
    case 6: ((uint8_t *)buf)[j] = (uint8_t)v; break;
    default: ((uint16_t *)buf)[j] = (uint16_t)v; break;
    }
}

static double load(int k, const void *buf, size_t j)
{
    switch (k) {
    case 0: return ((const double *)buf)[j];
    case 1: return ((const float *)buf)[j];
    case 2: return ((const int8_t *)buf)[j];
    case 3: return ((const int16_t *)buf)[j];
    case 4: return ((const int32_t *)buf)[j];
    case 5: return (double)((const int64_t *)buf)[j];
    case 6: return ((const uint8_t *)buf)[j];
    default: return ((const uint16_t *)buf)[j];
    }
}

/* "tag_what" (never freed: a short-lived test program) */
static char *name2(const char *tag, const char *what)
{
    size_t n = strlen(tag) + strlen(what) + 2;
    char *s = malloc(n);
    snprintf(s, n, "%s_%s", tag, what);
    return s;
}

static void *client(void)
{
    void *c = NULL;
    CHECK(SimpleCreateClient(S("srtest"), &c));
    return c;
}

/* the dataset both sides write: tensors a (INT32 2x2) and b (DOUBLE 5), every metadata type */
static void *make_dataset(const char *name)
{
    void *ds = NULL;
    CHECK(CDataSet(S(name), &ds));
    int32_t a[4] = {1, -2, 3, -4};
    double b[5] = {0.5, 1.5, 2.5, 3.5, 4.5};
    size_t da[2] = {2, 2}, db[1] = {5};
    CHECK(add_tensor(ds, S("a"), a, da, 2, SRTensorTypeInt32, SRMemLayoutContiguous));
    CHECK(add_tensor(ds, S("b"), b, db, 1, SRTensorTypeDouble, SRMemLayoutContiguous));
    double md[2] = {1.5, 2.5};
    float mf = 0.25f;
    int32_t mi32 = -7;
    int64_t mi64 = (int64_t)1 << 40;
    uint32_t mu32 = 4000000000u;
    uint64_t mu64 = (uint64_t)1 << 63;
    CHECK(add_meta_scalar(ds, S("md"), &md[0], SRMetadataTypeDouble));
    CHECK(add_meta_scalar(ds, S("md"), &md[1], SRMetadataTypeDouble));
    CHECK(add_meta_scalar(ds, S("mf"), &mf, SRMetadataTypeFloat));
    CHECK(add_meta_scalar(ds, S("mi32"), &mi32, SRMetadataTypeInt32));
    CHECK(add_meta_scalar(ds, S("mi64"), &mi64, SRMetadataTypeInt64));
    CHECK(add_meta_scalar(ds, S("mu32"), &mu32, SRMetadataTypeUint32));
    CHECK(add_meta_scalar(ds, S("mu64"), &mu64, SRMetadataTypeUint64));
    CHECK(add_meta_string(ds, S("ms"), S("alpha")));
    CHECK(add_meta_string(ds, S("ms"), S("beta")));
    return ds;
}

static void check_dataset(void *ds)
{
    int32_t a[4];
    size_t da[2] = {2, 2};
    CHECK(unpack_dataset_tensor(ds, S("a"), a, da, 2, SRTensorTypeInt32, SRMemLayoutContiguous));
    EXPECT(a[0] == 1 && a[1] == -2 && a[2] == 3 && a[3] == -4, "a = %d %d %d %d", a[0], a[1], a[2], a[3]);
    void *data;
    size_t *dims, nd;
    SRTensorType t;
    CHECK(get_dataset_tensor(ds, S("b"), &data, &dims, &nd, &t, SRMemLayoutContiguous));
    EXPECT(t == SRTensorTypeDouble && nd == 1 && dims[0] == 5, "b: type %d rank %zu", (int)t, nd);
    for (int i = 0; i < 5; i++) EXPECT(((double *)data)[i] == i + 0.5, "b[%d] = %g", i, ((double *)data)[i]);
    size_t n;
    SRMetaDataType mt;
    void *v;
    CHECK(get_meta_scalars(ds, S("md"), &n, &mt, &v));
    EXPECT(mt == SRMetadataTypeDouble && n == 2 && ((double *)v)[0] == 1.5 && ((double *)v)[1] == 2.5, "md");
    CHECK(get_meta_scalars(ds, S("mf"), &n, &mt, &v));
    EXPECT(mt == SRMetadataTypeFloat && n == 1 && ((float *)v)[0] == 0.25f, "mf");
    CHECK(get_meta_scalars(ds, S("mi32"), &n, &mt, &v));
    EXPECT(mt == SRMetadataTypeInt32 && n == 1 && ((int32_t *)v)[0] == -7, "mi32");
    CHECK(get_meta_scalars(ds, S("mi64"), &n, &mt, &v));
    EXPECT(mt == SRMetadataTypeInt64 && ((int64_t *)v)[0] == (int64_t)1 << 40, "mi64");
    CHECK(get_meta_scalars(ds, S("mu32"), &n, &mt, &v));
    EXPECT(mt == SRMetadataTypeUint32 && ((uint32_t *)v)[0] == 4000000000u, "mu32");
    CHECK(get_meta_scalars(ds, S("mu64"), &n, &mt, &v));
    EXPECT(mt == SRMetadataTypeUint64 && ((uint64_t *)v)[0] == (uint64_t)1 << 63, "mu64");
    char **strs;
    size_t *lens;
    CHECK(get_meta_strings(ds, S("ms"), &strs, &n, &lens));
    EXPECT(n == 2 && lens[0] == 5 && !strcmp(strs[0], "alpha") && !strcmp(strs[1], "beta"), "ms");
    CHECK(get_tensor_names(ds, &strs, &n, &lens));
    EXPECT(n == 2, "%zu tensor names", n);
    int seen = 0;
    for (size_t i = 0; i < n; i++) seen |= !strcmp(strs[i], "a") ? 1 : !strcmp(strs[i], "b") ? 2 : 0;
    EXPECT(seen == 3, "tensor names");
    CHECK(get_metadata_field_names(ds, &strs, &n, &lens));
    EXPECT(n == 7, "%zu metadata fields", n);
    CHECK(get_tensor_type(ds, S("a"), &t));
    EXPECT(t == SRTensorTypeInt32, "type of a");
    size_t buf[4], *pb = buf, nb = 4;
    CHECK(get_tensor_dims(ds, S("a"), &pb, &nb));
    EXPECT(nb == 2 && buf[0] == 2 && buf[1] == 2, "dims of a");
    nb = 1;
    EXPECT(get_tensor_dims(ds, S("a"), &pb, &nb) == SRBadAllocError && nb == 2, "small dims buffer");
    CHECK(get_metadata_field_type(ds, S("ms"), &mt));
    EXPECT(mt == SRMetadataTypeString, "type of ms");
    EXPECT(get_metadata_field_type(ds, S("nope"), &mt) == SRKeyError, "missing field");
    EXPECT(strstr(dataset_to_string(ds), "DataSet") != NULL, "dataset_to_string");
}

static int cmd_write(const char *tag)
{
    void *c = client();
    size_t dims[2] = {3, 4};
    for (int k = 0; k < 8; k++) {
        char buf[12 * 8];
        for (size_t j = 0; j < 12; j++) store(k, buf, j, val(k, j));
        CHECK(put_tensor(c, S(name2(tag, TNAMES[k])), buf, dims, 2, TYPES[k], SRMemLayoutContiguous));
    }
    /* Fortran layout: column-major buffer of element (i, j) = 10 i + j */
    double f[12];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) f[i + 3 * j] = 10 * i + j;
    CHECK(put_tensor(c, S(name2(tag, "fortran")), f, dims, 2, SRTensorTypeDouble, SRMemLayoutFortranContiguous));
    /* nested layout: rows of pointers */
    float r0[3] = {1, 2, 3}, r1[3] = {4, 5, 6};
    float *rows[2] = {r0, r1};
    size_t nd[2] = {2, 3};
    CHECK(put_tensor(c, S(name2(tag, "nested")), rows, nd, 2, SRTensorTypeFloat, SRMemLayoutNested));
    void *ds = make_dataset(name2(tag, "ds"));
    CHECK(put_dataset(c, ds));
    CHECK(DeallocateDataSet(&ds));
    EXPECT(ds == NULL, "DeallocateDataSet sets NULL");
    for (int i = 0; i < 3; i++) {
        char dn[64];
        snprintf(dn, sizeof dn, "%s_l%d", tag, i);
        void *d = NULL;
        CHECK(CDataSet(S(dn), &d));
        int64_t x = i;
        size_t one = 1;
        CHECK(add_tensor(d, S("x"), &x, &one, 1, SRTensorTypeInt64, SRMemLayoutContiguous));
        CHECK(put_dataset(c, d));
        CHECK(append_to_list(c, S(name2(tag, "list")), d));
        CHECK(DeallocateDataSet(&d));
    }
    const char *script = "def double(x):\n    return x * 2\n";
    CHECK(set_script(c, S(name2(tag, "script")), S("CPU"), S(script)));
    CHECK(DeleteCClient(&c));
    EXPECT(c == NULL, "DeleteCClient sets NULL");
    printf("OK\n");
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    EXPECT(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    EXPECT(fread(b, 1, (size_t)n, f) == (size_t)n, "read %s", path);
    fclose(f);
    b[n] = '\0';
    *len = (size_t)n;
    return b;
}

static int cmd_read(const char *tag, const char *dir)
{
    void *c = client();
    size_t dims[2] = {3, 4};
    for (int k = 0; k < 8; k++) {
        char buf[12 * 8];
        CHECK(unpack_tensor(c, S(name2(tag, TNAMES[k])), buf, dims, 2, TYPES[k], SRMemLayoutContiguous));
        for (size_t j = 0; j < 12; j++)
            EXPECT(load(k, buf, j) == val(k, j), "%s[%zu] = %g, expected %g", TNAMES[k], j, load(k, buf, j), val(k, j));
        void *data;
        size_t *gd, n;
        SRTensorType t;
        CHECK(get_tensor(c, S(name2(tag, TNAMES[k])), &data, &gd, &n, &t, SRMemLayoutContiguous));
        EXPECT(t == TYPES[k] && n == 2 && gd[0] == 3 && gd[1] == 4, "get_tensor %s: type %d", TNAMES[k], (int)t);
        EXPECT(memcmp(data, buf, 12 * TSIZE[k]) == 0, "get_tensor %s data", TNAMES[k]);
        /* wrong type and wrong shape are refused */
        EXPECT(unpack_tensor(c, S(name2(tag, TNAMES[k])), buf, dims, 2, TYPES[(k + 1) % 8],
                             SRMemLayoutContiguous) != SRNoError, "type mismatch accepted");
    }
    /* the same DOUBLE tensor read in Fortran and nested layouts */
    double f[12];
    CHECK(unpack_tensor(c, S(name2(tag, "DOUBLE")), f, dims, 2, SRTensorTypeDouble, SRMemLayoutFortranContiguous));
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++) EXPECT(f[i + 3 * j] == val(0, 4 * i + j), "fortran (%zu,%zu)", i, j);
    double row[3][4], *rows[3] = {row[0], row[1], row[2]};
    CHECK(unpack_tensor(c, S(name2(tag, "DOUBLE")), rows, dims, 2, SRTensorTypeDouble, SRMemLayoutNested));
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++) EXPECT(row[i][j] == val(0, 4 * i + j), "nested (%zu,%zu)", i, j);
    void *data;
    size_t *gd, n;
    SRTensorType t;
    CHECK(get_tensor(c, S(name2(tag, "DOUBLE")), &data, &gd, &n, &t, SRMemLayoutNested));
    EXPECT(((double **)data)[2][3] == val(0, 11), "get_tensor nested");
    CHECK(get_tensor(c, S(name2(tag, "DOUBLE")), &data, &gd, &n, &t, SRMemLayoutFortranContiguous));
    EXPECT(((double *)data)[1] == val(0, 4), "get_tensor fortran");
    /* dataset */
    void *ds = NULL;
    CHECK(get_dataset(c, S(name2(tag, "ds")), &ds));
    check_dataset(ds);
    CHECK(DeallocateDataSet(&ds));
    /* lists */
    void **dsv;
    size_t nds;
    CHECK(get_datasets_from_list(c, S(name2(tag, "list")), &dsv, &nds));
    EXPECT(nds == 3, "%zu datasets in the list", nds);
    for (size_t i = 0; i < nds; i++) {
        int64_t x;
        size_t one = 1;
        CHECK(unpack_dataset_tensor(dsv[i], S("x"), &x, &one, 1, SRTensorTypeInt64, SRMemLayoutContiguous));
        EXPECT(x == (int64_t)i, "list entry %zu holds %lld", i, (long long)x);
        CHECK(DeallocateDataSet(&dsv[i]));
    }
    CHECK(get_dataset_list_range(c, S(name2(tag, "list")), -2, -1, &dsv, &nds));
    EXPECT(nds == 2, "range -2..-1 has %zu", nds);
    int64_t x;
    size_t one = 1;
    CHECK(unpack_dataset_tensor(dsv[0], S("x"), &x, &one, 1, SRTensorTypeInt64, SRMemLayoutContiguous));
    EXPECT(x == 1, "range first entry %lld", (long long)x);
    for (size_t i = 0; i < nds; i++) CHECK(DeallocateDataSet(&dsv[i]));
    void *alloc[2] = {NULL, NULL};
    CHECK(_get_dataset_list_range_allocated(c, S(name2(tag, "list")), 0, 1, alloc));
    EXPECT(alloc[0] && alloc[1], "allocated range");
    CHECK(DeallocateDataSet(&alloc[0]));
    CHECK(DeallocateDataSet(&alloc[1]));
    CHECK(get_datasets_from_list(c, S(name2(tag, "nolist")), &dsv, &nds));
    EXPECT(nds == 0, "a missing list gives %zu datasets", nds);
    int len;
    CHECK(get_list_length(c, S(name2(tag, "list")), &len));
    EXPECT(len == 3, "list length %d", len);
    /* model and script written by Python */
    char path[512];
    size_t mlen, slen;
    snprintf(path, sizeof path, "%s/model.pt", dir);
    char *model = slurp(path, &mlen);
    const char *got;
    size_t glen;
    CHECK(get_model(c, S(name2(tag, "model")), &glen, &got));
    EXPECT(glen == mlen && memcmp(got, model, mlen) == 0, "get_model: %zu bytes, file %zu", glen, mlen);
    snprintf(path, sizeof path, "%s/script.txt", dir);
    char *script = slurp(path, &slen);
    CHECK(get_script(c, S(name2(tag, "script")), &got, &glen));
    EXPECT(glen == slen && memcmp(got, script, slen) == 0, "get_script");
    /* run the model and the script on a tensor of ours; Python checks the outputs */
    float in[4] = {1, 2, 3, 4};
    size_t d4[2] = {1, 4};
    CHECK(put_tensor(c, S(name2(tag, "in")), in, d4, 2, SRTensorTypeFloat, SRMemLayoutContiguous));
    const char *ins[1] = {name2(tag, "in")}, *outs[1] = {name2(tag, "mout")};
    size_t il[1] = {strlen(ins[0])}, ol[1] = {strlen(outs[0])};
    CHECK(run_model(c, S(name2(tag, "model")), ins, il, 1, outs, ol, 1));
    const char *souts[1] = {name2(tag, "sout")};
    size_t sl[1] = {strlen(souts[0])};
    CHECK(run_script(c, S(name2(tag, "script")), S("double"), ins, il, 1, souts, sl, 1));
    float o[4];
    CHECK(unpack_tensor(c, S(name2(tag, "sout")), o, d4, 2, SRTensorTypeFloat, SRMemLayoutContiguous));
    for (int i = 0; i < 4; i++) EXPECT(o[i] == 2 * in[i], "script output %d = %g", i, o[i]);
    bool e;
    CHECK(model_exists(c, S(name2(tag, "model")), &e));
    EXPECT(e, "model_exists");
    CHECK(poll_model(c, S(name2(tag, "script")), 10, 2, &e));
    EXPECT(e, "poll_model on a script");
    free(model);
    free(script);
    CHECK(DeleteCClient(&c));
    printf("OK\n");
    return 0;
}

static int cmd_ops(const char *tag)
{
    void *c = client();
    double v[3] = {1, 2, 3}, w[3];
    size_t d3 = 3;
    const char *a = name2(tag, "a"), *b = name2(tag, "b"), *cc = name2(tag, "c");
    CHECK(put_tensor(c, S(a), v, &d3, 1, SRTensorTypeDouble, SRMemLayoutContiguous));
    CHECK(copy_tensor(c, S(a), S(b)));
    CHECK(rename_tensor(c, S(b), S(cc)));
    bool e;
    CHECK(tensor_exists(c, S(b), &e));
    EXPECT(!e, "renamed tensor source still exists");
    CHECK(unpack_tensor(c, S(cc), w, &d3, 1, SRTensorTypeDouble, SRMemLayoutContiguous));
    EXPECT(w[0] == 1 && w[2] == 3, "renamed tensor values");
    CHECK(poll_tensor(c, S(cc), 10, 3, &e));
    EXPECT(e, "poll_tensor");
    CHECK(poll_tensor(c, S(b), 10, 2, &e));
    EXPECT(!e, "poll_tensor of a missing tensor");
    CHECK(delete_tensor(c, S(a)));
    CHECK(tensor_exists(c, S(a), &e));
    EXPECT(!e, "deleted tensor exists");
    /* missing keys: error codes and messages */
    void *data;
    size_t *gd, n;
    SRTensorType t;
    SRError err = get_tensor(c, S(b), &data, &gd, &n, &t, SRMemLayoutContiguous);
    EXPECT(err != SRNoError && strlen(SRGetLastError()) > 0 && strlen(SRGetLastErrorLocation()) > 0,
           "get_tensor of a missing tensor: %d '%s'", (int)err, SRGetLastError());
    EXPECT(copy_tensor(c, S(b), S(a)) == SRKeyError, "copy of a missing tensor");
    void *ds = NULL;
    EXPECT(get_dataset(c, S(name2(tag, "nods")), &ds) == SRKeyError, "get_dataset of a missing dataset");
    EXPECT(strstr(SRGetLastError(), "does not exist") != NULL, "message: %s", SRGetLastError());
    /* datasets */
    ds = make_dataset(name2(tag, "ds"));
    CHECK(put_dataset(c, ds));
    CHECK(copy_dataset(c, S(name2(tag, "ds")), S(name2(tag, "ds2"))));
    CHECK(rename_dataset(c, S(name2(tag, "ds2")), S(name2(tag, "ds3"))));
    CHECK(dataset_exists(c, S(name2(tag, "ds2")), &e));
    EXPECT(!e, "renamed dataset source exists");
    CHECK(poll_dataset(c, S(name2(tag, "ds3")), 10, 3, &e));
    EXPECT(e, "poll_dataset");
    void *ds3 = NULL;
    CHECK(get_dataset(c, S(name2(tag, "ds3")), &ds3));
    check_dataset(ds3);
    CHECK(DeallocateDataSet(&ds3));
    CHECK(copy_dataset(c, S(name2(tag, "ds")), S(name2(tag, "ds4"))));
    CHECK(delete_dataset(c, S(name2(tag, "ds4"))));
    CHECK(dataset_exists(c, S(name2(tag, "ds4")), &e));
    EXPECT(!e, "deleted dataset exists");
    /* lists */
    const char *l = name2(tag, "list");
    for (int i = 0; i < 3; i++) {
        char dn[64];
        snprintf(dn, sizeof dn, "%s_e%d", tag, i);
        void *d = make_dataset(dn);
        CHECK(put_dataset(c, d));
        CHECK(append_to_list(c, S(l), d));
        if (i == 2) CHECK(append_to_list(c, S(l), d)); /* a second append of e2: listed twice, as with SmartRedis */
        CHECK(DeallocateDataSet(&d));
    }
    int len;
    CHECK(get_list_length(c, S(l), &len));
    EXPECT(len == 4, "length %d", len);
    bool r;
    CHECK(poll_list_length(c, S(l), 4, 10, 2, &r));
    EXPECT(r, "poll_list_length == 4");
    CHECK(poll_list_length(c, S(l), 3, 10, 2, &r));
    EXPECT(!r, "poll_list_length == 3");
    CHECK(poll_list_length_gte(c, S(l), 3, 10, 2, &r));
    EXPECT(r, "gte 3");
    CHECK(poll_list_length_gte(c, S(l), 5, 10, 2, &r));
    EXPECT(!r, "gte 5");
    CHECK(poll_list_length_lte(c, S(l), 4, 10, 2, &r));
    EXPECT(r, "lte 4");
    CHECK(poll_list_length_lte(c, S(l), 3, 10, 2, &r));
    EXPECT(!r, "lte 3");
    EXPECT(poll_list_length(c, S(l), -1, 10, 2, &r) == SRParameterError, "negative length");
    CHECK(copy_list(c, S(l), S(name2(tag, "list2"))));
    CHECK(rename_list(c, S(name2(tag, "list2")), S(name2(tag, "list3"))));
    CHECK(get_list_length(c, S(name2(tag, "list2")), &len));
    EXPECT(len == 0, "renamed list source has %d", len);
    CHECK(get_list_length(c, S(name2(tag, "list3")), &len));
    EXPECT(len == 4, "renamed list has %d", len);
    EXPECT(copy_list(c, S(name2(tag, "nolist")), S(name2(tag, "x"))) == SRRuntimeError, "copy of a missing list");
    CHECK(copy_list(c, S(l), S(name2(tag, "list4"))));
    CHECK(delete_list(c, S(name2(tag, "list4"))));
    CHECK(get_list_length(c, S(name2(tag, "list4")), &len));
    EXPECT(len == 0, "deleted list has %d", len);
    CHECK(DeallocateDataSet(&ds));
    /* raw keys */
    CHECK(key_exists(c, S(cc), &e));
    EXPECT(e, "key_exists");
    CHECK(poll_key(c, S(name2(tag, "nokey")), 10, 2, &e));
    EXPECT(!e, "poll_key");
    /* bad arguments */
    EXPECT(put_tensor(c, S(a), v, &d3, 1, SRTensorTypeInvalid, SRMemLayoutContiguous) == SRParameterError, "invalid type");
    EXPECT(put_tensor(c, S(a), v, &d3, 1, SRTensorTypeDouble, SRMemLayoutInvalid) == SRParameterError, "invalid layout");
    EXPECT(set_data_source(c, S("nosuchsource")) != SRNoError, "unknown data source");
    EXPECT(strstr(client_to_string(c), "Client") != NULL, "client_to_string");
    CHECK(DeleteCClient(&c));
    printf("OK\n");
    return 0;
}

/* prefixes: SSKEYOUT/SSKEYIN set by the test */
static int cmd_prefix(const char *tag)
{
    void *c = client();
    double v[2] = {7, 8};
    size_t d = 2;
    CHECK(put_tensor(c, S(name2(tag, "p")), v, &d, 1, SRTensorTypeDouble, SRMemLayoutContiguous));
    CHECK(use_tensor_ensemble_prefix(c, false));
    CHECK(put_tensor(c, S(name2(tag, "np")), v, &d, 1, SRTensorTypeDouble, SRMemLayoutContiguous));
    CHECK(use_tensor_ensemble_prefix(c, true));
    void *ds = NULL;
    CHECK(CDataSet(S(name2(tag, "pds")), &ds));
    CHECK(add_tensor(ds, S("t"), v, &d, 1, SRTensorTypeDouble, SRMemLayoutContiguous));
    CHECK(put_dataset(c, ds));
    CHECK(use_dataset_ensemble_prefix(c, false));
    CHECK(put_dataset(c, ds));
    CHECK(use_list_ensemble_prefix(c, true));
    CHECK(use_dataset_ensemble_prefix(c, true));
    CHECK(append_to_list(c, S(name2(tag, "plist")), ds));
    CHECK(use_model_ensemble_prefix(c, true));
    CHECK(set_script(c, S(name2(tag, "pscript")), S("CPU"), S("def f(x):\n    return x\n")));
    CHECK(DeallocateDataSet(&ds));
    /* reading from another source named in SSKEYIN */
    const char *src = getenv("SRTEST_SOURCE");
    if (src) {
        CHECK(set_data_source(c, S(src)));
        double w[2];
        CHECK(unpack_tensor(c, S(name2(tag, "other")), w, &d, 1, SRTensorTypeDouble, SRMemLayoutContiguous));
        EXPECT(w[0] == 1 && w[1] == 2, "tensor of the other source");
    }
    CHECK(DeleteCClient(&c));
    printf("OK\n");
    return 0;
}

static int cmd_config(const char *sfx)
{
    void *cfg = NULL;
    CHECK(create_configoptions_from_environment(S(sfx), &cfg));
    int64_t iv;
    CHECK(get_integer_option(cfg, S("SRTEST_INT"), &iv));
    EXPECT(iv == 42, "SRTEST_INT_%s = %lld", sfx, (long long)iv);
    char *sv;
    size_t sl;
    CHECK(get_string_option(cfg, S("SRTEST_STR"), &sv, &sl));
    EXPECT(sl == 5 && !strncmp(sv, "hello", 5), "SRTEST_STR");
    bool b;
    CHECK(is_configured(cfg, S("SRTEST_INT"), &b));
    EXPECT(b, "is_configured");
    CHECK(is_configured(cfg, S("SRTEST_NONE"), &b));
    EXPECT(!b, "is_configured of an unset option");
    EXPECT(get_integer_option(cfg, S("SRTEST_NONE"), &iv) == SRKeyError, "unset integer option");
    EXPECT(get_integer_option(cfg, S("SRTEST_STR"), &iv) == SRParameterError, "non-integer option");
    CHECK(override_integer_option(cfg, S("SRTEST_INT"), 7));
    CHECK(get_integer_option(cfg, S("SRTEST_INT"), &iv));
    EXPECT(iv == 7, "overridden integer");
    CHECK(override_string_option(cfg, S("SRTEST_NONE"), S("set")));
    CHECK(get_string_option(cfg, S("SRTEST_NONE"), &sv, &sl));
    EXPECT(sl == 3 && !strncmp(sv, "set", 3), "overridden string");
    void *c = NULL;
    CHECK(CreateClient(cfg, S("cfgclient"), &c));
    double v[2] = {3, 4};
    size_t d = 2;
    CHECK(put_tensor(c, S("srtest_cfg_tensor"), v, &d, 1, SRTensorTypeDouble, SRMemLayoutContiguous));
    CHECK(DeleteCClient(&c));
    /* an SSDB override pointing nowhere fails with a database error */
    CHECK(override_string_option(cfg, S("SSDB"), S("127.0.0.1:1")));
    CHECK(override_integer_option(cfg, S("SR_CONN_TIMEOUT"), 1));
    CHECK(override_integer_option(cfg, S("SR_CONN_INTERVAL"), 100));
    EXPECT(CreateClient(cfg, S("x"), &c) != SRNoError && c == NULL, "a client of a wrong address");
    CHECK(DeallocateConfigOptions(&cfg));
    /* the deprecated constructor with an explicit cluster flag */
    const char *type = getenv("SR_DB_TYPE");
    CHECK(SmartRedisCClient(type && !strcmp(type, "Clustered"), S("old"), &c));
    bool e;
    CHECK(tensor_exists(c, S("srtest_cfg_tensor"), &e));
    EXPECT(e, "tensor written through the ConfigOptions client");
    CHECK(DeleteCClient(&c));
    printf("OK\n");
    return 0;
}

static int cmd_log(void)
{
    void *c = client();
    void *ds = NULL, *lc = NULL;
    CHECK(CDataSet(S("logds"), &ds));
    CHECK(SmartRedisCLogContext(S("logctx"), &lc));
    log_data(c, LLInfo, S("client info line"));
    log_warning(ds, LLInfo, S("dataset warning line"));
    log_error(lc, LLInfo, S("context error line"));
    log_data(c, LLDebug, S("client debug line"));
    log_data(c, LLDeveloper, S("developer line"));
    log_data_string(S("strctx"), LLInfo, S("string context line"));
    log_warning_string(S("strctx"), LLInfo, S("string warning"));
    log_error_string(S("strctx"), LLInfo, S("string error"));
    CHECK(DeallocateLogContext(&lc));
    CHECK(DeallocateDataSet(&ds));
    CHECK(DeleteCClient(&c));
    printf("OK\n");
    return 0;
}

static int cmd_multigpu(const char *tag, const char *model_path)
{
    void *c = client();
    size_t len;
    char *model = slurp(model_path, &len);
    const char *name = name2(tag, "mg");
    EXPECT(set_model_multigpu(c, S(name), model, len, S("TORCH"), 0, 0, 0, 0, 0, S(""), NULL, NULL, 0, NULL,
                              NULL, 0) == SRParameterError, "num_gpus 0");
    EXPECT(set_model_multigpu(c, S(name), model, len, S("TORCH"), -1, 1, 0, 0, 0, S(""), NULL, NULL, 0, NULL,
                              NULL, 0) == SRParameterError, "first_gpu -1");
    SRError e = set_model_multigpu(c, S(name), model, len, S("TORCH"), 0, 2, 0, 0, 0, S(""), NULL, NULL, 0,
                                   NULL, NULL, 0);
    /* the test knows whether the database has GPUs */
    printf("set_model_multigpu %d %s\n", (int)e, e ? SRGetLastError() : "");
    const char *script = "def double(x):\n    return x * 2\n";
    e = set_script_multigpu(c, S(name2(tag, "mgs")), S(script), 0, 2);
    printf("set_script_multigpu %d %s\n", (int)e, e ? SRGetLastError() : "");
    float in[4] = {1, 2, 3, 4};
    size_t d4[2] = {1, 4};
    CHECK(put_tensor(c, S(name2(tag, "in")), in, d4, 2, SRTensorTypeFloat, SRMemLayoutContiguous));
    const char *ins[1] = {name2(tag, "in")}, *outs[1] = {name2(tag, "out")};
    size_t il[1] = {strlen(ins[0])}, ol[1] = {strlen(outs[0])};
    e = run_model_multigpu(c, S(name), ins, il, 1, outs, ol, 1, 3, 0, 2);
    printf("run_model_multigpu %d %s\n", (int)e, e ? SRGetLastError() : "");
    e = run_script_multigpu(c, S(name2(tag, "mgs")), S("double"), ins, il, 1, outs, ol, 1, 3, 0, 2);
    printf("run_script_multigpu %d %s\n", (int)e, e ? SRGetLastError() : "");
    e = delete_model_multigpu(c, S(name), 0, 2);
    printf("delete_model_multigpu %d %s\n", (int)e, e ? SRGetLastError() : "");
    e = delete_script_multigpu(c, S(name2(tag, "mgs")), 0, 2);
    printf("delete_script_multigpu %d %s\n", (int)e, e ? SRGetLastError() : "");
    free(model);
    CHECK(DeleteCClient(&c));
    printf("OK\n");
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && !strcmp(argv[1], "write")) return cmd_write(argv[2]);
    if (argc >= 4 && !strcmp(argv[1], "read")) return cmd_read(argv[2], argv[3]);
    if (argc >= 3 && !strcmp(argv[1], "ops")) return cmd_ops(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "prefix")) return cmd_prefix(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "config")) return cmd_config(argv[2]);
    if (argc >= 2 && !strcmp(argv[1], "log")) return cmd_log();
    if (argc >= 4 && !strcmp(argv[1], "multigpu")) return cmd_multigpu(argv[2], argv[3]);
    fprintf(stderr, "usage: srtest write|read|ops|prefix|config|log|multigpu ...\n");
    return 2;
}
