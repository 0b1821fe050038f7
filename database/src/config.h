// Module-wide settings: load-time arguments and AI.CONFIG values.
#pragma once

#include <string>

namespace eai {

struct Config {
    long long threads_per_queue = 1;
    long long inter_op_parallelism = 0;
    long long intra_op_parallelism = 0;
    long long model_chunk_size = 511LL * 1024 * 1024;
    long long model_execution_timeout = 5000;  // ms a run may take before it is abandoned
    long long model_load_timeout = 30000;      // ms a model load or script compilation may take
    long long model_output_limit = 1LL << 32;  // bytes of one output tensor of a run (4 GiB)
    long long max_abandoned_runs = 8;          // runs left running after their time limit, at most
    bool trust_torchscript = false;            // allow the operators of the deny list (trust.h)
    long long backend_memory_limit = 0;
    std::string backendspath;  // recorded only; this module never loads libraries by path
};

extern Config g_config;

}  // namespace eai
