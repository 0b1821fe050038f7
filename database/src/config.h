// Module-wide settings: load-time arguments and AI.CONFIG values.
#pragma once

#include <string>

namespace eai {

struct Config {
    long long threads_per_queue = 1;
    long long inter_op_parallelism = 0;
    long long intra_op_parallelism = 0;
    long long model_chunk_size = 511LL * 1024 * 1024;
    long long model_execution_timeout = 5000;
    long long backend_memory_limit = 0;
    std::string backendspath;  // recorded only; this module never loads libraries by path
};

extern Config g_config;

}  // namespace eai
