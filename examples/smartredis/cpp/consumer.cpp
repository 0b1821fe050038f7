// consumer.cpp — a consumer written in SmartRedis's C++ API: waits until the aggregation list
// "snapshots" holds NSTEPS datasets, reads them all and prints each step's mean of "u".
// Usage: consumer NSTEPS (database from SSDB, SR_DB_TYPE).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "client.h"

int main(int argc, char** argv)
{
    const int steps = argc > 1 ? std::atoi(argv[1]) : 3;
    try {
        SmartRedis::Client client("consumer_cpp");
        if (!client.poll_list_length_gte("snapshots", steps, 100, 600)) {
            std::cerr << "the list snapshots did not reach " << steps << " entries" << std::endl;
            return 1;
        }
        for (const SmartRedis::DataSet& ds : client.get_datasets_from_list("snapshots")) {
            void* data;
            std::vector<size_t> dims;
            SRTensorType type;
            ds.get_tensor("u", data, dims, type, SRMemLayoutContiguous);
            size_t count = 1;
            for (size_t d : dims) count *= d;
            double sum = 0;
            for (size_t i = 0; i < count; i++) sum += static_cast<double*>(data)[i];
            void* step;
            size_t len;
            SRMetaDataType mt;
            ds.get_meta_scalars("step", step, len, mt);
            std::printf("step %d mean %.6f\n", static_cast<int32_t*>(step)[0], sum / count);
        }
    } catch (SmartRedis::Exception& e) {
        std::cerr << e.exception_class() << ": " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
