// producer.cpp — a simulation-side producer written in SmartRedis's C++ API: every step it
// sends a snapshot dataset (field "u", 8 x 8 doubles, and its step and time) and lists it in
// the aggregation list "snapshots". Usage: producer NSTEPS (database from SSDB, SR_DB_TYPE).
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "client.h"

int main(int argc, char** argv)
{
    const int steps = argc > 1 ? std::atoi(argv[1]) : 3;
    const size_t n = 8;
    try {
        SmartRedis::Client client("producer_cpp");
        std::vector<double> u(n * n);
        for (int step = 0; step < steps; step++) {
            for (size_t k = 0; k < n * n; k++) u[k] = step + 0.01 * k;
            SmartRedis::DataSet ds("snapshot_" + std::to_string(step));
            ds.add_tensor("u", u.data(), {n, n}, SRTensorTypeDouble, SRMemLayoutContiguous);
            int32_t s = step;
            double t = 0.1 * step;
            ds.add_meta_scalar("step", &s, SRMetadataTypeInt32);
            ds.add_meta_scalar("time", &t, SRMetadataTypeDouble);
            client.put_dataset(ds);
            client.append_to_list("snapshots", ds);
            std::cout << "sent step " << step << std::endl;
        }
    } catch (SmartRedis::Exception& e) {
        std::cerr << e.exception_class() << ": " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
