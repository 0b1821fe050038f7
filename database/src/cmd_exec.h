// Pieces of the execution commands that AI.DAGEXECUTE shares (cmd_exec.cpp).
#pragma once

#include <string>
#include <vector>

#include "objects.h"

namespace eai {

// Whether the server propagates writes (an append-only file, replicas or a replication backlog):
// asked once per reply, before its outputs are replicated.
bool writes_propagated(RedisModuleCtx *ctx);
// Replicates a tensor written by a run as AI.TENSORSET key TYPE dims BLOB bytes.
void replicate_tensor(RedisModuleCtx *ctx, RedisModuleString *key, const Tensor *t);

// The sections of AI.SCRIPTEXECUTE key fn [KEYS n k…] [INPUTS n i…] [ARGS n a…] [OUTPUTS n o…]
// [TIMEOUT ms], as argument positions (argv[1] is the key, argv[2] the function).
struct ScriptExecArgs {
    std::vector<int> keys, inputs, args, outputs;
    long long timeout = 0;
};
// Parses the sections; on error sets *err and returns false.
bool parse_scriptexecute(RedisModuleString **argv, int argc, ScriptExecArgs *a, std::string *err);

}  // namespace eai
