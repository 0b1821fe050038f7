/* Minimal C producer: the same snapshots as ../producer_fortran, with the C API.
 *
 * build: cc producer.c $(python -m eddylearn.client_config --cflags --libs) -o producer
 *   or:  PKG_CONFIG_PATH=$(python -m eddylearn.client_config --pkg-config-path) \
 *        cc producer.c $(pkg-config --cflags --libs eddylearn-client) -o producer
 * run:   SSDB=127.0.0.1:6379 SR_DB_TYPE=Standalone ./producer [NSTEPS]
 */
#include <eddylearn_client.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int ok(elc_status st)
{
    if (st != ELC_OK) fprintf(stderr, "producer: %s\n", elc_last_error());
    return st == ELC_OK;
}

int main(int argc, char **argv)
{
    int nsteps = argc > 1 ? atoi(argv[1]) : 3;
    elc_client *c = NULL;
    if (!ok(elc_client_create(&c, -1, NULL))) return 1;
    for (int step = 1; step <= nsteps; step++) {
        /* a Fortran-ordered 8 x 4 field, as the solver holds it: u[i + 8*j] = u(i+1, j+1) */
        double u[8 * 4];
        for (int j = 0; j < 4; j++)
            for (int i = 0; i < 8; i++) u[i + 8 * j] = sin(0.1 * ((i + 1) + 10 * (j + 1) + step));
        size_t dims[2] = {8, 4};
        char name[64];
        snprintf(name, sizeof name, "snapshot.%d.0", step);
        elc_dataset *ds = NULL;
        int32_t s32 = step;
        double t = 0.01 * step;
        int good = ok(elc_dataset_create(&ds, name)) &&
                   ok(elc_dataset_add_tensor(ds, "u", u, dims, 2, ELC_DOUBLE, ELC_LAYOUT_FORTRAN)) &&
                   ok(elc_dataset_add_meta_scalar(ds, "step", &s32, ELC_META_INT32)) &&
                   ok(elc_dataset_add_meta_scalar(ds, "time", &t, ELC_META_DOUBLE)) &&
                   ok(elc_dataset_add_meta_string(ds, "producer", "c", (size_t)-1)) &&
                   ok(elc_put_dataset_and_append(c, ds, "snapshots")); /* one round trip */
        elc_dataset_destroy(ds);
        if (!good) { elc_client_destroy(c); return 1; }
    }
    elc_client_destroy(c);
    printf("c producer: %d snapshots sent\n", nsteps);
    return 0;
}
