/* producer.c — a simulation-side producer written in SmartRedis's C API: every step it sends a
 * snapshot dataset (field "u", 8 x 8 doubles, and its step and time) and lists it in the
 * aggregation list "snapshots". Usage: producer NSTEPS (database from SSDB, SR_DB_TYPE). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_client.h"
#include "c_dataset.h"

#define N 8

static int check(SRError e, const char *what)
{
    if (e != SRNoError) {
        fprintf(stderr, "%s failed: %s\n", what, SRGetLastError());
        exit(1);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 3;
    void *client = NULL;
    check(SimpleCreateClient("producer_c", strlen("producer_c"), &client), "SimpleCreateClient");
    double u[N][N];
    size_t dims[2] = {N, N};
    for (int step = 0; step < steps; step++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) u[i][j] = step + 0.01 * (N * i + j);
        char name[64];
        snprintf(name, sizeof name, "snapshot_%d", step);
        void *ds = NULL;
        check(CDataSet(name, strlen(name), &ds), "CDataSet");
        check(add_tensor(ds, "u", 1, u, dims, 2, SRTensorTypeDouble, SRMemLayoutContiguous), "add_tensor");
        int32_t s = step;
        double t = 0.1 * step;
        check(add_meta_scalar(ds, "step", 4, &s, SRMetadataTypeInt32), "add_meta_scalar");
        check(add_meta_scalar(ds, "time", 4, &t, SRMetadataTypeDouble), "add_meta_scalar");
        check(put_dataset(client, ds), "put_dataset");
        check(append_to_list(client, "snapshots", 9, ds), "append_to_list");
        check(DeallocateDataSet(&ds), "DeallocateDataSet");
        printf("sent step %d\n", step);
    }
    check(DeleteCClient(&client), "DeleteCClient");
    return 0;
}
