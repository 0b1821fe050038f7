/* consumer.c — a consumer written in SmartRedis's C API: waits until the aggregation list
 * "snapshots" holds NSTEPS datasets, reads them all and prints each step's mean of "u".
 * Usage: consumer NSTEPS (database from SSDB, SR_DB_TYPE). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_client.h"
#include "c_dataset.h"

static void check(SRError e, const char *what)
{
    if (e != SRNoError) {
        fprintf(stderr, "%s failed: %s\n", what, SRGetLastError());
        exit(1);
    }
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 3;
    void *client = NULL;
    check(SimpleCreateClient("consumer_c", strlen("consumer_c"), &client), "SimpleCreateClient");
    bool ready = false;
    check(poll_list_length_gte(client, "snapshots", 9, steps, 100, 600, &ready), "poll_list_length_gte");
    if (!ready) {
        fprintf(stderr, "the list snapshots did not reach %d entries\n", steps);
        return 1;
    }
    void **datasets = NULL;
    size_t n = 0;
    check(get_datasets_from_list(client, "snapshots", 9, &datasets, &n), "get_datasets_from_list");
    for (size_t k = 0; k < n; k++) {
        void *data;
        size_t *dims, ndims, len;
        SRTensorType type;
        check(get_dataset_tensor(datasets[k], "u", 1, &data, &dims, &ndims, &type, SRMemLayoutContiguous),
              "get_dataset_tensor");
        size_t count = 1;
        for (size_t d = 0; d < ndims; d++) count *= dims[d];
        double sum = 0;
        for (size_t i = 0; i < count; i++) sum += ((double *)data)[i];
        void *step;
        SRMetaDataType mt;
        check(get_meta_scalars(datasets[k], "step", 4, &len, &mt, &step), "get_meta_scalars");
        printf("step %d mean %.6f\n", (int)((int32_t *)step)[0], sum / (double)count);
        check(DeallocateDataSet(&datasets[k]), "DeallocateDataSet");
    }
    check(DeleteCClient(&client), "DeleteCClient");
    return 0;
}
