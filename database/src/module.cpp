// Module entry point: load-time arguments (docs/protocol.md §6.1), data types, commands and the
// INFO sections. The module registers as "ai" so that clients and SmartSim see RedisAI.
#include <strings.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "backend_torch.h"
#include "cmd_util.h"
#include "config.h"
#include "worker_queue.h"

namespace eai {

Config g_config;

namespace {

constexpr int kModuleVersion = 10207;  // the RedisAI version whose commands we implement

// Splits every argument on white space, so "THREADS_PER_QUEUE 4" counts as two words.
std::vector<std::string> load_words(RedisModuleString **argv, int argc) {
    std::vector<std::string> words;
    for (int i = 0; i < argc; i++) {
        std::istringstream in(arg_str(argv[i]));
        std::string w;
        while (in >> w) words.push_back(w);
    }
    return words;
}

bool parse_positive(const std::string &v, long long min, long long *out) {
    char *end = nullptr;
    errno = 0;
    long long x = strtoll(v.c_str(), &end, 10);
    if (errno || end == v.c_str() || *end != '\0' || x < min) return false;
    *out = x;
    return true;
}

// Applies one KEY VALUE pair; returns false for an unknown key or a bad value.
bool apply_arg(RedisModuleCtx *ctx, const std::string &k, const std::string &v) {
    auto is = [&](const char *name) { return strcasecmp(k.c_str(), name) == 0; };
    if (is("BACKENDSPATH")) {
        g_config.backendspath = v;
        return true;
    }
    if (is("TORCH")) {
        RM_Log(ctx, "notice", "TORCH backend path '%s' ignored: the torch backend is built into this module", v.c_str());
        return true;
    }
    if (is("TF") || is("TFLITE") || is("ONNX")) {
        RM_Log(ctx, "warning", "%s backend path '%s' ignored: only the TORCH backend is available in this module",
               k.c_str(), v.c_str());
        return true;
    }
    if (is("THREADS_PER_QUEUE")) return parse_positive(v, 1, &g_config.threads_per_queue);
    if (is("INTER_OP_PARALLELISM")) return parse_positive(v, 1, &g_config.inter_op_parallelism);
    if (is("INTRA_OP_PARALLELISM")) return parse_positive(v, 1, &g_config.intra_op_parallelism);
    if (is("MODEL_CHUNK_SIZE")) return parse_positive(v, 1, &g_config.model_chunk_size);
    if (is("MODEL_EXECUTION_TIMEOUT")) return parse_positive(v, 1000, &g_config.model_execution_timeout);
    if (is("BACKEND_MEMORY_LIMIT")) return parse_positive(v, 1, &g_config.backend_memory_limit);
    if (is("MODEL_LOAD_TIMEOUT")) return parse_positive(v, 100, &g_config.model_load_timeout);
    if (is("MODEL_OUTPUT_LIMIT")) return parse_positive(v, 1, &g_config.model_output_limit);
    if (is("MAX_ABANDONED_RUNS")) return parse_positive(v, 0, &g_config.max_abandoned_runs);
    if (is("TRUST_TORCHSCRIPT")) {
        if (strcasecmp(v.c_str(), "yes") == 0) g_config.trust_torchscript = true;
        else if (strcasecmp(v.c_str(), "no") == 0) g_config.trust_torchscript = false;
        else return false;
        return true;
    }
    return false;
}

void info_func(RedisModuleInfoCtx *ctx, int) {
    RM_InfoAddSection(ctx, "versions");
    RM_InfoAddFieldCString(ctx, "RedisAI_version", "1.2.7");
    RM_InfoAddFieldCString(ctx, "module", "eddylearn-ai");
    RM_InfoAddFieldLongLong(ctx, "low_level_API_version", 1);
    RM_InfoAddFieldLongLong(ctx, "rdb_version", 4);
    RM_InfoAddSection(ctx, "load_time_configs");
    RM_InfoAddFieldLongLong(ctx, "threads_per_queue", g_config.threads_per_queue);
    RM_InfoAddFieldLongLong(ctx, "inter_op_parallelism", g_config.inter_op_parallelism);
    RM_InfoAddFieldLongLong(ctx, "intra_op_parallelism", g_config.intra_op_parallelism);
    RM_InfoAddFieldLongLong(ctx, "model_execution_timeout", g_config.model_execution_timeout);
    RM_InfoAddFieldLongLong(ctx, "backend_memory_limit", g_config.backend_memory_limit);
    RM_InfoAddFieldLongLong(ctx, "model_load_timeout", g_config.model_load_timeout);
    RM_InfoAddFieldLongLong(ctx, "model_output_limit", g_config.model_output_limit);
    RM_InfoAddFieldLongLong(ctx, "max_abandoned_runs", g_config.max_abandoned_runs);
    RM_InfoAddFieldCString(ctx, "trust_torchscript", g_config.trust_torchscript ? "yes" : "no");
    RM_InfoAddSection(ctx, "backends_info");
    std::string tv = torch_version_string();
    RM_InfoAddFieldCString(ctx, "Torch_version", tv.c_str());
    RM_InfoAddFieldLongLong(ctx, "torch_cpu_bytes", torch_arena_bytes());
    RM_InfoAddSection(ctx, "queues");
    std::string q = queue_summary();
    RM_InfoAddFieldCString(ctx, "threads", q.c_str());
    RM_InfoAddFieldLongLong(ctx, "abandoned_runs", queue_abandoned_now());
    RM_InfoAddFieldLongLong(ctx, "abandoned_runs_total", queue_abandoned_total());
    RM_InfoAddFieldLongLong(ctx, "batches_in_parts", torch_batches_in_parts());
    RM_InfoAddFieldLongLong(ctx, "loads_running", store_loads_running());
    RM_InfoAddFieldLongLong(ctx, "loads_timed_out_total", store_loads_timed_out());
}

}  // namespace
}  // namespace eai

extern "C" __attribute__((visibility("default"))) int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv,
                                                                          int argc) {
    using namespace eai;
    if (rm_api_init(ctx, "ai", kModuleVersion) != RM_OK) return RM_ERR;
    std::vector<std::string> words = load_words(argv, argc);
    if (words.size() % 2 != 0) {
        RM_Log(ctx, "warning", "ERR odd number of load-time arguments (they are KEY VALUE pairs)");
        return RM_ERR;
    }
    for (size_t i = 0; i < words.size(); i += 2) {
        if (!apply_arg(ctx, words[i], words[i + 1])) {
            RM_Log(ctx, "warning", "ERR error processing argument: %s %s", words[i].c_str(), words[i + 1].c_str());
            return RM_ERR;
        }
    }
    main_thread_set();
    torch_install_trust(g_config.trust_torchscript);
    if (register_types(ctx) != RM_OK) {
        RM_Log(ctx, "warning", "ERR could not register the AI data types");
        return RM_ERR;
    }
    if (register_tensor_commands(ctx) != RM_OK || register_store_commands(ctx) != RM_OK ||
        register_exec_commands(ctx) != RM_OK || register_dag_commands(ctx) != RM_OK) {
        RM_Log(ctx, "warning", "ERR could not register the AI commands");
        return RM_ERR;
    }
    RM_RegisterInfoFunc(ctx, info_func);
    std::string alloc = torch_install_allocator();
    RM_Log(ctx, "notice", "%s", alloc.c_str());
    torch_configure_threads(g_config.intra_op_parallelism, g_config.inter_op_parallelism,
                            g_config.threads_per_queue);
    queue_ensure("CPU");  // after the thread configuration, which the workers copy
    RM_Log(ctx, "notice", "eddylearn AI module loaded: torch %s, THREADS_PER_QUEUE %lld, TRUST_TORCHSCRIPT %s",
           torch_version_string().c_str(), g_config.threads_per_queue, g_config.trust_torchscript ? "yes" : "no");
    return RM_OK;
}
