/* ctest — C side of the tests in tests/client.
 * usage: ctest MODE [ARGS]; prints OK and exits 0 on success, prints the problem and exits 1.
 *   c_layout                 put C-order tensors, read them back with elc_get_tensor
 *   stager_slow N MS [POL]   submit N datasets, one every MS ms, print stats
 *   stager_fail              create a stager against an unreachable database
 *   stager_dead N FLAG       send one dataset, print READY, wait for file FLAG (the test kills
 *                            the server meanwhile), submit N more to a 2 KiB blocking queue;
 *                            print the longest submit, the failed submits and the flush
 *   prefixes                 put tensor/dataset/list with SSKEYOUT, read with SSKEYIN
 *   moved KEY FLAG           connect, print READY, wait for file FLAG, then put/get KEY (the
 *                            test moves KEY's slot meanwhile: the client must follow MOVED)
 *   infer MODEL ROWS         elc_infer of MODEL (y[:, j] = (j + 1) x[:, j] + x[:, 8], j < 6) on
 *                            ROWS x 9 inputs, in C and Fortran layout, sent as DOUBLE and as
 *                            FLOAT: every answer must be exact (small multiples of 1/4)
 *   infer_abandon MODEL FLAG MS
 *                            a request (it connects), READY, wait for file FLAG (the test pauses
 *                            the server for MS ms meanwhile), a request given up on at its
 *                            deadline (MS/8 ms), a start at once (refused: its answer is still
 *                            to come), one past twice the timeout (on a new connection, given
 *                            up on too), and after MS ms more a request that must get the
 *                            answer to its own inputs; prints the counters
 *   infer_large MODEL ROWS   a small request (connects), one of ROWS rows (more than a socket
 *                            takes at once), a small one again: every answer exact; prints the
 *                            counters
 */
#define _POSIX_C_SOURCE 200809L
#include "eddylearn_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(x)                                                                             \
    do {                                                                                     \
        elc_status st_ = (x);                                                                \
        if (st_ != ELC_OK) {                                                                 \
            printf("ERROR %s (code %d): %s\n", #x, (int)st_, elc_last_error());              \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int c_layout(void)
{
    elc_client *c;
    CHECK(elc_client_create(&c, -1, NULL));
    int32_t a[2][3] = {{1, 2, 3}, {4, 5, 6}};
    size_t dims[2] = {2, 3};
    CHECK(elc_put_tensor(c, "c_int", a, dims, 2, ELC_INT32, ELC_LAYOUT_C));
    uint16_t u[5] = {1, 2, 3, 65535, 0};
    size_t du[1] = {5};
    CHECK(elc_put_tensor(c, "c_u16", u, du, 1, ELC_UINT16, ELC_LAYOUT_C));
    void *data;
    size_t *d, nd;
    elc_dtype t;
    CHECK(elc_get_tensor(c, "c_int", &data, &d, &nd, &t));
    int bad = t != ELC_INT32 || nd != 2 || d[0] != 2 || d[1] != 3 || memcmp(data, a, sizeof a) != 0;
    elc_free(data);
    elc_free(d);
    int32_t back[2][3];
    CHECK(elc_unpack_tensor(c, "c_int", back, dims, 2, ELC_INT32, ELC_LAYOUT_C));
    bad |= memcmp(back, a, sizeof a) != 0;
    elc_client_destroy(c);
    if (bad) { printf("MISMATCH\n"); return 1; }
    printf("OK\n");
    return 0;
}

static int stager_slow(int n, int ms, const char *pol)
{
    elc_stager *s;
    elc_stager_policy p = (pol && strcmp(pol, "drop_oldest") == 0) ? ELC_POLICY_DROP_OLDEST : ELC_POLICY_BLOCK;
    CHECK(elc_stager_create(&s, 1 << 20, p, NULL, NULL));
    for (int i = 0; i < n; i++) {
        elc_dataset *ds;
        char name[64];
        snprintf(name, sizeof name, "slow.%d.0", i);
        CHECK(elc_dataset_create(&ds, name));
        double u[64];
        for (int k = 0; k < 64; k++) u[k] = i;
        size_t d[1] = {64};
        CHECK(elc_dataset_add_tensor(ds, "u", u, d, 1, ELC_DOUBLE, ELC_LAYOUT_C));
        int32_t step = i;
        CHECK(elc_dataset_add_meta_scalar(ds, "step", &step, ELC_META_INT32));
        CHECK(elc_stager_submit(s, ds, "slow_list"));
        sleep_ms(ms);
    }
    elc_status fl = elc_stager_flush(s, 120.0); /* an error when items failed */
    if (fl) printf("flush: code=%d %s\n", (int)fl, elc_last_error());
    fl = elc_stager_flush(s, 120.0);            /* those failures are reported once */
    if (fl) printf("second flush: code=%d %s\n", (int)fl, elc_last_error());
    elc_stager_stats st;
    CHECK(elc_stager_stats_get(s, &st));
    char err[512];
    elc_stager_last_error(s, err, sizeof err);
    printf("stats %llu %llu %llu %llu %llu\n", (unsigned long long)st.submitted, (unsigned long long)st.sent,
           (unsigned long long)st.dropped, (unsigned long long)st.failed, (unsigned long long)st.retries);
    printf("latency %g %g\n", st.mean_latency_s, st.max_latency_s);
    if (err[0]) printf("background error: %s\n", err);
    CHECK(elc_stager_destroy(s));
    printf("OK\n");
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static elc_dataset *small_dataset(int i)
{
    elc_dataset *ds = NULL;
    char name[64];
    snprintf(name, sizeof name, "dead.%d.0", i);
    if (elc_dataset_create(&ds, name)) return NULL;
    double u[64];
    for (int k = 0; k < 64; k++) u[k] = i;
    size_t d[1] = {64};
    if (elc_dataset_add_tensor(ds, "u", u, d, 1, ELC_DOUBLE, ELC_LAYOUT_C)) {
        elc_dataset_destroy(ds);
        return NULL;
    }
    return ds;
}

static int stager_dead(int n, const char *flag)
{
    elc_stager *s;
    CHECK(elc_stager_create(&s, 2048, ELC_POLICY_BLOCK, NULL, NULL));
    elc_dataset *ds = small_dataset(0);
    if (!ds) { printf("ERROR dataset: %s\n", elc_last_error()); return 1; }
    CHECK(elc_stager_submit(s, ds, "dead_list"));
    CHECK(elc_stager_flush(s, 30.0));
    printf("READY\n");
    fflush(stdout);
    for (FILE *f; !(f = fopen(flag, "r"));) sleep_ms(20);
    double longest = 0.0;
    int failed = 0;
    char first[512] = "";
    for (int i = 1; i <= n; i++) {
        if (!(ds = small_dataset(i))) { printf("ERROR dataset: %s\n", elc_last_error()); return 1; }
        double t0 = now_s();
        elc_status st = elc_stager_submit(s, ds, "dead_list");
        double dt = now_s() - t0;
        if (dt > longest) longest = dt;
        if (st) {
            if (!failed++) snprintf(first, sizeof first, "code=%d %s", (int)st, elc_last_error());
        }
    }
    printf("longest submit %.3f s\n", longest);
    printf("failed submits %d\n", failed);
    if (first[0]) printf("first submit error: %s\n", first);
    elc_status fl = elc_stager_flush(s, 60.0);
    printf("flush: code=%d %s\n", (int)fl, fl ? elc_last_error() : "");
    elc_stager_stats st;
    CHECK(elc_stager_stats_get(s, &st));
    printf("stats %llu %llu %llu %llu\n", (unsigned long long)st.submitted, (unsigned long long)st.sent,
           (unsigned long long)st.dropped, (unsigned long long)st.failed);
    elc_stager_destroy(s);
    printf("OK\n");
    return 0;
}

static int stager_fail(void)
{
    elc_stager *s = NULL;
    elc_status st = elc_stager_create(&s, 0, ELC_POLICY_BLOCK, NULL, NULL);
    printf("code=%d\nerror=%s\n", (int)st, elc_last_error());
    if (st == ELC_OK || s != NULL) { elc_stager_destroy(s); return 1; }
    printf("OK\n");
    return 0;
}

static int prefixes(void)
{
    elc_client *c;
    CHECK(elc_client_create(&c, -1, NULL));
    float x[3] = {1, 2, 3};
    size_t d[1] = {3};
    CHECK(elc_put_tensor(c, "pt", x, d, 1, ELC_FLOAT, ELC_LAYOUT_C));
    elc_dataset *ds;
    CHECK(elc_dataset_create(&ds, "pds"));
    CHECK(elc_dataset_add_tensor(ds, "x", x, d, 1, ELC_FLOAT, ELC_LAYOUT_C));
    CHECK(elc_put_dataset(c, ds));
    CHECK(elc_append_to_list(c, "PL", ds));
    elc_dataset_destroy(ds);
    /* switch the tensor prefix off: raw name */
    CHECK(elc_use_tensor_ensemble_prefix(c, false));
    CHECK(elc_put_tensor(c, "raw", x, d, 1, ELC_FLOAT, ELC_LAYOUT_C));
    CHECK(elc_use_tensor_ensemble_prefix(c, true));
    /* read what the Python producer wrote under the get prefix */
    bool e = false;
    CHECK(elc_tensor_exists(c, "from_py", &e));
    if (!e) { printf("from_py not found under the SSKEYIN prefix\n"); return 1; }
    CHECK(elc_set_data_source(c, "p_in2"));
    CHECK(elc_tensor_exists(c, "from_py2", &e));
    if (!e) { printf("from_py2 not found under the second SSKEYIN prefix\n"); return 1; }
    long long n = 0;
    CHECK(elc_set_data_source(c, "p_in1"));
    CHECK(elc_get_list_length(c, "PLIN", &n));
    if (n != 1) { printf("PLIN length %lld\n", n); return 1; }
    elc_client_destroy(c);
    printf("OK\n");
    return 0;
}

static int moved(const char *key, const char *flag)
{
    elc_client *c;
    CHECK(elc_client_create(&c, -1, NULL));
    double x[4] = {1, 2, 3, 4}, y[4] = {0};
    size_t d[1] = {4};
    CHECK(elc_put_tensor(c, "anchor", x, d, 1, ELC_DOUBLE, ELC_LAYOUT_C));
    printf("READY\n");
    fflush(stdout);
    for (int i = 0; i < 1200; i++) {
        FILE *f = fopen(flag, "r");
        if (f) { fclose(f); break; }
        sleep_ms(50);
    }
    CHECK(elc_put_tensor(c, key, x, d, 1, ELC_DOUBLE, ELC_LAYOUT_C));
    CHECK(elc_unpack_tensor(c, key, y, d, 1, ELC_DOUBLE, ELC_LAYOUT_C));
    if (memcmp(x, y, sizeof x) != 0) { printf("MISMATCH\n"); return 1; }
    elc_client_destroy(c);
    printf("OK\n");
    return 0;
}

/* x(i, j) = (10 i + j) / 4 at [i*9 + j] (C) or [i + j*n] (Fortran); y as the model computes it */
static int infer(const char *model, size_t n)
{
    double *x = malloc(n * 9 * sizeof *x), *y = malloc(n * 6 * sizeof *y);
    if (!x || !y) { printf("out of memory\n"); return 1; }
    elc_infer *f;
    CHECK(elc_infer_create(&f, NULL, "infertest", 0, 20000));
    int bad = 0;
    for (int fortran = 0; fortran < 2 && !bad; fortran++) {
        elc_layout layout = fortran ? ELC_LAYOUT_FORTRAN : ELC_LAYOUT_C;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < 9; j++)
                x[fortran ? i + j * n : i * 9 + j] = (double)(10 * i + j) / 4;
        for (int single = 0; single < 2 && !bad; single++) {
            CHECK(elc_infer_set_input_dtype(f, single ? ELC_FLOAT : ELC_DOUBLE));
            memset(y, 0, n * 6 * sizeof *y);
            CHECK(elc_infer_start(f, model, NULL, x, n, 9, layout));
            CHECK(elc_infer_finish(f, y, n, 6, layout, NULL));
            for (size_t i = 0; i < n && !bad; i++)
                for (size_t j = 0; j < 6 && !bad; j++) {
                    double want = (double)(j + 1) * (double)(10 * i + j) / 4 + (double)(10 * i + 8) / 4;
                    double got = y[fortran ? i + j * n : i * 6 + j];
                    if (got != want) {
                        printf("MISMATCH %s layout, %s inputs, row %zu column %zu: %g, expected %g\n",
                               fortran ? "Fortran" : "C", single ? "FLOAT" : "DOUBLE", i, j, got, want);
                        bad = 1;
                    }
                }
        }
    }
    elc_infer_stats stats;
    CHECK(elc_infer_stats_get(f, &stats));
    elc_infer_destroy(f);
    free(x);
    free(y);
    if (bad) return 1;
    if (stats.answered != 4) { printf("answered %llu of 4\n", (unsigned long long)stats.answered); return 1; }
    printf("OK\n");
    return 0;
}

/* rows x 9 inputs x(i, j) = (10 i + j + shift) / 4 (C layout); 0 when the answer y is MODEL's */
static void affine_inputs(double *x, size_t n, double shift)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < 9; j++) x[i * 9 + j] = ((double)(10 * i + j) + shift) / 4;
}

static int affine_check(const double *x, const double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < 6; j++) {
            double want = (double)(j + 1) * x[i * 9 + j] + x[i * 9 + 8];
            if (y[i * 6 + j] != want) {
                printf("MISMATCH row %zu column %zu: %g, expected %g\n", i, j, y[i * 6 + j], want);
                return 1;
            }
        }
    return 0;
}

static void print_infer_stats(elc_infer *f)
{
    elc_infer_stats s;
    if (elc_infer_stats_get(f, &s) != ELC_OK) return;
    printf("requests=%llu answered=%llu timeouts=%llu busy=%llu handed_over=%llu\n",
           (unsigned long long)s.requests, (unsigned long long)s.answered,
           (unsigned long long)s.timeouts, (unsigned long long)s.busy,
           (unsigned long long)s.handed_over);
}

/* The end of a test that passed: the handle's counters, then OK; frees f, x and y. */
static int infer_passed(elc_infer *f, double *x, double *y)
{
    print_infer_stats(f);
    elc_infer_destroy(f);
    free(x);
    free(y);
    printf("OK\n");
    return 0;
}

/* One handle, one request after another: model A, then B (y = A's answer + 1), with row counts
 * n and n + 3, in DOUBLE and in FLOAT, and A again: each answer must be that request's, however
 * its model, shape or input type differ from the one before it (start keeps the request's
 * encoding from one to the next). SHARD: the handle's shard (cluster: the models' copies of
 * that shard run it). Only the first request is handed to the thread (it connects). */
static int infer_switch(const char *model_a, const char *model_b, int shard, size_t n)
{
    size_t cap = n + 3;
    double *x = malloc(cap * 9 * sizeof *x), *y = malloc(cap * 6 * sizeof *y);
    if (!x || !y) { printf("out of memory\n"); return 1; }
    elc_infer *f;
    CHECK(elc_infer_create(&f, NULL, "switch", shard, 20000));
    struct { const char *model; size_t rows; elc_dtype dt; double plus; } steps[] = {
        {model_a, n, ELC_DOUBLE, 0}, {model_b, n, ELC_DOUBLE, 1}, {model_b, n + 3, ELC_DOUBLE, 1},
        {model_b, n + 3, ELC_FLOAT, 1}, {model_a, n + 3, ELC_FLOAT, 0}, {model_a, n, ELC_DOUBLE, 0},
        {model_a, n, ELC_DOUBLE, 0}};
    size_t nsteps = sizeof steps / sizeof steps[0];
    for (size_t k = 0; k < nsteps; k++) {
        size_t rows = steps[k].rows;
        affine_inputs(x, rows, (double)k);
        CHECK(elc_infer_set_input_dtype(f, steps[k].dt));
        CHECK(elc_infer_start(f, steps[k].model, NULL, x, rows, 9, ELC_LAYOUT_C));
        CHECK(elc_infer_finish(f, y, rows, 6, ELC_LAYOUT_C, NULL));
        for (size_t q = 0; q < rows * 6; q++) y[q] -= steps[k].plus;
        if (affine_check(x, y, rows)) {
            printf("in request %zu (%s, %zu rows)\n", k, steps[k].model, rows);
            return 1;
        }
    }
    return infer_passed(f, x, y);
}

static int infer_abandon(const char *model, const char *flag, long ms)
{
    enum { N = 5 };
    double x[N * 9], y[N * 6];
    elc_infer *f;
    CHECK(elc_infer_create(&f, NULL, "abandon", 0, (int)(ms / 8)));
    affine_inputs(x, N, 0);
    CHECK(elc_infer_start(f, model, NULL, x, N, 9, ELC_LAYOUT_C));
    CHECK(elc_infer_finish(f, y, N, 6, ELC_LAYOUT_C, NULL));
    if (affine_check(x, y, N)) return 1;
    printf("READY\n");
    fflush(stdout);
    for (int i = 0; i < 1200; i++) {
        FILE *fl = fopen(flag, "r");
        if (fl) { fclose(fl); break; }
        sleep_ms(20);
    }
    /* the server is paused: given up on at the deadline */
    CHECK(elc_infer_start(f, model, NULL, x, N, 9, ELC_LAYOUT_C));
    elc_status st = elc_infer_finish(f, y, N, 6, ELC_LAYOUT_C, NULL);
    printf("abandoned: %d %s\n", (int)st, elc_last_error());
    /* its answer is still to come: the next request is refused at once */
    st = elc_infer_start(f, model, NULL, x, N, 9, ELC_LAYOUT_C);
    printf("in flight: %d %s\n", (int)st, elc_last_error());
    /* past twice its timeout, its answer is not waited for any longer: the connection is
     * dropped and this request goes through the thread on a new one (the server, still
     * paused, does not answer it in time either) */
    sleep_ms(2 * (ms / 8) + ms / 16);
    st = elc_infer_start(f, model, NULL, x, N, 9, ELC_LAYOUT_C);
    printf("past twice the timeout: %d\n", (int)st);
    st = elc_infer_finish(f, y, N, 6, ELC_LAYOUT_C, NULL);
    printf("on a new connection: %d %s\n", (int)st, elc_last_error());
    sleep_ms(ms + ms / 2);
    /* it has come by now: taken off the connection, and this request gets its own answer */
    affine_inputs(x, N, 1000);
    memset(y, 0, sizeof y);
    CHECK(elc_infer_start(f, model, NULL, x, N, 9, ELC_LAYOUT_C));
    CHECK(elc_infer_finish(f, y, N, 6, ELC_LAYOUT_C, NULL));
    if (affine_check(x, y, N)) return 1;
    print_infer_stats(f);
    elc_infer_destroy(f);
    printf("OK\n");
    return 0;
}

static int infer_large(const char *model, size_t big)
{
    double *x = malloc(big * 9 * sizeof *x), *y = malloc(big * 6 * sizeof *y);
    if (!x || !y) { printf("out of memory\n"); return 1; }
    elc_infer *f;
    CHECK(elc_infer_create(&f, NULL, "large", 0, 60000));
    size_t sizes[3] = {7, big, 7};
    for (int k = 0; k < 3; k++) {
        affine_inputs(x, sizes[k], (double)k);
        memset(y, 0, sizes[k] * 6 * sizeof *y);
        CHECK(elc_infer_start(f, model, NULL, x, sizes[k], 9, ELC_LAYOUT_C));
        CHECK(elc_infer_finish(f, y, sizes[k], 6, ELC_LAYOUT_C, NULL));
        if (affine_check(x, y, sizes[k])) return 1;
    }
    return infer_passed(f, x, y);
}

int main(int argc, char **argv)
{
    if (argc < 2) { printf("usage: ctest MODE [ARGS]\n"); return 2; }
    if (!strcmp(argv[1], "c_layout")) return c_layout();
    if (!strcmp(argv[1], "stager_slow") && argc >= 4)
        return stager_slow(atoi(argv[2]), atoi(argv[3]), argc > 4 ? argv[4] : NULL);
    if (!strcmp(argv[1], "stager_fail")) return stager_fail();
    if (!strcmp(argv[1], "stager_dead") && argc >= 4) return stager_dead(atoi(argv[2]), argv[3]);
    if (!strcmp(argv[1], "prefixes")) return prefixes();
    if (!strcmp(argv[1], "moved") && argc >= 4) return moved(argv[2], argv[3]);
    if (!strcmp(argv[1], "infer") && argc >= 4) return infer(argv[2], (size_t)atol(argv[3]));
    if (!strcmp(argv[1], "infer_switch") && argc >= 6)
        return infer_switch(argv[2], argv[3], atoi(argv[4]), (size_t)atol(argv[5]));
    if (!strcmp(argv[1], "infer_abandon") && argc >= 5) return infer_abandon(argv[2], argv[3], atol(argv[4]));
    if (!strcmp(argv[1], "infer_large") && argc >= 4) return infer_large(argv[2], (size_t)atol(argv[3]));
    printf("unknown mode %s\n", argv[1]);
    return 2;
}
